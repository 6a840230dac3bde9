"""The isolated world: a private system bus, polkit, slapd and the daemon, in one temp dir.

    with World(builddir, sourcedir, ldap="database") as w:
        client.reload(user="nobody")

Must run inside namespace.reexec() (bind mounts, tmpfs on /run/dbus, own loopback).

ejabberd (ejabberd.py) is prepared after slapd (directories under `top`/ejabberd, free
ports, ejabberdctl.cfg, a restart script) and pointed at by the daemon's [Ejabberd] keys;
it runs once `cl-setup jabber` (the daemon) runs the restart script, or a test calls
world.ejabberd.restart() with a configuration of its own. stop() stops it.
The world's host name is namespace.HOSTNAME and resolves to 127.0.1.1 (a private
/etc/hosts), as on a Debian machine.

Other users (nobody, sys, ... through procs.as_user, or a pty child's setuid) must not need
to enter the clone: it may sit in a 0700 directory (root's home). So the built programs run
from a copy in the world: `cli_dir` = <top>/build/cli, the daemon (and anything it starts
from beside itself, possibly as another user) from <top>/build/service, with any shared
library of the build tree at the same place relative to them.
`python3 -m harness run` proves it on every test run by hiding the clone from other users
(namespace.hide_clone).
"""

import os
import shutil
import subprocess
import tempfile

from . import bus, daemon, ejabberd, ldap, namespace, polkit, procs, syslog_sink

POLICY = "polkit/org.calculate.jabber.policy"          # in the build dir (generated)
BUS_POLICY = "data/org.calculate.Jabber.conf"            # in the source dir
DAEMON = "service/calculate-jabberd"                     # in the build dir
CLI_DIR = "cli"                                          # in the build dir


