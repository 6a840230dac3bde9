"""Floods of calls by a local user (tests/harness/_flood.py in a process of that user), and
what they do to the daemon (its resident memory and threads, from /proc)."""

import json
import os
import queue
import subprocess
import threading
import time

from . import client

_FLOOD = open(os.path.join(os.path.dirname(__file__), "_flood.py")).read()


class Flooder:
    """One attacking process: Flooder(method="AddUser", count=300, connections=10, ...)
    (the request keys of _flood.py). Its JSON lines are read in a thread; wait() and the
    `last` dict of each event kind follow them."""

    def __init__(self, user="nobody", **request):
        argv = client.command(["/usr/bin/python3", "-c", _FLOOD, json.dumps(request)], user)
        self.proc = subprocess.Popen(argv, env=client.env_for(user), cwd="/", text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events = queue.Queue()
        self.last = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.put(event)

    def wait(self, predicate, what, timeout=60):
        """Waits for an event for which predicate(event) is true; returns it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.events.empty():
                    raise RuntimeError(f"the flooder ended ({self.proc.returncode}) before "
                                       f"{what}: {self.proc.stderr.read()}")
                continue
            self.last[event["event"]] = event
            if predicate(event):
                return event
        raise TimeoutError(f"not within {timeout} s: {what} (last: {self.last})")

    def drain(self):
        """Takes in the events read so far (into `last`) without waiting."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            self.last[event["event"]] = event

    def replies(self, name):
        """How many calls were answered with the error `name` (or "ok") so far."""
        for kind in ("done", "progress"):
            if kind in self.last:
                return self.last[kind]["replies"].get(name, 0)
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def status(pid):
    """{field: value} of /proc/<pid>/status for the memory and thread fields (kB, count)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    return out


def reset_peak(pid):
    """Starts VmHWM anew from the current resident size (Linux 4.0+)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
