"""Helpers of the end-to-end tests (tests/integration/test_e2e_*.py): the real CLI as an
administrator types it, the manual's setup flow, and what an XMPP client should see.

Everything runs as root in the world (root passes polkit before any rule). Changes are
awaited with deadlines (poll), never timed."""

import base64
import os
import re
import subprocess

from . import client, namespace, waiting, xmpp

DEADLINE = 15.0          # how long a change may take to show in ejabberd
ADMIN_PASSWORD = "Admin-pass-1"


def poll(predicate, what, timeout=DEADLINE, interval=0.1):
    """waiting.poll with the end-to-end deadline (ejabberd may take a while)."""
    return waiting.poll(predicate, what, timeout, interval)


class Cli:
    """The built commands (cl-setup, cl-useradd, ...) of the world, with the world's bus."""

    def __init__(self, world):
        self.world = world

    def run(self, name, *args, stdin=None, timeout=120):
        exe = os.path.join(self.world.cli_dir, name)
        env = client.env_for(None)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.world.bus_address    # a second node's own
        env["PATH"] = self.world.cli_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        return subprocess.run([exe] + list(args), input=stdin if stdin is not None else "",
                              env=env, text=True, capture_output=True, timeout=timeout,
                              cwd="/")

    def ok(self, name, *args, stdin=None, timeout=120):
        """run() that must succeed; returns stdout."""
        r = self.run(name, *args, stdin=stdin, timeout=timeout)
        assert r.returncode == 0, (f"{name} {' '.join(args)} exited with {r.returncode}:\n"
                                   f"{r.stdout}{r.stderr}\n--- ejabberd:\n"
                                   f"{self.world.ejabberd.log()[-3000:] if self.world.ejabberd else ''}"
                                   f"\n--- daemon:\n{_tail(self.world)}")
        return r.stdout

    def status(self):
        import json
        return json.loads(self.ok("cl-jabber", "--json", "status"))

    # The manual's commands ---------------------------------------------------------------

    def setup_ldap(self):
        return self.ok("cl-setup", "ldap")

    def setup_jabber(self, *options, password=ADMIN_PASSWORD):
        """`cl-setup [-P] OPTIONS jabber`: -P with the admin password when one is given."""
        args = (["-P"] if password is not None else []) + list(options) + ["jabber"]
        return self.ok("cl-setup", *args,
                       stdin=(password + "\n") if password is not None else None)

    def useradd(self, name, password, *options):
        return self.ok("cl-useradd", "-P", *options, name, "jabber", stdin=password + "\n")

    def passwd(self, name, password):
        return self.ok("cl-passwd", "-P", name, "jabber", stdin=password + "\n")

    def usermod(self, name, *options):
        return self.ok("cl-usermod", *options, name, "jabber")

    def userdel(self, name):
        return self.ok("cl-userdel", name, "jabber")

    def groupadd(self, name):
        return self.ok("cl-groupadd", name, "jabber")

    def groupmod(self, name, *options):
        return self.ok("cl-groupmod", *options, name, "jabber")


def _tail(world, n=40):
    try:
        return "".join(world.daemon.log().splitlines(True)[-n:])
    except Exception:
        return ""


def configured_world(make_world, *setup_options, primary_host=namespace.HOSTNAME, config=None):
    """A world whose directory and ejabberd were set up through the CLI, as the manual
    says: `cl-setup ldap`, then `cl-setup -P [--primary-host H] OPTIONS jabber`.
    config: the daemon's configuration overrides ({section: {key: value}})."""
    world = make_world(ldap="empty", polkit="real", config=config)
    cli = Cli(world)
    cli.setup_ldap()
    options = list(setup_options)
    if primary_host is not None:
        options = ["--primary-host", primary_host] + options
    cli.setup_jabber(*options)
    return world, cli


def cli_world(make_world, *setup_options, **kwargs):
    """configured_world for a test file's module-scope `world` fixture: the XMPP client's
    logging quiet, and the Cli kept as world.cli (the file's `cli` fixture returns it)."""
    xmpp.quiet()
    world, cli = configured_world(make_world, *setup_options, **kwargs)
    world.cli = cli
    return world


# What a client sees ---------------------------------------------------------------------

def port(world):
    return world.ejabberd.client_port


def jid(name, host=namespace.HOSTNAME):
    return f"{name}@{host}"


def try_login(world, name, password, host=namespace.HOSTNAME, address="127.0.0.1"):
    return xmpp.try_login(jid(name, host), password, port(world), address=address)


def login(world, name, password, host=namespace.HOSTNAME, address="127.0.0.1"):
    return xmpp.login(jid(name, host), password, port(world), address=address)


def expected_roster(groups, viewer, host=namespace.HOSTNAME):
    """What mod_shared_roster_ldap shows `viewer`: every group with its members, but not
    the viewer itself; groups left empty that way do not show.
    groups: {group name: [user names]}."""
    out = {}
    for group, members in groups.items():
        jids = {jid(m, host) for m in members if m != viewer}
        if jids:
            out[group] = jids
    return out


def roster_after_reconnect(world, name, password, want, what):
    """Logs in again and again until the roster is `want` (a fresh login is how a client
    sees shared-roster changes); returns it."""
    last = {}

    def check():
        nonlocal last
        with login(world, name, password) as s:
            last = s.roster()
        return last == want
    try:
        poll(check, what)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  want: {want}\n  last: {last}") from None
    return last


# Images and the directory ---------------------------------------------------------------

def write_png(path, rgb=(0x20, 0x80, 0xe0), size=64):
    """A small PNG (GdkPixbuf): any common format is accepted by -i, the daemon stores JPEG."""
    import gi
    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf
    pb = GdkPixbuf.Pixbuf.new(GdkPixbuf.Colorspace.RGB, False, 8, size, size)
    pb.fill((rgb[0] << 24) | (rgb[1] << 16) | (rgb[2] << 8) | 0xff)
    pb.savev(path, "png", [], [])
    return path


def ldap_attribute(world, name, attribute):
    """The values of `attribute` of user `name` (bytes), read as root over ldapi."""
    base = f"ou=Users,ou=Jabber,ou=Services,{world.slapd.base_dn}"
    r = world.slapd.search_external(base, "-o", "ldif-wrap=no", f"(uid={name})", attribute)
    assert r.returncode == 0, r.stderr
    values = []
    for line in r.stdout.splitlines():
        m = re.match(rf"{attribute}(::?) ?(.*)$", line, re.IGNORECASE)
        if m:
            values.append(base64.b64decode(m.group(2)) if m.group(1) == "::"
                          else m.group(2).encode())
    return values
