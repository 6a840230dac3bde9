"""True answers under faults (docs/reliability.md): a change either happened or did not and
the caller is told which; when the daemon cannot know (the request reached slapd, the
answer did not come back) it answers OutcomeUnknown, finds out once slapd answers again,
audits the real outcome ("outcome unknown", later "outcome found: ...") and updates its
objects. A multi-step change repeated after a fault at any step converges to what was asked.

slapd is frozen with SIGSTOP for the headline case; the faults at each step of a
multi-step change go through harness/ldap_proxy.py, which breaks exactly the n-th request
(held back like a frozen slapd, its answer lost like a killed one, or never delivered)."""

import os
import signal
import time

import pytest
from gi.repository import GLib
from harness import ldap_proxy
from helpers_directory import (Bus, DBusError, Directory, ERROR, GROUP, SERVER, SERVER_PATH,
                               USER, poll)

UNKNOWN = ERROR + "OutcomeUnknown"
TIMEOUT = 2                  # [Directory] Timeout: the daemon gives up on slapd after it
SETTLE = 90                  # seconds to find out, on a loaded machine


@pytest.fixture(scope="module")
def env(make_world):
    world = make_world(ldap="database", polkit="real", ejabberd=False, daemon=False)
    proxy = ldap_proxy.LdapProxy(world.slapd.port)
    world.config_overrides = {"Directory": {"Uri": proxy.uri, "Timeout": TIMEOUT}}
    world.start_daemon()
    bus = Bus()
    bus.setup_ldap()
    e = type("Env", (), {})()
    e.world, e.proxy, e.bus, e.ldap = world, proxy, bus, Directory(world.slapd)
    e.serial = 0
    yield e
    bus.close()
    proxy.close()


def unique(env, prefix):
    env.serial += 1
    return f"{prefix}{env.serial}"


def answer(fn):
    """'ok' or the D-Bus error name of a call."""
    try:
        fn()
    except DBusError as e:
        return e.name
    return "ok"


def audit_lines(env):
    """The audit trail: syslog's lines, else their copies in the daemon's --debug log (this
    machine may have no /dev/log)."""
    lines = env.world.syslog.lines()
    if not lines:
        lines = [line for line in env.world.daemon.log().splitlines() if "audit: request by" in line]
    return lines


def audit(env, target):
    """The audit lines about `target`."""
    return [line for line in audit_lines(env) if f'target="{target}"' in line]


def found_outcome(env, target):
    """Waits for the later audit line of a request answered OutcomeUnknown; returns
    'applied', 'not applied' or 'partly applied'."""
    def outcome():
        for line in audit(env, target):
            if ": outcome found: " in line:
                return line.split(": outcome found: ", 1)[1].split(":", 1)[0]
        return None
    try:
        result = poll(outcome, f"the outcome of the request about {target} in the audit log",
                      timeout=SETTLE, interval=0.2)
    except AssertionError as e:
        raise AssertionError(f"{e}; requests {env.proxy.seen}; audit {audit(env, target)}; "
                             f"daemon log tail {env.world.daemon.log()[-3000:]}") from None
    lines = audit(env, target)
    unknown = [i for i, line in enumerate(lines) if ": outcome unknown: " in line]
    later = [i for i, line in enumerate(lines) if ": outcome found: " in line]
    assert unknown and later and unknown[0] < later[0], lines
    return result


def in_group(env, name, group):
    return env.ldap.memberships().get(name, []) == ([group] if group else [])


# slapd frozen -----------------------------------------------------------------------------

def test_frozen_slapd_says_outcome_unknown_then_finds_it(env):
    """The issue's case: AddUser while slapd is stopped was answered DirectoryUnavailable
    and audited failed, yet the account existed once slapd resumed."""
    name = unique(env, "half")
    pid = env.world.slapd.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        r = answer(lambda: env.bus.add_user(name, "Half", "pw"))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r == UNKNOWN, r
    outcome = found_outcome(env, name)
    exists = env.ldap.user(name) is not None
    assert outcome == ("applied" if exists else "not applied"), (outcome, exists)
    # The objects follow the outcome, and the same request again is answered truly.
    if exists:
        poll(lambda: answer(lambda: env.bus.find_user(name)) == "ok", "the user is published")
    assert answer(lambda: env.bus.add_user(name, "Half", "pw")) == "ok"
    assert env.ldap.bind(env.ldap.user_dn(name), "pw")
    # Somebody else's account of that name is still refused.
    assert answer(lambda: env.bus.add_user(name, "Other", "pw")) == ERROR + "AlreadyExists"


# A fault at each step -------------------------------------------------------------------

MAX_STEPS = 16


