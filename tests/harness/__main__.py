"""Command line of the harness (run with tests/ on PYTHONPATH, as root):

  python3 -m harness run -- COMMAND...     run COMMAND in fresh namespaces (the tests)
  python3 -m harness sandbox [--ldap empty|database] [--builddir B] [--sourcedir S]
                             [-- COMMAND...]
      start the world (slapd "empty" by default: `cl-setup ldap` fills it; ejabberd
      prepared for `cl-setup jabber`) with the shipped .policy and no extra rules, then run
      COMMAND (or an interactive shell) in it; exit with its status; everything is stopped
      on exit.
  python3 -m harness sandbox --two-nodes [...]    (or SANDBOX_TWO_NODES=1 ./scripts/sandbox)
      two nodes of one site (twonodes.py, docs/scale-out.md), node 1 set up (admin
      password Admin-pass-1) and node 2 joined; the shell talks to node 1, and
      `node2 COMMAND` (bash) or DBUS_SYSTEM_BUS_ADDRESS=$SANDBOX_NODE2_BUS to node 2.
"""

import argparse
import os
import shlex
import signal
import subprocess
import sys

from . import namespace
from .world import World


def run_child(argv, env=None):
    """Runs argv as our child (we are PID 1 of the namespace, and PID 1 must stay to reap
    and to forward signals), returns its exit status."""
    child = subprocess.Popen(argv, env=env)

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    # An interactive child gets the terminal's SIGINT itself; we just must not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:
            continue
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL if sig == signal.SIGINT else forward)
    return code if code >= 0 else 128 - code


def cmd_run(args):
    namespace.setup()
    # The tests run as if the clone were in a 0700 directory (root's home): whatever they
    # run as another user must not need it (world.py copies the CLI for them).
    namespace.hide_clone([os.environ.get("SOURCEDIR"), os.environ.get("BUILDDIR")])
    if not args.command:
        sys.exit("harness run: no command given")
    return run_child(args.command)


def cmd_sandbox(args):
    namespace.setup()
    if args.ldap not in ("empty", "database"):
        sys.exit(f"sandbox: SANDBOX_LDAP must be 'empty' or 'database', not {args.ldap!r}")
    if args.two_nodes:
        return sandbox_two_nodes(args, [])
    world = World(args.builddir, args.sourcedir, ldap=args.ldap, polkit="real", rules="",
                  config={"Passwords": {"MinimumLength": 8}})
    try:
        world.start()
    except Exception as e:
        print(f"sandbox: could not start the world: {e}", file=sys.stderr)
        if world.top:
            print(world.logs(), file=sys.stderr)
        world.stop()
        return 1
    try:
        return sandbox_shell(args, world, world.env())
    finally:
        world.stop()


def sandbox_two_nodes(args, worlds):
    from .twonodes import TwoNodes

    def make_world(**kwargs):
        w = World(args.builddir, args.sourcedir, **kwargs)
        worlds.append(w)
        return w.start()
    nodes = TwoNodes(make_world, os.path.abspath(args.sourcedir))
    try:
        try:
            nodes.start()
        except Exception as e:
            print(f"sandbox: could not start two nodes: {e}", file=sys.stderr)
            for w in worlds:
                if w.top:
                    print(w.logs(), file=sys.stderr)
            return 1
        env = nodes.one.env()
        two = nodes.two
        env.update(SANDBOX_NODE2_BUS=two.bus_address, SANDBOX_NODE2_DIR=two.top,
                   SANDBOX_NODE2_XMPP_PORT=str(two.ejabberd.client_port),
                   SANDBOX_NODE2_LDAP_URI=two.slapd.uri,
                   SANDBOX_NODE2_LDAPI_URI=two.slapd.ldapi_uri,
                   SANDBOX_NODE2_EJABBERDCTL=" ".join(two.ejabberd.control_command),
                   SANDBOX_NODE2_DAEMON_CONFIG=two.daemon.config_path)
        print("sandbox: two nodes joined (docs/scale-out.md); `node2 COMMAND` runs COMMAND "
              "against node 2's bus", file=sys.stderr)
        return sandbox_shell(args, nodes.one, env,
                             'node2() { DBUS_SYSTEM_BUS_ADDRESS="$SANDBOX_NODE2_BUS" "$@"; }\n')
    finally:
        nodes.close()
        for w in reversed(worlds):
            w.stop()


def sandbox_shell(args, world, env, rc_extra=""):
    """COMMAND, or an interactive shell, in the world's environment; its exit status."""
    if args.command:
        return run_child(args.command, env)
    shell = os.environ.get("SHELL") or "/bin/bash"
    env["PS1"] = r"(sandbox) \u@\h:\w\$ "
    print(f"sandbox: world in {world.top}; cl-jabber, cl-* and gdbus --system work here;"
          " exit the shell to stop everything.", file=sys.stderr)
    argv = [shell, "-i"]
    if os.path.basename(shell) == "bash":
        # No user rc, but completion for cl-jabber and the cl-* names (the source tree's).
        rc = os.path.join(world.top, "sandbox.bashrc")
        completion = os.path.join(os.path.abspath(args.sourcedir), "cli", "completion", "cl-jabber")
        with open(rc, "w") as f:
            f.write("[ -r /usr/share/bash-completion/bash_completion ] && "
                    ". /usr/share/bash-completion/bash_completion && "
                    f". {shlex.quote(completion)}\n"
                    f"PS1={shlex.quote(env['PS1'])}\n" + rc_extra)
        argv = [shell, "--rcfile", rc, "-i"]
    return run_child(argv, env)


def main():
    parser = argparse.ArgumentParser(prog="python3 -m harness")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("run")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("sandbox")
    p.add_argument("--ldap", default=os.environ.get("SANDBOX_LDAP", "empty"))
    p.add_argument("--builddir", default=os.environ.get("BUILDDIR", "build"))
    p.add_argument("--sourcedir", default=os.environ.get("SOURCEDIR", "."))
    p.add_argument("--two-nodes", action="store_true",
                   default=os.environ.get("SANDBOX_TWO_NODES") == "1")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    # meson counts exit 77 as "skipped": the integration tests need root.
    namespace.reexec(not_root_exit=77 if args.what == "run" else 1)
    sys.exit(cmd_run(args) if args.what == "run" else cmd_sandbox(args))


main()
