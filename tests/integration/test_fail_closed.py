"""No polkitd on the bus: the gate fails closed, quickly, with PermissionDenied."""

import time

import pytest

from harness import client, polkit

DENIED = client.ERROR + "PermissionDenied"
AUTHORIZED = client.ERROR + "NotConfigured"


@pytest.fixture(scope="module")
def world(make_world):
    # A rule that would allow nobody, so that only polkitd's absence can refuse.
    return make_world(ldap="database", polkit="real", rules=polkit.rule("YES"))


def test_authorized_while_polkitd_runs(world):
    assert client.reload(user="nobody").error == AUTHORIZED


def test_refused_quickly_without_polkitd(world):
    world.polkit.stop()
    try:
        r = client.reload(user="nobody")
        assert r.error == DENIED, r
        # No waiting for the authorization timeout (25 s here): the bus says at once
        # that nobody owns org.freedesktop.PolicyKit1.
        assert r.seconds < 5, r
        assert world.daemon.proc.alive()
    finally:
        world.polkit.start()


def test_root_needs_no_polkitd(world):
    """uid 0 is authorized without asking polkitd, which authorizes it before any rule
    runs anyway (test_authorization.test_root_is_authorized): root is served while
    polkitd is away, everybody else is still refused (docs/dbus-api.md)."""
    world.polkit.stop()
    try:
        assert client.reload().error == AUTHORIZED
        assert client.reload(user="nobody").error == DENIED
    finally:
        world.polkit.start()


def test_recovers_when_polkitd_returns(world):
    world.polkit.stop()
    assert client.reload(user="nobody").error == DENIED
    world.polkit.start()
    deadline = time.monotonic() + 10
    while True:
        r = client.reload(user="nobody")
        if r.error == AUTHORIZED or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.error == AUTHORIZED, r


def test_polkitd_never_started(make_world, world):
    """Also when polkitd was never there since the daemon started."""
    from conftest import stop_world
    stop_world(world)
    w = make_world(ldap=None, polkit=None)
    r = client.reload(user="nobody")
    assert r.error == DENIED, r
    assert r.seconds < 5, r
    # Root is not asked about (see test_root_needs_no_polkitd).
    assert client.reload().error == AUTHORIZED
    stop_world(w)
