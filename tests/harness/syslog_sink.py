"""Keeps the world's syslog lines (the daemon's audit trail) off the host, and catches them
as a real machine's syslog would: a datagram socket of ours is bind-mounted over /dev/log
(namespace only) and what arrives is appended to <top>/syslog.log, where tests and the
sandbox's user read the audit lines. A host without /dev/log (a container, this build
machine) gets, in the world's mount namespace only, a /dev of its own: a tmpfs holding every
entry of the host's /dev bound in, and room for the socket."""

import os
import socket
import stat
import subprocess
import threading

DEV_LOG = "/dev/log"


class SyslogSink:
    def __init__(self, top):
        self.path = os.path.join(top, "syslog.log")
        self.sock_path = os.path.join(top, "dev-log")
        self.sock = None

    def start(self):
        if not os.path.exists(DEV_LOG) and not self._own_dev():
            return False
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        os.chmod(self.sock_path, 0o666)
        subprocess.run(["mount", "--bind", self.sock_path, DEV_LOG], check=True)
        threading.Thread(target=self._collect, daemon=True).start()
        return True

    def _own_dev(self):
        from . import namespace
        if not namespace.inside():
            return False        # never over the host's /dev
        host_dev = os.path.join(os.path.dirname(self.path), "host-dev")
        os.makedirs(host_dev, exist_ok=True)
        subprocess.run(["mount", "--rbind", "/dev", host_dev], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/dev"], check=True)
        for name in os.listdir(host_dev):
            source, target = os.path.join(host_dev, name), os.path.join("/dev", name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
            elif os.path.isdir(source):
                os.mkdir(target)
                subprocess.run(["mount", "--rbind", source, target], check=True)
            else:
                # Device nodes made anew here (ptmx finds its pts next to itself: a node
                # bound from the host's /dev would look in the host's); others bound.
                st = os.lstat(source)
                try:
                    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                        raise OSError("not a device")
                    os.mknod(target, st.st_mode, st.st_rdev)
                    os.chown(target, st.st_uid, st.st_gid)
                    os.chmod(target, stat.S_IMODE(st.st_mode))
                except OSError:
                    open(target, "w").close()
                    subprocess.run(["mount", "--bind", source, target], check=True)
        open(DEV_LOG, "w").close()
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
