"""Starting and stopping the world's processes, and running commands as other users.

Every long-running process is a Popen we own (nothing daemonizes), registered in a
Processes list that stops them in reverse order. The PID namespace (namespace.py) is the
backstop for anything that escapes.
"""

import os
import pwd
import signal
import socket
import subprocess
import time

# Users every Debian has: dbus-daemon drops connections from uids without a passwd entry.
TEST_USERS = ("nobody", "daemon", "bin", "sys")


def free_port():
    """A TCP port nobody listens on right now on 127.0.0.1 (asked from the kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_user(user, argv):
    """argv prefixed so that it runs as `user` with only that user's own group.
    setpriv keeps root's capabilities until its own exec (they go at the exec), so it could
    start a program `user` cannot even reach (in a 0700 clone): env, run from /usr/bin,
    starts argv as `user` proper, as that user's shell would."""
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
            "--", "/usr/bin/env", "--"] + list(argv)


def wait_until(predicate, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    def __init__(self, name, argv, log_path, env=None, **kwargs):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True, **kwargs)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def check_alive(self):
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; "
                               f"log {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout=5):
        """SIGTERM to the process group, SIGKILL after `timeout` seconds."""
        if self.alive():
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    self.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()
        return self.popen.returncode


class Processes:
    """The processes of one world, stopped in reverse start order."""

    def __init__(self):
        self._items = []

    def start(self, name, argv, log_path, **kwargs):
        p = Process(name, argv, log_path, **kwargs)
        self._items.append(p)
        return p

    def forget(self, proc):
        if proc in self._items:
            self._items.remove(proc)

    def stop_all(self):
        while self._items:
            self._items.pop().stop()