def quiet(env, seconds=0.5, deadline=30):
    """Waits until the daemon sends slapd nothing for `seconds` (a reconnecting follower or
    an earlier check still reading would otherwise be counted as the change's requests)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        env.proxy.counting()
        time.sleep(seconds)
        if not env.proxy.seen:
            return
    raise AssertionError(f"the daemon kept talking to slapd: {env.proxy.seen}")


def faulted(env, nth, mode, change):
    """Runs `change` with its nth request broken; returns the caller's answer, or None when
    the change made fewer requests (it ran without a fault: it must have succeeded)."""
    quiet(env)
    env.proxy.arm(nth, mode)
    try:
        r = answer(change)
    finally:
        env.proxy.release()
    if not env.proxy.fired.is_set():
        env.proxy.counting()
        assert r == "ok", f"no fault, yet {r}"
        return None
    return r


def check_truth(env, r, target, holds):
    """The caller's answer was true: ok only if the asked state holds now; never a plain
    failure; OutcomeUnknown followed by the outcome found, which matches the directory."""
    assert r in ("ok", UNKNOWN), r
    if r == "ok":
        assert holds(), "answered ok, but the change is not there"
        return None
    outcome = found_outcome(env, target)
    assert (outcome == "applied") == holds(), (outcome, env.ldap.memberships())
    return outcome


@pytest.mark.parametrize("mode", ["hold", "lose", "cut"])
def test_add_user_with_group(env, mode):
    group_name = unique(env, "Group ")
    group = env.bus.add_group(group_name)
    for nth in range(1, MAX_STEPS):
        name = unique(env, f"u{mode}")

        def add():
            return env.bus.add_user(name, "Nick", "pw", group)

        def holds():
            return env.ldap.user(name) is not None and in_group(env, name, group_name)
        r = faulted(env, nth, mode, add)
        if r is None:
            assert holds() and nth > 4
            break
        check_truth(env, r, name, holds)
        # The same request again converges: the account, with its group.
        path = None
        try:
            path = add()
        except DBusError as e:
            pytest.fail(f"step {nth} ({mode}): repeating AddUser failed: {e}")
        assert holds(), f"step {nth} ({mode})"
        poll(lambda: env.bus.prop(path, USER, "Group") == group, "the Group property")
    else:
        pytest.fail(f"still a request to break after {MAX_STEPS - 1} ({mode})")


@pytest.mark.parametrize("mode", ["hold", "lose"])
def test_move_between_groups(env, mode):
    old_name, new_name = unique(env, "Old "), unique(env, "New ")
    old, new = env.bus.add_group(old_name), env.bus.add_group(new_name)
    for nth in range(1, MAX_STEPS):
        name = unique(env, f"m{mode}")
        path = env.bus.add_user(name, "", "pw", old)

        def move():
            return env.bus.call(path, USER, "SetGroup", "o", new)

        def holds():
            return in_group(env, name, new_name)
        r = faulted(env, nth, mode, move)
        if r is None:
            assert holds() and nth > 4
            break
        check_truth(env, r, name, holds)
        assert answer(move) == "ok", f"step {nth} ({mode})"
        assert holds(), env.ldap.memberships()
        poll(lambda: env.bus.prop(path, USER, "Group") == new, "the Group property")
    else:
        pytest.fail(f"still a request to break after {MAX_STEPS - 1} ({mode})")


@pytest.mark.parametrize("mode", ["hold", "lose"])
def test_add_group_with_members(env, mode):
    a, b = unique(env, "ma"), unique(env, "mb")
    pa, pb = env.bus.add_user(a, "", "pw"), env.bus.add_user(b, "", "pw")
    for nth in range(1, MAX_STEPS):
        group_name = unique(env, f"With {mode} ")

        def add():
            return env.bus.add_group(group_name, [pa, pb])

        def holds():
            return env.ldap.members(group_name) == sorted([a, b])
        r = faulted(env, nth, mode, add)
        if r is None:
            assert holds() and nth > 4
            break
        check_truth(env, r, group_name, holds)
        assert answer(add) == "ok", f"step {nth} ({mode})"
        assert holds()
    else:
        pytest.fail(f"still a request to break after {MAX_STEPS - 1} ({mode})")


@pytest.mark.parametrize("mode", ["hold", "lose"])
def test_group_modify(env, mode):
    """Group.Modify (cl-groupmod -a -d -n) is several writes: an answer lost at any of them
    is found applied, not applied or partly applied as the directory has it."""
    for nth in range(1, MAX_STEPS):
        old_name, new_name = unique(env, f"Mod {mode} "), unique(env, f"Renamed {mode} ")
        a, b = unique(env, "ga"), unique(env, "gb")
        pa, pb = env.bus.add_user(a, "", "pw"), env.bus.add_user(b, "", "pw")
        group = env.bus.add_group(old_name, [pb])

        def modify():
            return env.bus.call(group, GROUP, "Modify", "a{sv}", {
                "add-members": GLib.Variant("ao", [pa]),
                "remove-members": GLib.Variant("ao", [pb]),
                "name": GLib.Variant("s", new_name)})

        def holds():
            return env.ldap.members(new_name) == [a]
        r = faulted(env, nth, mode, modify)
        if r is None:
            assert holds() and nth > 3
            break
        outcome = check_truth(env, r, old_name, holds)
        if outcome == "not applied":
            assert env.ldap.members(old_name) == [b], env.ldap.memberships()
    else:
        pytest.fail(f"still a request to break after {MAX_STEPS - 1} ({mode})")


def test_an_existing_group_is_still_refused(env):
    name = unique(env, "Taken ")
    env.bus.add_group(name)
    assert answer(lambda: env.bus.add_group(name)) == ERROR + "AlreadyExists"
    other = env.bus.add_user(unique(env, "x"), "", "pw")
    # Its members are not a subset of the asked ones: somebody else's group.
    member = env.bus.add_user(unique(env, "y"), "", "pw")
    env.bus.call(member, USER, "SetGroup", "o", env.bus.find_group(name))
    assert answer(lambda: env.bus.add_group(name, [other])) == ERROR + "AlreadyExists"


def test_lock_answer_lost(env):
    """A one-step change whose answer was lost: found applied, the view follows."""
    name = unique(env, "lock")
    path = env.bus.add_user(name, "", "pw")
    # Locking is one request: a modify with permissive modify and the post-read control.
    r = faulted(env, 1, "lose", lambda: env.bus.call(path, USER, "SetLocked", "b", True))
    assert r == UNKNOWN, (r, env.proxy.seen)
    assert env.proxy.seen[:1] == ["modify"], env.proxy.seen
    assert found_outcome(env, name) == "applied"
    assert not env.ldap.matches_login_filter(name)
    poll(lambda: env.bus.prop(path, USER, "Locked") is True, "Locked becomes true")


def test_cut_before_reaching_slapd_is_found_not_applied(env):
    name = unique(env, "cut")
    path = env.bus.add_user(name, "", "pw")
    r = faulted(env, 1, "cut", lambda: env.bus.call(path, USER, "SetPassword", "s", "new"))
    # The connection broke with the request written: the daemon cannot know.
    assert r == UNKNOWN, (r, env.proxy.seen)
    assert found_outcome(env, name) == "not applied"
    assert env.ldap.bind(env.ldap.user_dn(name), "pw")
    assert answer(lambda: env.bus.call(path, USER, "SetPassword", "s", "new")) == "ok"
    assert env.ldap.bind(env.ldap.user_dn(name), "new")


def test_slapd_killed_with_the_change_in_flight(env):
    """slapd really killed (SIGKILL) after it took the add of an AddUser with a group and
    before the answer reached the daemon, then started again: the daemon learns that the
    connection died, reads back from the new slapd and audits what is there."""
    group_name = unique(env, "Killed ")
    group = env.bus.add_group(group_name)
    name = unique(env, "killed")
    env.proxy.arm(2, "hold")            # 1: read the group, 2: the add
    r = answer(lambda: env.bus.add_user(name, "K", "pw", group))
    assert r == UNKNOWN, (r, env.proxy.seen)
    os.kill(env.world.slapd.proc.pid, signal.SIGKILL)
    env.world.slapd.stop()
    env.world.slapd.start()
    env.proxy.release()
    outcome = found_outcome(env, name)
    exists = env.ldap.user(name) is not None
    assert outcome == ("partly applied" if exists else "not applied"), (outcome, exists)
    assert answer(lambda: env.bus.add_user(name, "K", "pw", group)) == "ok"
    assert in_group(env, name, group_name)
    poll(lambda: env.bus.prop(SERVER_PATH, SERVER, "DirectoryConnected"),
         "the daemon follows the directory again", timeout=SETTLE)


# Last: slapd restarted (the follower reconnects, its requests would count) ---------------

def test_before_sending_is_unavailable_not_unknown(env):
    """Nothing reached slapd (it is not there): DirectoryUnavailable, and nothing to find."""
    name = unique(env, "never")
    env.world.slapd.stop()
    try:
        r = answer(lambda: env.bus.add_user(name, "Never", "pw"))
    finally:
        env.world.slapd.start()
    assert r == ERROR + "DirectoryUnavailable", r
    assert not any(": outcome unknown: " in line for line in audit(env, name))
    poll(lambda: answer(lambda: env.bus.add_user(name, "Never", "pw")) == "ok",
         "AddUser works once slapd is back", timeout=SETTLE)
    poll(lambda: env.bus.prop(SERVER_PATH, SERVER, "DirectoryConnected"),
         "the daemon follows the directory again", timeout=SETTLE)


def test_no_object_left_unknown(env):
    """Every request answered OutcomeUnknown got its later line."""
    lines = audit_lines(env)
    unknown = sum(": outcome unknown: " in line for line in lines)
    found = sum(": outcome found: " in line for line in lines)
    assert unknown == found, [line for line in lines if "outcome" in line]
