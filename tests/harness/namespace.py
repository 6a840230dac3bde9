"""Entering the isolated world: private mount, network and PID namespaces.

The harness bind-mounts over polkit's and PAM's directories and puts a tmpfs on /run/dbus
(the setuid polkit-agent-helper-1 ignores DBUS_SYSTEM_BUS_ADDRESS, so the bus must sit at
the default path). Doing that in a private mount namespace leaves the host untouched.
A network namespace gives a loopback of our own (free ports, no reaching the host's
slapd or ejabberd; all of 127.0.0.0/8 is ours, so ejabberd may be bound to 127.0.0.2), a
UTS namespace a host name of our own (HOSTNAME: the daemon's default primary Jabber host,
the same on every machine), and a PID namespace means that whatever we start (slapd, polkitd, the
daemon, their children) dies with us even if we are killed with SIGKILL.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys

MARK = "CJ_HARNESS_NAMESPACE"    # which namespaces setup() prepared
REEXEC = "CJ_HARNESS_REEXEC"     # set for the re-executed process only
HOSTNAME = "sandbox.example.org"  # the world's host name (World makes it resolve)


def _ns_id():
    return os.readlink("/proc/self/ns/mnt") + os.readlink("/proc/self/ns/pid")


def inside():
    """True in the namespaces setup() prepared, and in their children."""
    return os.environ.get(MARK) == _ns_id()


def reexec(argv=None, not_root_exit=1):
    """Replaces this process with itself (or argv) running in fresh namespaces, unless
    this process is that re-executed one. Returns only inside the new namespaces.
    (A harness started from inside a sandbox gets namespaces of its own too.)"""
    if os.environ.pop(REEXEC, None) == "1" and os.getpid() == 1:
        return
    if os.geteuid() != 0:
        print("harness: must run as root (namespaces, polkitd, the daemon)", file=sys.stderr)
        sys.exit(not_root_exit)
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit("harness: unshare (util-linux) is missing: run scripts/install-deps")
    if argv is None:
        argv = [sys.executable] + sys.orig_argv[1:]
    os.environ[REEXEC] = "1"
    os.execv(unshare, [unshare, "--mount", "--propagation", "private", "--net",
                       "--uts", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM",
                       "--"] + list(argv))


def setup():
    """First things to do inside: bring up our loopback, make SIGTERM a clean exit
    (PID 1 ignores signals that have no handler)."""
    os.environ[MARK] = _ns_id()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    socket.sethostname(HOSTNAME)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)
