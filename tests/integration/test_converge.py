"""Invariants across writers (issue 14): a user listed by two groups (two nodes moved it at
the same moment; here ldapmodify behind the daemon's back) stays in the group whose entry
is newest and leaves the other, repaired by the daemon on its own, audited; a memberUid
whose account was deleted goes. With a [Directory] ServerId that is not the server id of
the losing write, the daemon waits a grace period first (another node owns the repair).
Every wait is a poll with a generous deadline, never a fixed sleep."""

import pytest

from harness import namespace  # noqa: F401  (the world's namespaces)
from helpers_directory import (GROUP, USER, Bus, Directory, poll, user_ldif)


@pytest.fixture(scope="module")
def env(make_world):
    world = make_world(ldap="database", polkit="real")
    bus = Bus()
    bus.setup_ldap()

    class Env:
        pass
    e = Env()
    e.world, e.bus, e.ldap = world, bus, Directory(world.slapd)
    counter = [0]

    def unique(prefix):
        counter[0] += 1
        return f"{prefix}{counter[0]}"
    e.unique = unique
    yield e
    e.bus.close()


def add_member(env, group_name, user):
    env.ldap.modify(f"dn: {env.ldap.group_dn(group_name)}\nchangetype: modify\n"
                    f"add: memberUid\nmemberUid: {user}\n")


def audit_lines(env):
    return [l for l in env.world.daemon.log().splitlines() if "by the daemon on its own: repaired:" in l]


def test_user_in_two_groups_stays_in_the_newer(env):
    old_name, new_name = env.unique("Older"), env.unique("Newer")
    old_group = env.bus.add_group(old_name)
    new_group = env.bus.add_group(new_name)
    user = env.unique("twice")
    path = env.bus.add_user(user, "", group=old_group)

    add_member(env, new_name, user)            # the newer write: its group keeps the user
    # Meanwhile and after, D-Bus shows the user in the winning group.
    poll(lambda: env.bus.prop(path, USER, "Group") == new_group, "the user shown in the newer group")
    poll(lambda: env.ldap.members(old_name) == [], "the older group repaired", timeout=60)
    assert env.ldap.members(new_name) == [user]
    assert env.bus.prop(path, USER, "Group") == new_group
    assert env.bus.prop(new_group, GROUP, "Members") == [path]
    assert env.bus.prop(old_group, GROUP, "Members") == []
    want = f'repaired: {user} left group "{old_name}" (also in "{new_name}", newer)'
    poll(lambda: any(want in l for l in audit_lines(env)), "the repair audited")


def test_member_of_a_deleted_account_goes(env):
    name = env.unique("Ghosts")
    group = env.bus.add_group(name)
    user = env.unique("real")
    path = env.bus.add_user(user, "", group=group)
    ghost = env.unique("ghost")
    add_member(env, name, ghost)
    poll(lambda: env.ldap.members(name) == [user], "the ghost taken out", timeout=60)
    assert env.bus.prop(group, GROUP, "Members") == [path]
    want = f'repaired: {ghost} left group "{name}" (no such account)'
    poll(lambda: any(want in l for l in audit_lines(env)), "the repair audited")


def test_another_servers_write_is_repaired_after_the_grace(env):
    # The test's slapd has no olcServerID: every entryCSN carries server id 0, so a node
    # configured as server 7 owns none of the violations and waits the grace (17 s).
    env.world.config_overrides = {"Directory": {"ServerId": "7"}}
    env.world.daemon.stop()
    env.world.start_daemon()
    env.bus.close()
    env.bus = Bus()
    a_name, b_name = env.unique("First"), env.unique("Second")
    a = env.bus.add_group(a_name)
    env.bus.add_group(b_name)
    user = env.unique("late")
    path = env.bus.add_user(user, "", group=a)
    add_member(env, b_name, user)
    poll(lambda: f"{user} in group {a_name} (also in another group): the losing write came "
                 "through another server" in env.world.daemon.log(),
         "the violation seen as another node's", timeout=60)
    # Not ours, but nobody else repairs it: this node does, after its grace.
    poll(lambda: env.ldap.members(a_name) == [], "the repair after the grace", timeout=120)
    assert env.ldap.members(b_name) == [user]
    assert env.bus.prop(path, USER, "Group") == env.bus.find_group(b_name)


def test_nothing_left_to_repair(env):
    # Every user in at most one group, every member an account: and each repair was made
    # once (none undone and made again).
    accounts = set(env.ldap.users())
    for user, groups in env.ldap.memberships().items():
        assert len(groups) == 1 and user in accounts, (user, groups)
    lines = [l.split("repaired: ", 1)[1] for l in audit_lines(env)]
    assert len(lines) == len(set(lines)) == 3, lines
