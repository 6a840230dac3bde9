"""Live ejabberd (issue 11), measured with a real XMPP client (slixmpp) against the private
ejabberd that `cl-setup jabber` configured (two hosts): how soon a lock ends the open
session, how long `cl-usermod -L` takes beside a one-entry `ldapadd`, what one ejabberdctl
call costs beside one API call, and how soon a connected client sees a group change.
Run through bench/live; prints the table and writes bench/live-<date>-<time>.txt.

    ./bench/live                 # 10 rounds
    ./bench/live --rounds 30
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import bench
from harness import e2e, namespace, xmpp
from harness.world import World

HOST = namespace.HOSTNAME
PASSWORD = "Bench-pw-1"


def timed(argv, stdin=None, env=None):
    t0 = time.monotonic()
    r = subprocess.run(argv, input=stdin, text=True, capture_output=True, env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {r.returncode}: {r.stderr.strip()}")
    return t0, time.monotonic() - t0


def ms(x):
    return f"{x * 1000:.0f} ms"


def run(args):
    lines = []

    def row(what, value, target="", ok=None):
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        lines.append(f"{what:<52} {value:>12}  {target:<28} {verdict}")
        print(lines[-1], flush=True)

    world = World(os.path.abspath(args.builddir), bench.SOURCEDIR, ldap="database", polkit="real")
    world.start()
    try:
        xmpp.quiet()
        cli = e2e.Cli(world)
        if args.users:
            bench.load_directory(world, args.users, max(1, args.users // 100), 100)
            deadline = time.monotonic() + 600
            while cli.status()["users"] < args.users:
                if time.monotonic() > deadline:
                    raise RuntimeError("the daemon did not load the directory")
                time.sleep(1)
            lines.append(f"directory: {args.users} users in {max(1, args.users // 100)} groups of 100")
        cli.setup_ldap()
        cli.setup_jabber("--primary-host", HOST, "--hosts", "second.example.org")
        usermod = os.path.join(world.cli_dir, "cl-usermod")
        cli_env = world.env()
        cli.useradd("benchlive", PASSWORD)
        users_dn = f"ou=Users,ou=Jabber,ou=Services,{world.slapd.base_dn}"

        ends, closes, locks, ldapadds, passwds, requests, cpus = [], [], [], [], [], [], []
        passwd = os.path.join(world.cli_dir, "cl-passwd")
        daemon_pid = world.daemon.proc.pid
        for i in range(args.rounds):
            with e2e.login(world, "benchlive", PASSWORD) as s:
                assert s.ping(timeout=60)
                since, cpu0 = len(world.syslog.lines()), cpu_seconds(daemon_pid)
                t0, took = timed([usermod, "-L", "benchlive", "jabber"], env=cli_env)
                if not s.wait_disconnected(30):
                    raise RuntimeError("the locked user's session did not end")
                time.sleep(0.1)
                cpu1 = cpu_seconds(daemon_pid)
                if cpu0[1] == cpu1[1]:   # a thread that ended took its time with it
                    cpus.append(cpu1[0] - cpu0[0])
                requests.append(ldap_requests(world, since, f"uid=benchlive,{users_dn}"))
                ends.append((s.ended_at or s.disconnected_at) - t0)
                closes.append(s.disconnected_at - t0)
                locks.append(took)
            cli.usermod("benchlive", "-U")
            passwds.append(timed([passwd, "-P", "benchlive", "jabber"], stdin=PASSWORD + "\n",
                                 env=cli_env)[1])
            time.sleep(0.2)
            name = f"benchldap{i:03d}"
            ldif = (f"dn: uid={name},{users_dn}\nobjectClass: inetOrgPerson\n"
                    f"uid: {name}\ncn: {name}\nsn: {name}\n")
            ldapadds.append(timed(["ldapadd", "-x", "-H", world.slapd.uri, "-D", world.slapd.admin_dn,
                                   "-y", world.slapd.admin_password_file], stdin=ldif)[1])
            time.sleep(0.2)

        end, lock, add = statistics.median(ends), statistics.median(locks), statistics.median(ldapadds)
        row("session ended after cl-usermod -L started", ms(end), "<= 200 ms", end <= 0.2)
        row("cl-usermod -L (whole process, 2 hosts)", ms(lock), f"<= 1.5 x ldapadd = {ms(1.5 * add)}",
            lock <= 1.5 * add)
        row("ldapadd of one entry (baseline)", ms(add))
        row("  (cl-usermod -L / ldapadd)", f"{lock / add:.2f} x")
        row("  TCP connection closed after the start (info)", ms(statistics.median(closes)))
        if any(requests):
            row("  LDAP requests of the lock (slapd's log, info)", f"{statistics.median(requests):.0f}")
        if cpus:
            row("  daemon CPU per lock, all threads (info)", f"{statistics.median(cpus) * 1000:.1f} ms")
        version = [timed([os.path.join(world.cli_dir, "cl-jabber"), "--version"], env=cli_env)[1]
                   for _ in range(5)]
        row("  cl-jabber --version, a CLI process alone (info)", ms(statistics.median(version)))
        row("  cl-passwd, which tells ejabberd nothing (info)", ms(statistics.median(passwds)))

        # One command each way, for scale.
        ctl = [timed(world.ejabberd.control_command + ["connected_users_number"])[1] for _ in range(3)]
        api = []
        for _ in range(10):
            t0 = time.monotonic()
            code, _ = world.ejabberd.api("connected_users_number")
            api.append(time.monotonic() - t0)
            assert code == 200
        row("  one ejabberdctl command (info)", ms(statistics.median(ctl)))
        row("  one API call over the socket, Python (info)", ms(statistics.median(api)))

        changes, clears = burst(world, cli)
        row("  cache clears for a burst of parallel changes (info)", f"{clears} / {changes}")

        extra = push_latency(world, cli, args.rounds)
        if extra is not None:
            row("group change seen by a connected client", ms(extra), "<= 1000 ms", extra <= 1.0)
        views = [int(m.group(2)) for m in re.finditer(r"shared roster view: (\d+) contacts in (\d+) us",
                                                      world.daemon.log())]
        if views:
            row("  computing the shared roster view (info)", f"{statistics.median(views) / 1000:.1f} ms")

        lines.append("")
        lines.append("samples: session end " + ", ".join(ms(x) for x in ends))
        lines.append("samples: connection closed " + ", ".join(ms(x) for x in closes))
        lines.append("samples: cl-usermod -L " + ", ".join(ms(x) for x in locks))
        lines.append("samples: cl-passwd " + ", ".join(ms(x) for x in passwds))
        lines.append("samples: ldapadd " + ", ".join(ms(x) for x in ldapadds))
        lines.append("samples: LDAP requests of the lock " + ", ".join(str(x) for x in requests))
        lines.append("samples: daemon CPU per lock " + ", ".join(f"{x * 1000:.1f} ms" for x in cpus))
        lines.append(f"load average: {os.getloadavg()}")
    finally:
        world.stop()
    return lines


def cpu_seconds(pid):
    """CPU time of the threads of pid so far (schedstat: nanoseconds, not clock ticks),
    and which threads those were."""
    total, tids = 0, []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
            tids.append(tid)
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9, sorted(tids)


LOGGED_OP = re.compile(r"conn=(\d+) op=(\d+) (SRCH base|MOD dn|ADD dn|DEL dn|MODRDN dn|CMP dn)")


def ldap_requests(world, since, dn):
    """How many requests slapd logged, after syslog line `since`, on the connection that
    modified dn (the daemon's writing connection, not the follower's): a count that does
    not depend on the load."""
    lines = world.syslog.lines()[since:]
    conns = {m.group(1) for m in (LOGGED_OP.search(line) for line in lines)
             if m and m.group(3) == "MOD dn" and f'dn="{dn}"' in m.string}
    return len({m.groups()[:2] for m in (LOGGED_OP.search(line) for line in lines)
                if m and m.group(1) in conns})


def clear_calls(world):
    path = os.path.join(world.ejabberd.logs, "ejabberd.log")
    with open(path, errors="replace") as f:
        return f.read().count("API call clear_cache")


def burst(world, cli, n=20):
    """n nickname changes of n users at once (each needs a cache clear): how many
    clear_cache calls ejabberd saw, counting the roster pushes' own."""
    names = [f"benchburst{i:02d}" for i in range(n)]
    for name in names:
        cli.useradd(name, PASSWORD)
    time.sleep(1)
    before = clear_calls(world)
    env = world.env()
    procs = [subprocess.Popen([os.path.join(world.cli_dir, "cl-usermod"), "-c", f"Nick {name}",
                               name, "jabber"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for name in names]
    for p in procs:
        p.wait()
    time.sleep(1)
    return n, clear_calls(world) - before


def push_latency(world, cli, rounds):
    """How soon a connected client's roster shows a user added to a group (roster push):
    None when the client has no way to be told (no pushes)."""
    session = getattr(xmpp.Session, "wait_roster", None)
    if session is None:
        return None
    samples = []
    cli.useradd("benchviewer", PASSWORD)
    cli.groupadd("BenchGroup")
    with e2e.login(world, "benchviewer", PASSWORD) as s:
        s.roster()
        for i in range(rounds):
            member = f"benchmember{i:03d}"
            cli.useradd(member, PASSWORD)
            t0 = time.monotonic()
            cli.groupmod("BenchGroup", "-a", member)
            seen = s.wait_roster(lambda r: e2e.jid(member) in r.get("BenchGroup", set()), 30)
            if seen is None:
                raise RuntimeError("the connected client never saw the group change")
            samples.append(seen - t0)
    return statistics.median(samples)


def main():
    p = argparse.ArgumentParser(prog="bench/live", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--users", type=int, default=0,
                   help="load this many users (in groups of 100) into the directory first")
    p.add_argument("--builddir", default=os.path.join(bench.SOURCEDIR, "build"))
    args = p.parse_args()
    namespace.reexec()
    namespace.setup()
    bench.write_results("live", run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