class World:
    """ldap: "database", "empty" or None (no slapd); polkit: "real", "mock" or None;
    rules: initial polkit rules (JavaScript); pam: "permit" or "deny";
    daemon: start the daemon; config: {section: {key: value}} merged over the defaults;
    ejabberd: prepare the private ejabberd (needs slapd) and point the daemon at it.
    beside: another started World in this mount namespace (a second node, twonodes.py):
    this one shares its host-wide parts (/etc/hosts, /dev/log, polkit's and PAM's
    directories) and gets a system bus of its own at <top>/dbus/system_bus_socket, used by
    its polkitd, its daemon, env() and e2e.Cli; ejabberd_node, ejabberd_cookie: its
    ejabberd as a node of a cluster (ejabberd.py)."""

    def __init__(self, builddir, sourcedir, ldap="database", polkit="real", rules="",
                 pam="permit", daemon=True, config=None, policy_file=None,
                 bus_policy=None, daemon_program=None, ejabberd=True, beside=None,
                 ejabberd_node=None, ejabberd_cookie=None):
        if not namespace.inside():
            raise RuntimeError("World must run inside the harness namespace "
                               "(python3 -m harness run -- ...)")
        self.builddir = os.path.abspath(builddir)
        self.sourcedir = os.path.abspath(sourcedir)
        self.ldap_shape = ldap
        self.polkit_kind = polkit
        self.rules = rules
        self.pam = pam
        self.want_daemon = daemon
        self.want_ejabberd = ejabberd
        self.config_overrides = config or {}
        self.policy_file = policy_file or os.path.join(self.builddir, POLICY)
        self.bus_policy = bus_policy or os.path.join(self.sourcedir, BUS_POLICY)
        self.daemon_program = daemon_program or os.path.join(self.builddir, DAEMON)
        self.built_cli_dir = os.path.join(self.builddir, CLI_DIR)
        self.cli_dir = None                  # the world's copy: _copy_programs()
        self.processes = procs.Processes()
        self.mounts_before = None
        self.top = None
        self.bus = self.polkit = self.slapd = self.daemon = self.syslog = None
        self.ejabberd = None
        self.beside = beside
        self.ejabberd_node = ejabberd_node
        self.ejabberd_cookie = ejabberd_cookie

    @property
    def bus_address(self):
        """The address of this world's system bus (not started yet: the default one)."""
        return self.bus.address if self.bus is not None else bus.ADDRESS

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        # 0755 so user polkitd can read the rules; a tmpfs over it so that even if we
        # are killed, nothing but an empty directory is left on the host.
        self.mounts_before = _mountpoints()
        self.top = tempfile.mkdtemp(prefix="cj-world-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", self.top],
                       check=True)
        if self.beside is None:
            self._private_hosts()
        self._copy_programs()
        if self.beside is None:
            self.syslog = syslog_sink.SyslogSink(self.top)
            self.syslog.start()
            self.bus = bus.Bus(self.processes, self.top, self.bus_policy)
        else:
            self.syslog = self.beside.syslog        # one /dev/log: one audit trail
            self.bus = bus.Bus(self.processes, self.top, self.bus_policy,
                               os.path.join(self.top, "dbus", "system_bus_socket"))
        self.bus.start()
        if self.polkit_kind is not None and self.beside is not None:
            if self.polkit_kind != "real" or self.beside.polkit is None:
                raise ValueError("a world beside another has the real polkitd, as it has")
            self.polkit = polkit.Polkit(self.processes, self.top, self.policy_file,
                                        shared=self.beside.polkit, address=self.bus.address)
            self.polkit.start()
        elif self.polkit_kind is not None:
            self.polkit = polkit.Polkit(self.processes, self.top, self.policy_file)
            self.polkit.prepare(self.rules, self.pam)
            if self.polkit_kind == "mock":
                self.polkit.start_mock()
            else:
                self.polkit.start()
        if self.ldap_shape is not None:
            self.slapd = ldap.Slapd(self.processes, self.top, self.ldap_shape)
            self.slapd.start()
            if self.want_ejabberd:
                self.ejabberd = ejabberd.Ejabberd(self.top, self.slapd,
                                                  node=self.ejabberd_node,
                                                  cookie=self.ejabberd_cookie).prepare()
        if self.want_daemon:
            self.start_daemon()

    def daemon_config(self):
        cfg = daemon.default_config(self.top, self.slapd or ldap.Slapd(None, self.top),
                                    self.ejabberd)
        for section, keys in self.config_overrides.items():
            cfg.setdefault(section, {}).update(keys)
        return cfg

    def start_daemon(self, **kwargs):
        self.daemon = daemon.Daemon(self.processes, self.top, self.daemon_program,
                                    self.daemon_config())
        if self.beside is not None:
            kwargs.setdefault("address", self.bus.address)
        self.daemon.start(**kwargs)
        return self.daemon

    def env(self):
        """Variables for a shell or command inside the world (the sandbox's)."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address, SANDBOX_DIR=self.top)
        env["PATH"] = self.cli_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        # The catalogs of the build tree (LANG=ru_RU.UTF-8 cl-jabber ... speaks Russian).
        env["CJ_LOCALEDIR"] = os.path.join(os.path.dirname(self.cli_dir), "po")
        if self.syslog is not None and self.syslog.sock is not None:
            env["SANDBOX_SYSLOG"] = self.syslog.path     # the audit trail, as syslog has it
        if self.slapd is not None:
            env.update(SANDBOX_LDAP_URI=self.slapd.uri,
                       SANDBOX_LDAPI_URI=self.slapd.ldapi_uri,
                       SANDBOX_LDAP_BASE_DN=self.slapd.base_dn,
                       SANDBOX_LDAP_ADMIN_DN=self.slapd.admin_dn,
                       SANDBOX_LDAP_ADMIN_PASSWORD=self.slapd.admin_password,
                       SANDBOX_LDAP_ADMIN_PASSWORD_FILE=self.slapd.admin_password_file,
                       SANDBOX_LDAP_SHAPE=self.slapd.shape)
        if self.daemon is not None:
            env["SANDBOX_DAEMON_CONFIG"] = self.daemon.config_path
        if self.ejabberd is not None:
            env.update(SANDBOX_XMPP_PORT=str(self.ejabberd.client_port),
                       SANDBOX_XMPP_SERVER_PORT=str(self.ejabberd.server_port),
                       SANDBOX_XMPP_HOST=namespace.HOSTNAME,
                       SANDBOX_EJABBERD_DIR=self.ejabberd.dir,
                       SANDBOX_EJABBERDCTL=" ".join(self.ejabberd.control_command),
                       SANDBOX_HISTORY_DIR=self.ejabberd.history)
        return env

    def _copy_programs(self):
        """The built programs, copied to <top>/build (0755 all the way): cl-jabber and its
        command links (cli/), the daemon and whatever it runs from beside itself (service/:
        a helper it starts as another user), and every library they link from the build
        tree at the same place relative to them (meson's build rpath is $ORIGIN-relative).
        So another user runs them without entering the clone."""
        mirror = os.path.join(self.top, "build")
        copied = []
        for sub in (CLI_DIR, os.path.dirname(DAEMON)):
            src_dir, dest_dir = os.path.join(self.builddir, sub), os.path.join(mirror, sub)
            os.makedirs(dest_dir, 0o755)
            for name in sorted(os.listdir(src_dir)):
                src, dest = os.path.join(src_dir, name), os.path.join(dest_dir, name)
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dest)
                elif os.path.isfile(src) and os.access(src, os.X_OK):
                    shutil.copy2(src, dest)
                    os.chmod(dest, 0o755)
                    copied.append(src)
        for exe in copied:
            for lib in _libraries_in(exe, self.builddir):
                dest = os.path.join(mirror, os.path.relpath(lib, self.builddir))
                os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
                shutil.copy2(lib, dest)
                os.chmod(dest, 0o755)
        # The message catalogs too (CJ_LOCALEDIR, see env()): LANG=ru_RU.UTF-8 cl-jabber ...
        catalogs = os.path.join(self.builddir, "po")
        for root, _dirs, files in os.walk(catalogs):
            for name in files:
                if name.endswith(".mo"):
                    dest = os.path.join(mirror, os.path.relpath(os.path.join(root, name), self.builddir))
                    os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
                    shutil.copy2(os.path.join(root, name), dest)
                    os.chmod(dest, 0o644)
        self.cli_dir = os.path.join(mirror, CLI_DIR)
        if not os.path.isfile(os.path.join(self.cli_dir, "cl-jabber")):
            raise FileNotFoundError(f"cl-jabber is not built: {self.built_cli_dir}")
        if self.daemon_program == os.path.join(self.builddir, DAEMON):
            self.daemon_program = os.path.join(mirror, DAEMON)

    def _private_hosts(self):
        """/etc/hosts with the world's host name on 127.0.1.1 (Debian's convention), bound
        over the host's in our mount namespace."""
        path = os.path.join(self.top, "hosts")
        with open("/etc/hosts") as f:
            lines = [l for l in f.read().splitlines() if not l.startswith("127.0.1.1")]
        short = namespace.HOSTNAME.split(".")[0]
        lines.insert(0, f"127.0.1.1\t{namespace.HOSTNAME} {short}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o644)
        subprocess.run(["mount", "--bind", path, "/etc/hosts"], check=True)

    def logs(self):
        """Every log of the world, for a failing test's report."""
        out = []
        for name in sorted(os.listdir(self.top)) if self.top else []:
            if name.endswith(".log") and os.path.isfile(os.path.join(self.top, name)):
                with open(os.path.join(self.top, name), errors="replace") as f:
                    out.append(f"==== {name}\n{f.read()[-8000:]}")
        if self.ejabberd is not None:
            out.append(f"==== ejabberd\n{self.ejabberd.log()[-8000:]}")
        return "\n".join(out)

    def stop(self):
        # The daemon first (it may be restarting ejabberd), then ejabberd (daemonized: not
        # one of our processes), then the rest.
        if self.daemon is not None:
            self.daemon.stop()
        if self.ejabberd is not None:
            self.ejabberd.stop()
        self.processes.stop_all()
        if self.syslog is not None and self.beside is None:
            self.syslog.stop()
        # Undo our mounts (bus tmpfs, polkit and PAM binds, the temp dir), newest first.
        if self.mounts_before is not None:
            for mount_id, path in reversed(_mountpoints()):
                if (mount_id, path) not in self.mounts_before:
                    subprocess.run(["umount", "-l", path], check=False)
            self.mounts_before = None
        if self.top is not None:
            shutil.rmtree(self.top, ignore_errors=True)
            self.top = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _libraries_in(exe, builddir):
    """The shared libraries `exe` loads from the build tree (as ldd resolves them; none for
    a script or a static program, for which ldd fails)."""
    out = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    inside = os.path.join(os.path.realpath(builddir), "")
    libs = []
    for line in out.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and parts[1].split():
            path = os.path.realpath(parts[1].split()[0])
            if path.startswith(inside):
                libs.append(path)
    return libs


def _mountpoints():
    with open("/proc/self/mountinfo") as f:
        return [(line.split()[0], line.split()[4]) for line in f]
