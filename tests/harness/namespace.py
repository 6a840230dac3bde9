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
import tempfile

HIDDEN = "CJ_HARNESS_CLONE_HIDDEN"  # the directories hide_clone() has hidden already
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


def hide_clone(paths):
    """Makes each directory of `paths` (the clone, the build directory) unreachable for
    every user but root, in this mount namespace only, as if the clone sat in a 0700
    directory such as root's home: a tmpfs of mode 0700 over it, and each of its entries
    bound back in, so that every path stays the same (and writable) for root. A test that
    runs something as another user from the clone then fails here, on every machine.
    CJ_HARNESS_SHARED_CLONE=1 leaves the clone as it is."""
    if os.environ.get("CJ_HARNESS_SHARED_CLONE") == "1":
        return
    done = [p for p in os.environ.get(HIDDEN, "").split(os.pathsep) if p]
    for path in sorted({os.path.realpath(p) for p in paths if p}):
        if (path == "/" or not os.path.isdir(path)
                or any(path == d or path.startswith(d + os.sep) for d in done)):
            continue
        _hide(path)
        done.append(path)
    os.environ[HIDDEN] = os.pathsep.join(done)


def _hide(path):
    stash = tempfile.mkdtemp(prefix="cj-clone-")
    # --rbind: a build directory (or anything else) mounted inside the clone comes along.
    subprocess.run(["mount", "--rbind", path, stash], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", path], check=True)
    for name in os.listdir(stash):
        src, dest = os.path.join(stash, name), os.path.join(path, name)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dest)
            continue
        if os.path.isdir(src):
            os.mkdir(dest)
        elif os.path.isfile(src):
            open(dest, "w").close()
        else:
            continue                    # sockets, fifos: nothing a test needs
        subprocess.run(["mount", "--rbind", src, dest], check=True)
    subprocess.run(["umount", "--lazy", stash], check=True)
    os.rmdir(stash)
