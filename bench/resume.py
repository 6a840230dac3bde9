"""The follower's reconnect at N users (issue 14): a full reload against a resume from the
sync cookie after k changes. A harness world with N users loaded offline (bench.py's
loader), the daemon started with --debug; then, for each round:

  resume: slapd stopped, restarted on its ldapi socket only (the daemon cannot reach it)
          for k ldapmodify changes, stopped, started again; the daemon reconnects (after
          its back-off) and resumes. Timed from the log: "resuming the directory from" (the
          session is up) to "resumed with cookie" (the view is updated); also from slapd
          being up again to that line (includes the back-off).
  reload: Server.SetupLdap, which asks the follower for a full reload (as every reconnect
          did before issue 14): "loading the directory in full" to "full reload:".

Signals of the service on the bus (PropertiesChanged of users/groups, InterfacesAdded/
Removed) are counted for each. Run through bench/resume; prints a table and writes
bench/resume-<date>-<time>.txt.

    ./bench/resume                   # 100,000 users, k = 10, 3 rounds
    ./bench/resume --users 10000 --changes 100 --rounds 5
"""

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
from harness import bus, namespace  # noqa: E402
from harness.world import World  # noqa: E402

STAMP = re.compile(r"DEBUG: (\d+):(\d+):(\d+\.\d+): (.*)")


class Signals:
    """Counts the signals the service sends to the users' and groups' objects."""

    def __init__(self):
        from gi.repository import Gio
        self.conn = Gio.DBusConnection.new_for_address_sync(
            bus.ADDRESS, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.lock = threading.Lock()
        self.count = 0
        self.conn.add_filter(self._filter)
        self.sub = self.conn.signal_subscribe(bench.SERVICE, None, None, None, None,
                                              Gio.DBusSignalFlags.NONE, lambda *a: None)

    def _filter(self, conn, message, incoming):
        from gi.repository import Gio
        if incoming and message.get_message_type() == Gio.DBusMessageType.SIGNAL:
            path = message.get_path() or ""
            member = message.get_member()
            if member in ("InterfacesAdded", "InterfacesRemoved") or \
                    path.startswith(("/org/calculate/Jabber/Users/", "/org/calculate/Jabber/Groups/")):
                with self.lock:
                    self.count += 1
        return message

    def take(self):
        with self.lock:
            n, self.count = self.count, 0
        return n


def log_stamps(path, offset):
    """[(seconds of the day, message)] of the --debug lines after offset."""
    out = []
    with open(path, errors="replace") as f:
        f.seek(offset)
        for line in f:
            m = STAMP.search(line)
            if m:
                out.append((int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3]), m[4]))
    return out


