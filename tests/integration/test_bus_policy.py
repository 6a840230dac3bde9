"""The shipped system-bus policy (data/org.calculate.Jabber.conf), included into a bus
with Debian's default-deny semantics: root may own org.calculate.Jabber, other users may
not, and other users may call it."""

import pytest

from conftest import stop_world
from harness import bus, client, procs

NAME = "org.calculate.Jabber"
# RequestName replies; flag 4 = DO_NOT_QUEUE
PRIMARY_OWNER, EXISTS = 1, 3


def request_name(user):
    return client.run(["gdbus", "call", "--system", "-d", "org.freedesktop.DBus",
                       "-o", "/org/freedesktop/DBus", "-m", "org.freedesktop.DBus.RequestName",
                       NAME, "4"], user=user)


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap="database", polkit="real")


def test_daemon_owns_name_as_root(world):
    assert bus.owner_uid(NAME) == 0


def test_root_may_own_the_name(world):
    # While the daemon owns it, root's request is answered EXISTS, not refused.
    r = request_name("root")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"(uint32 {EXISTS},)"
    # With the name free, root gets it.
    world.daemon.stop()
    try:
        r = request_name("root")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"(uint32 {PRIMARY_OWNER},)"
    finally:
        world.start_daemon()


@pytest.mark.parametrize("user", procs.TEST_USERS)
def test_others_may_not_own_the_name(world, user):
    r = request_name(user)
    assert r.returncode != 0
    assert "org.freedesktop.DBus.Error.AccessDenied" in r.stderr


def test_others_may_not_own_the_free_name(world):
    world.daemon.stop()
    try:
        for user in procs.TEST_USERS:
            r = request_name(user)
            assert "org.freedesktop.DBus.Error.AccessDenied" in r.stderr, (user, r.stdout)
    finally:
        world.start_daemon()


@pytest.mark.parametrize("user", ["nobody", "daemon"])
def test_others_may_call(world, user):
    # Properties and introspection: no polkit involved, only the bus policy.
    r = client.call(client.SERVER_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s",
                    f"('{client.SERVER_IFACE}',)", user=user)
    assert r.ok, r
    assert "LdapUri" in r.reply
    r = client.call(client.MANAGER_PATH, "org.freedesktop.DBus.Introspectable", "Introspect",
                    user=user)
    assert r.ok, r
    assert client.MANAGER_IFACE in r.reply
    # A method of the service itself reaches the daemon (whatever it answers, the bus
    # did not refuse it).
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "ListUsers", user=user)
    assert r.error != "org.freedesktop.DBus.Error.AccessDenied", r


def test_without_shipped_policy_root_is_refused(make_world, world):
    """The strict test bus really is strict: without the shipped policy file the daemon
    could not own its name. (Proves the tests above test the shipped file.)"""
    stop_world(world)
    w = make_world(ldap=None, polkit=None, daemon=False,
                   bus_policy="/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf")
    r = request_name("root")
    assert "org.freedesktop.DBus.Error.AccessDenied" in r.stderr, r.stdout
    stop_world(w)
