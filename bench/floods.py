"""calculate-jabberd under a local user's floods (issue 9), measured: the same world as
bench.py (N users loaded offline, the real polkitd, a rule that makes nobody authenticate),
then for each flood by nobody, root's calls timed during it beside the same calls without
it, the daemon's peak resident memory and its threads. Run through bench/floods.

    ./bench/floods                       # 100,000 users
    ./bench/floods --users 5000          # GetManagedObjects then answers (at 100,000 it is
                                         # refused as too large, which is cheap)
    ./bench/floods --builddir OLD/build  # the same floods against another build
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

import bench
from harness import client as hclient, flood, namespace, polkit
from harness.world import World

RULES = polkit.rule("AUTH_ADMIN", users=["nobody"])
STEP_TIMEOUT = 60

FLOODS = [
    ("held checks: 300 interactive AddUser, 10 connections, agent never answers",
     dict(method="AddUser", count=300, connections=10, interactive=True, agent=True), None),
    ("8 MiB nicknames: 40 interactive AddUser, agent never answers",
     dict(method="AddUser", count=40, connections=4, interactive=True, agent=True,
          nickname_bytes=8 * 1024 * 1024), None),
    ("GetManagedObjects storm: 300 calls, 20 connections",
     dict(method="GetManagedObjects", count=300, connections=20), None),
    ("GetPhoto storm, slapd frozen (SIGSTOP): 400 calls, 20 connections",
     dict(method="GetPhoto", count=400, connections=20), "freeze"),
]


class Root:
    """Root's four calls of the issue, each timed (seconds, or None when it failed)."""

    def __init__(self, world, directory_needed=True):
        self.world = world
        self.env = world.env()
        self.serial = 0
        self.directory_needed = directory_needed

    def _cli(self, *argv):
        t0 = time.monotonic()
        try:
            r = subprocess.run([os.path.join(self.world.cli_dir, argv[0])] + list(argv[1:]),
                               env=self.env, capture_output=True, text=True,
                               timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, "timeout"
        return (time.monotonic() - t0 if r.returncode == 0 else None), r.stderr.strip()[-200:]

    def round(self):
        self.serial += 1
        name, group = f"floodroot{self.serial}", f"Flood root {self.serial}"
        out = {}
        if self.directory_needed:
            out["cl-useradd"] = self._cli("cl-useradd", "-c", "Root", name, "jabber")
            out["cl-groupadd"] = self._cli("cl-groupadd", group, "jabber")
            out["cl-usermod -L"] = self._cli("cl-usermod", "-L", name, "jabber")
        t0 = time.monotonic()
        r = hclient.call(hclient.MANAGER_PATH, hclient.MANAGER_IFACE, "FindUserByName", "s",
                         "('user000001',)", timeout=STEP_TIMEOUT)
        out["FindUserByName"] = ((time.monotonic() - t0) if r.ok else None, str(r))
        return out


def fmt(x):
    return "failed" if x is None else f"{x * 1000:.0f} ms"


def run(args):
    world = World(os.path.abspath(args.builddir), bench.SOURCEDIR, ldap="database",
                  polkit="real", rules=RULES, daemon=False, ejabberd=False)
    world.start()
    lines = []

    def say(text):
        lines.append(text)
        print(text, flush=True)
    try:
        bench.load_directory(world, args.users, args.users // 100, 100)
        runner = bench.DaemonRunner(world, bench.Client(), debug=False)
        runner.start()
        pid = runner.pid
        say(f"{args.users} users; build {args.builddir}; load average "
            f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
        say(f"daemon after start: {flood.status(pid)['VmRSS'] / 1024:.1f} MB resident")
        root = Root(world)
        base = [root.round() for _ in range(3)]
        ops = list(base[0])
        baseline = {op: statistics.median([b[op][0] for b in base if b[op][0] is not None] or [0])
                    for op in ops}
        say("root without a flood (median of 3): "
            + ", ".join(f"{op} {fmt(baseline[op])}" for op in ops))
        for title, request, special in FLOODS:
            if request["method"] == "GetPhoto":
                r = hclient.call(hclient.MANAGER_PATH, hclient.MANAGER_IFACE, "FindUserByName",
                                 "s", "('user000002',)")
                request = dict(request, path=r.reply.split("'")[1])
            flood.reset_peak(pid)
            threads = flood.status(pid)["Threads"]
            if special == "freeze":
                os.kill(world.slapd.proc.pid, signal.SIGSTOP)
            f = flood.Flooder(seconds=args.seconds, **request)
            try:
                f.wait(lambda e: e["event"] == "sent", "sent", timeout=120)
                time.sleep(1)
                during = Root(world, directory_needed=special != "freeze")
                during.serial = root.serial + 1000
                rounds = [during.round() for _ in range(2)]
                root.serial += 1000 + len(rounds)
                for _ in range(5):
                    threads = max(threads, flood.status(pid)["Threads"])
                    time.sleep(0.2)
                peak = flood.status(pid)["VmHWM"]
            finally:
                f.stop()
                if special == "freeze":
                    os.kill(world.slapd.proc.pid, signal.SIGCONT)
            say(f"\n{title}")
            for op in rounds[0]:
                values = [r[op][0] for r in rounds]
                shown = ", ".join(fmt(v) for v in values)
                ratio = ("" if None in values or not baseline[op]
                         else f" ({statistics.median(values) / baseline[op]:.1f} x without)")
                errors = [r[op][1] for r in rounds if r[op][0] is None]
                say(f"  root {op}: {shown}{ratio}" + (f"  [{errors[0]}]" if errors else ""))
            f.drain()
            say(f"  flood replies so far: {f.last.get('progress', {}).get('replies')}")
            say(f"  daemon peak resident {peak / 1024:.1f} MB, threads up to {threads}")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 300:
                r = hclient.reload(user="nobody")
                if r.error != hclient.ERROR + "Busy" and "LimitsExceeded" not in r.message:
                    break
                time.sleep(0.5)
            say(f"  recovered (nobody's call answered normally) {time.monotonic() - t0:.1f} s "
                "after the flood stopped")
    finally:
        world.stop()
    return lines


def main():
    p = argparse.ArgumentParser(prog="bench/floods", description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100000)
    p.add_argument("--seconds", type=float, default=120, help="how long each flood lasts at most")
    p.add_argument("--builddir", default=os.environ.get("BUILDDIR",
                                                        os.path.join(bench.SOURCEDIR, "build")))
    args = p.parse_args()
    namespace.reexec()
    namespace.setup()
    bench.write_results("floods", run(args), f"-{args.users}")


if __name__ == "__main__":
    main()
