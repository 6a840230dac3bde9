"""Keeps the world's syslog lines (the daemon's audit trail) off the host: if the host has
/dev/log, a datagram socket of ours is bind-mounted over it (namespace only) and what
arrives is appended to <top>/syslog.log, where tests can read the audit lines."""

import os
import socket
import subprocess
import threading

DEV_LOG = "/dev/log"


class SyslogSink:
    def __init__(self, top):
        self.path = os.path.join(top, "syslog.log")
        self.sock_path = os.path.join(top, "dev-log")
        self.sock = None

    def start(self):
        if not os.path.exists(DEV_LOG):
            return False        # nothing would reach a host syslog anyway
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        os.chmod(self.sock_path, 0o666)
        subprocess.run(["mount", "--bind", self.sock_path, DEV_LOG], check=True)
        threading.Thread(target=self._collect, daemon=True).start()
        return True

    def _collect(self):
        with open(self.path, "ab", buffering=0) as out:
            while True:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    return
                out.write(data.rstrip(b"\0\n") + b"\n")

    def lines(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
