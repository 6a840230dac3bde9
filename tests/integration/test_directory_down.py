"""LDAP goes away and comes back: calls fail with DirectoryUnavailable within seconds
(never hang), the server object says so, and the daemon reconnects by itself."""

import os
import signal
import time

import pytest

from harness import client

ERROR = client.ERROR
MANAGER_PATH = "/org/calculate/Jabber"
MANAGER = "org.calculate.Jabber.Manager"
SERVER_PATH = "/org/calculate/Jabber/Server"
SERVER = "org.calculate.Jabber.Server"


def connected():
    r = client.run(["gdbus", "call", "--system", "-d", "org.calculate.Jabber", "-o", SERVER_PATH,
                    "-m", "org.freedesktop.DBus.Properties.Get", SERVER, "DirectoryConnected"])
    return "true" in r.stdout


def wait_for(predicate, what, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"not within {deadline} s: {what}")


def add_user(name):
    return client.call(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                       f"('{name}', 'Nick', {{'password': <'secret'>}})")


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="database")
    assert client.call(SERVER_PATH, SERVER, "SetupLdap", "a{sv}", "({},)").ok
    assert add_user("before").ok
    return w


def test_unreachable_directory_is_a_clear_error(world):
    world.slapd.stop()
    try:
        started = time.monotonic()
        r = add_user("during")
        assert r.error == ERROR + "DirectoryUnavailable", r
        assert "LDAP" in r.message, r
        # Not a hang: the caller's own timeout (30 s) is far away.
        assert time.monotonic() - started < 25
        wait_for(lambda: not connected(), "DirectoryConnected becomes false")
        # Reading still works from what the daemon knows.
        assert client.call(MANAGER_PATH, MANAGER, "FindUserByName", "s", "('before',)").ok
    finally:
        world.slapd.start()


def test_reconnects_by_itself(world):
    wait_for(connected, "DirectoryConnected becomes true again")
    wait_for(lambda: add_user("after").ok, "AddUser works again")
    r = world.slapd.search_admin("ou=Users,ou=Jabber,ou=Services,dc=example,dc=org", "(uid=after)", "uid")
    assert "uid: after" in r.stdout
    assert world.daemon.proc.alive()


@pytest.fixture(scope="module")
def hung_world(make_world):
    # A short LDAP timeout, so that the test waits seconds, not the default's tens.
    w = make_world(ldap="database", config={"Directory": {"Timeout": 2}})
    assert client.call(SERVER_PATH, SERVER, "SetupLdap", "a{sv}", "({},)").ok
    return w


def test_a_hung_directory_times_out(hung_world):
    """slapd stopped by SIGSTOP accepts connections and never answers: the call still ends
    after the configured timeout (not the caller's). The add was sent to it, so the answer
    is OutcomeUnknown, not a failure (test_true_answers.py follows what happens next)."""
    pid = hung_world.slapd.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = add_user("hung")
        assert r.error == ERROR + "OutcomeUnknown", r
        assert time.monotonic() - started < 20
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: add_user("unhung").ok, "AddUser works once slapd runs again")
    # The same request again is answered truly: the account as asked exists.
    assert add_user("hung").ok
