"""polkitd that does not answer (python-dbusmock's polkitd template): the daemon gives up
after its configured timeout ([Authorization] Timeout=2 here) with PermissionDenied, and
keeps serving. The mock also shows exactly what the daemon asks polkitd."""

import time

import pytest

from harness import client

DENIED = client.ERROR + "PermissionDenied"
AUTHORIZED = client.ERROR + "NotConfigured"
TIMEOUT = 2


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap=None, polkit="mock",
                      config={"Authorization": {"Timeout": TIMEOUT}})


@pytest.fixture
def mock(world):
    pk = world.polkit
    pk.mock_call("SimulateHang", "false")
    pk.mock_call("ReleaseHangingCalls")
    pk.mock_call("SetDelay", "0.0")
    pk.mock_call("SetAllowed", "@as []")
    pk.mock_call("ClearCalls")
    return pk


def calls(pk):
    return pk.mock_call("GetMethodCalls", "CheckAuthorization")


def test_allowed_by_mock(mock):
    mock.mock_call("SetAllowed", "['org.calculate.jabber.setup']")
    assert client.reload(user="nobody").error == AUTHORIZED


def test_refused_by_mock(mock):
    assert client.reload(user="nobody").error == DENIED


def test_asks_about_the_callers_bus_name(mock):
    mock.mock_call("SetAllowed", "['org.calculate.jabber.setup']")
    client.reload(user="nobody")
    seen = calls(mock)
    assert "'system-bus-name'" in seen, seen
    assert "'org.calculate.jabber.setup'" in seen, seen


def test_interaction_flag_follows_the_message(mock):
    mock.mock_call("SetAllowed", "['org.calculate.jabber.setup']")
    client.reload(user="nobody")
    # CheckAuthorization(subject, action_id, details, flags, cancellation_id): flags 0
    assert "uint32 0" in calls(mock), calls(mock)
    mock.mock_call("ClearCalls")
    client.reload(user="nobody", interactive=True)
    assert "uint32 1" in calls(mock), calls(mock)


def test_slow_answer_within_timeout(mock):
    mock.mock_call("SetAllowed", "['org.calculate.jabber.setup']")
    mock.mock_call("SetDelay", "0.5")
    r = client.reload(user="nobody")
    assert r.error == AUTHORIZED, r


def test_hang_gives_permission_denied_after_timeout(world, mock):
    mock.mock_call("SetAllowed", "['org.calculate.jabber.setup']")
    mock.mock_call("SimulateHang", "true")
    r = client.reload(user="nobody")
    assert r.error == DENIED, r
    assert TIMEOUT - 0.5 <= r.seconds <= TIMEOUT + 5, r
    # Still serving, and well again once polkitd answers.
    mock.mock_call("SimulateHang", "false")
    assert world.daemon.proc.alive()
    assert client.reload(user="nobody").error == AUTHORIZED


def test_hang_does_not_hold_root(mock):
    """Root is not asked about (polkitd authorizes uid 0 before any rule): a hung polkitd
    does not hold root's calls, and polkitd sees no question for them."""
    mock.mock_call("SimulateHang", "true")
    start = time.monotonic()
    r = client.reload()
    assert r.error == AUTHORIZED, r
    assert time.monotonic() - start < TIMEOUT
    assert "system-bus-name" not in calls(mock), calls(mock)
    mock.mock_call("SimulateHang", "false")