def wait_line(path, offset, start, end, timeout=600):
    """Waits for a line starting with `end` after offset; returns (t start, t end, line)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t0 = None
        for t, text in log_stamps(path, offset):
            if text.startswith(start):
                t0 = t
            elif text.startswith(end) and t0 is not None:
                return t0, t, text
        time.sleep(0.05)
    raise TimeoutError(f"no {end!r} after {start!r} in {path}")


def now_of_day():
    n = datetime.datetime.now()
    return n.hour * 3600 + n.minute * 60 + n.second + n.microsecond / 1e6


def ldapi_only(slapd, changes):
    slapd.stop()
    proc = slapd.processes.start(
        "slapd-ldapi", ["slapd", "-d", "0", "-h", slapd.ldapi_uri,
                        "-F", os.path.join(slapd.top, "slapd.d")],
        os.path.join(slapd.top, "..", "slapd-ldapi.log"))
    deadline = time.monotonic() + 60
    while subprocess.run(["ldapsearch", "-Q", "-Y", "EXTERNAL", "-H", slapd.ldapi_uri, "-s", "base",
                          "-b", bench.BASE_DN, "1.1"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError("slapd on ldapi")
        time.sleep(0.05)
    ldif = "".join(f"dn: uid={bench.user_name(i)},{bench.USERS_DN}\nchangetype: modify\n"
                   f"replace: displayName\ndisplayName: {text}\n\n" for i, text in changes)
    r = subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", slapd.ldapi_uri],
                       input=ldif, text=True, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    proc.stop()
    slapd.processes.forget(proc)
    slapd.start(timeout=60)
    return now_of_day()


def run(args):
    out = []

    def say(text):
        out.append(text)
        print(text, flush=True)

    world = World(os.path.abspath(args.builddir), bench.SOURCEDIR, ldap="database", polkit="real",
                  daemon=False, ejabberd=False)
    world.start()
    try:
        groups = args.users // 100
        say(f"{args.users} users, {groups} groups of 100; k = {args.changes} changes per resume; "
            f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
        bench.load_directory(world, args.users, groups, 100)
        if args.session_log_source:
            world.slapd.add_session_log_source()
            say("syncprov's session log source: an accesslog database (olcSpSessionlogSource)")
        client = bench.Client()
        runner = bench.DaemonRunner(world, client, debug=True)
        start_s = runner.start(timeout=900)
        log = os.path.join(world.top, "calculate-jabberd.log")
        say(f"daemon start (first load, owns the name): {bench.fmt_s(start_s)}"
            + (f"; connected -> loaded {bench.fmt_s(runner.phases[0])}" if runner.phases else ""))
        signals = Signals()
        resumes, walls, resume_signals, reloads, reload_signals = [], [], [], [], []
        for r in range(args.rounds):
            # Resume after k changes.
            offset = os.path.getsize(log)
            signals.take()
            changes = [(1 + (r * args.changes + j) * 7 % args.users, f"Round {r} change {j}")
                       for j in range(args.changes)]
            up = ldapi_only(world.slapd, changes)
            t0, t1, line = wait_line(log, offset, "resuming the directory from", "resumed with cookie")
            time.sleep(1)       # the signals of the batch are on the bus by now
            resumes.append(t1 - t0)
            walls.append(t1 - up)
            resume_signals.append(signals.take())
            say(f"resume {r + 1}: {bench.fmt_s(t1 - t0)} from the session up (slapd up -> resumed "
                f"{bench.fmt_s(t1 - up)}), {resume_signals[-1]} signals; {line.split(': ', 1)[1]}")

            # Full reload over the loaded view.
            offset = os.path.getsize(log)
            signals.take()
            client.conn.call_sync(
                bench.SERVICE, "/org/calculate/Jabber/Server", "org.calculate.Jabber.Server",
                "SetupLdap", client.GLib.Variant("(a{sv})", ({},)), None,
                client.Gio.DBusCallFlags.NONE, 600000, None)
            t0, t1, line = wait_line(log, offset, "loading the directory in full", "full reload:")
            time.sleep(1)
            reloads.append(t1 - t0)
            reload_signals.append(signals.take())
            say(f"reload {r + 1}: {bench.fmt_s(t1 - t0)}, {reload_signals[-1]} signals")
        say("")
        say(f"| at {args.users} users | median of {args.rounds} | signals |")
        say("|---|---|---|")
        say(f"| full reload (session up -> view updated) | {bench.fmt_s(statistics.median(reloads))} "
            f"| {statistics.median(reload_signals)} |")
        say(f"| resume after {args.changes} changes (session up -> view updated) | "
            f"{bench.fmt_s(statistics.median(resumes))} | {statistics.median(resume_signals)} |")
        say(f"| resume, slapd up -> view updated (with the daemon's reconnect back-off) | "
            f"{bench.fmt_s(statistics.median(walls))} | |")
        scans = [float(m) for m in re.findall(r"looked for users in several groups: .*, ([0-9.]+) ms",
                                              open(log, errors="replace").read())]
        if scans:
            say(f"the daemon's scans for users in several groups (cj-converge.c): {len(scans)}, "
                f"median {statistics.median(scans):.1f} ms, longest {max(scans):.1f} ms")
        runner.stop()
    except BaseException:
        print(world.logs()[-6000:], file=sys.stderr)
        raise
    finally:
        world.stop()
    bench.write_results("resume", out)


def main():
    p = argparse.ArgumentParser(prog="bench/resume", description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100000)
    p.add_argument("--changes", type=int, default=10, help="changes made while away (10)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--session-log-source", action="store_true",
                   help="give syncprov an accesslog database as its session log source")
    p.add_argument("--builddir", default=os.environ.get("BUILDDIR", os.path.join(bench.SOURCEDIR, "build")))
    args = p.parse_args()
    namespace.reexec()
    namespace.setup()
    run(args)


if __name__ == "__main__":
    main()
