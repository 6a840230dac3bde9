"""Jabber groups (issue 4) through the real daemon against the real slapd: posixGroup
entries as ejabberd's shared roster reads them, renames that keep the object path,
membership with the rule "a user is in at most one group" (also under concurrent clients),
every error case with LDAP unchanged, and a caller without authorization changing nothing."""

import json
import os
import subprocess
import sys

import pytest
from gi.repository import GLib

from harness import client, polkit
from helpers_directory import (DEADLINE, ERROR, GROUP, GROUP_ID, MANAGER, MANAGER_PATH,
                               NO_OBJECT, USER, DBusError, daemon_criticals, poll)

INVALID = ERROR + "InvalidArgument"
NOT_FOUND = ERROR + "NotFound"


@pytest.fixture
def users(env):
    """Three fresh users: {name: path}."""
    names = [env.unique("member") for _ in range(3)]
    return {n: env.bus.add_user(n, "", password="pw") for n in names}


def new_group(env, prefix="Group "):
    name = env.unique(prefix)
    return name, env.bus.add_group(name)


def group_of(env, path):
    return env.bus.prop(path, USER, "Group")


def members(env, path):
    return sorted(env.bus.prop(path, GROUP, "Members"))


# AddGroup -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Тестовая группа", "Guest group"])
def test_add_group(env, name):
    path, signals = env.bus.call_observed(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}",
                                          name, {})
    assert any(m == "InterfacesAdded" and b[0] == path and GROUP in b[1]
               for m, _, b in signals), signals
    assert env.bus.group_props(path) == {"Name": name, "Members": []}
    assert env.bus.managed_objects()[path] == {GROUP: {"Name": name, "Members": []}}
    assert env.bus.find_group(name) == path
    assert path in env.bus.list_groups()

    entry = env.ldap.group(name)
    assert entry is not None, env.ldap.groups().keys()
    assert "posixGroup" in entry["objectclass"]
    assert entry["description"] == [name]              # exactly as given, one value
    assert len(entry["cn"]) == 1 and GROUP_ID.match(entry["cn"][0]), entry["cn"]
    assert entry["dn"] == [f"cn={entry['cn'][0]},{env.ldap.groups_dn}"]   # the RDN is the id
    assert "memberuid" not in entry
    gids = [g["gidnumber"][0] for g in env.ldap.groups().values()]
    assert len(set(gids)) == len(gids), gids
    assert all(g.isdigit() for g in gids)
    assert env.bus.server_props()["GroupCount"] == len(env.ldap.groups())


def test_add_group_with_members(env, users):
    (a, pa), (b, pb), _ = users.items()
    old_name, old = new_group(env)
    env.bus.call(old, GROUP, "AddMembers", "ao", [pa])
    name = env.unique("With members ")
    path = env.bus.call(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", name,
                        {"members": GLib.Variant("ao", [pa, pb])})
    assert env.ldap.members(name) == sorted([a, b])
    assert env.ldap.members(old_name) == []             # moved out of the old group
    assert members(env, path) == sorted([pa, pb])
    assert group_of(env, pa) == path and group_of(env, pb) == path


def test_add_group_errors(env, users):
    existing, _ = new_group(env, "Existing ")
    (_, pa), *_ = users.items()
    before = env.ldap.dump()
    cases = [
        ((existing, {}), ERROR + "AlreadyExists"),
        ((existing.upper(), {}), ERROR + "AlreadyExists"),       # cn ignores case
        (("", {}), INVALID),
        (("   ", {}), INVALID),
        ((" leading", {}), INVALID),
        (("trailing ", {}), INVALID),
        (("x" * 65, {}), INVALID),
        (("ж" * 81, {}), INVALID),                               # 162 bytes
        (("a\nb", {}), INVALID),
        (("a\x01b", {}), INVALID),
        (("fine", {"colour": GLib.Variant("s", "red")}), INVALID),
        (("fine", {"members": GLib.Variant("as", ["guest"])}), INVALID),
        (("fine", {"members": GLib.Variant("ao", [pa, "/org/calculate/Jabber/Users/0"])}),
         NOT_FOUND),
    ]
    for args, error in cases:
        assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", *args) == error, \
            args
        assert env.ldap.dump() == before, args
    assert group_of(env, pa) == NO_OBJECT


def test_group_name_of_64_characters(env):
    name = "Group-" + "x" * 58
    path = env.bus.add_group(name)
    assert env.ldap.group(name)["description"] == [name]
    assert env.bus.prop(path, GROUP, "Name") == name


def test_long_cyrillic_group_name_is_added_or_refused_cleanly(env):
    name = "г" * 80                                    # 80 characters, 160 bytes: the limit
    before = env.ldap.dump()
    try:
        path = env.bus.add_group(name)
    except DBusError as e:
        assert e.name == INVALID, e
        assert env.ldap.dump() == before
    else:
        assert env.ldap.group(name)["description"] == [name]
        assert env.bus.prop(path, GROUP, "Name") == name


# Rename ---------------------------------------------------------------------------------

def test_rename_keeps_the_path(env, users):
    (a, pa), *_ = users.items()
    old_name, path = new_group(env, "My test ")
    env.bus.call(path, GROUP, "AddMembers", "ao", [pa])
    uuid = env.ldap.group(old_name)["entryuuid"]
    dn, cn = env.ldap.group(old_name)["dn"][0], env.ldap.group(old_name)["cn"]
    new_name = env.unique("Тестовая группа ")

    mark = env.bus.mark()
    env.bus.call(path, GROUP, "Rename", "s", new_name)
    assert env.bus.prop(path, GROUP, "Name") == new_name
    env.bus.wait_changed(mark, path, GROUP, {"Name": new_name})
    assert env.bus.find_group(new_name) == path
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "FindGroupByName", "s", old_name) \
        == NOT_FOUND
    assert path in env.bus.list_groups()

    # One modify of the description: the same entry, same DN, members kept.
    assert env.ldap.group(old_name) is None
    entry = env.ldap.group(new_name)
    assert entry["entryuuid"] == uuid
    assert entry["description"] == [new_name]
    assert entry["dn"] == [dn] and entry["cn"] == cn
    assert entry["memberuid"] == [a]
    assert group_of(env, pa) == path


def test_rename_errors(env):
    taken, _ = new_group(env, "Taken ")
    name, path = new_group(env, "Renamed ")
    before = env.ldap.dump()
    for new, error in ((taken, ERROR + "AlreadyExists"), ("", INVALID),
                       (" x", INVALID), ("x" * 65, INVALID), ("a\tb", INVALID)):
        assert env.bus.error_of(path, GROUP, "Rename", "s", new) == error, new
        assert env.ldap.dump() == before, new
    assert env.bus.prop(path, GROUP, "Name") == name


def test_rename_changing_only_case(env):
    name, path = new_group(env, "Staff ")
    env.bus.call(path, GROUP, "Rename", "s", name.upper())
    assert env.bus.prop(path, GROUP, "Name") == name.upper()
    assert env.ldap.group(name.upper())["description"] == [name.upper()]
    assert env.bus.find_group(name) == path                 # found ignoring case, as before


# Names that are LDAP filter syntax --------------------------------------------------------

FILTER_NAMES = ["*", "a*", "x)(|(cn=*", "back\\slash", "(paren)", "Отдел (Москва)", "a"]


def test_names_with_filter_syntax_are_ordinary_names(env):
    paths = {}
    for name in FILTER_NAMES:
        paths[name] = env.bus.add_group(name)
    assert len(set(paths.values())) == len(FILTER_NAMES)
    groups = env.ldap.groups()
    for name, path in paths.items():
        assert env.bus.find_group(name) == path, name
        assert env.bus.prop(path, GROUP, "Name") == name
        entry = groups[name]
        assert entry["description"] == [name]
        assert len(entry["cn"]) == 1 and GROUP_ID.match(entry["cn"][0]), entry
    # Uniqueness compares names (ignoring case), never patterns: "*" and "A" are taken,
    # "b*" is not.
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", "*", {}) \
        == ERROR + "AlreadyExists"
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", "A", {}) \
        == ERROR + "AlreadyExists"
    assert env.bus.error_of(paths["a*"], GROUP, "Rename", "s", "x)(|(CN=*") \
        == ERROR + "AlreadyExists"
    other = env.bus.add_group("b*")
    env.bus.call(other, GROUP, "Rename", "s", "(paren) 2")
    assert env.bus.find_group("(paren) 2") == other
    for name in FILTER_NAMES:
        env.bus.call(paths[name], GROUP, "Delete")
    env.bus.call(other, GROUP, "Delete")


# Membership -----------------------------------------------------------------------------

def test_add_members_and_move_between_groups(env, users):
    (a, pa), (b, pb), _ = users.items()
    first_name, first = new_group(env, "Guest group ")
    second_name, second = new_group(env, "Other group ")

    mark = env.bus.mark()
    moved = env.bus.call(first, GROUP, "AddMembers", "ao", [pa, pb])
    assert moved == []
    assert env.ldap.members(first_name) == sorted([a, b])
    assert members(env, first) == sorted([pa, pb])
    assert group_of(env, pa) == first and group_of(env, pb) == first
    env.bus.wait_changed(mark, pa, USER, {"Group": first})
    env.bus.wait_changed(mark, first, GROUP, {"Members": sorted([pa, pb])})

    # Adding to another group moves the user, and says from where.
    moved = env.bus.call(second, GROUP, "AddMembers", "ao", [pa])
    assert moved == [(pa, first)]
    assert env.ldap.members(first_name) == [b]
    assert env.ldap.members(second_name) == [a]
    assert members(env, first) == [pb] and members(env, second) == [pa]
    assert group_of(env, pa) == second

    # SetGroup moves too, and returns the previous group.
    assert env.bus.call(pa, USER, "SetGroup", "o", first) == second
    assert env.ldap.members(first_name) == sorted([a, b])
    assert env.ldap.members(second_name) == []
    assert group_of(env, pa) == first

    # The same group again: nothing moves.
    assert env.bus.call(first, GROUP, "AddMembers", "ao", [pa]) == []
    env.bus.call(pa, USER, "SetGroup", "o", first)
    assert env.ldap.members(first_name) == sorted([a, b])
    assert group_of(env, pa) == first

    # "/" takes the user out of every group.
    assert env.bus.call(pa, USER, "SetGroup", "o", NO_OBJECT) == first
    assert env.ldap.members(first_name) == [b]
    assert group_of(env, pa) == NO_OBJECT
    assert env.bus.call(pa, USER, "SetGroup", "o", NO_OBJECT) == NO_OBJECT
    assert a not in env.ldap.memberships()


def test_set_group_to_the_current_group_returns_it(env, users):
    (a, pa), *_ = users.items()
    name, path = new_group(env)
    assert env.bus.call(pa, USER, "SetGroup", "o", path) == NO_OBJECT
    assert env.bus.call(pa, USER, "SetGroup", "o", path) == path
    assert env.ldap.members(name) == [a]


def test_remove_members(env, users):
    (a, pa), (b, pb), (c, pc) = users.items()
    name, path = new_group(env)
    env.bus.call(path, GROUP, "AddMembers", "ao", [pa, pb])
    mark = env.bus.mark()
    env.bus.call(path, GROUP, "RemoveMembers", "ao", [pb])
    assert env.ldap.members(name) == [a]
    assert members(env, path) == [pa]
    assert group_of(env, pb) == NO_OBJECT
    env.bus.wait_changed(mark, pb, USER, {"Group": NO_OBJECT})
    assert env.ldap.user(b) is not None                  # the user stays

    before = env.ldap.dump()
    for users_arg, error in (([pc], INVALID),             # not a member
                             ([pa, pc], INVALID),         # all or nothing
                             ([], INVALID),
                             (["/org/calculate/Jabber/Users/0"], NOT_FOUND)):
        assert env.bus.error_of(path, GROUP, "RemoveMembers", "ao", users_arg) == error, \
            users_arg
        assert env.ldap.dump() == before, users_arg
    assert members(env, path) == [pa]


def test_unknown_users_change_nothing(env, users):
    (a, pa), (b, pb), _ = users.items()
    name, path = new_group(env)
    other_name, other = new_group(env)
    env.bus.call(other, GROUP, "AddMembers", "ao", [pb])
    before = env.ldap.dump()
    unknown = "/org/calculate/Jabber/Users/00000000000000000000000000000000"
    with pytest.raises(DBusError) as e:
        env.bus.call(path, GROUP, "AddMembers", "ao", [pa, unknown, pb])
    assert e.value.name == NOT_FOUND, e.value
    assert unknown in e.value.message                     # the error names it
    assert env.ldap.dump() == before
    assert group_of(env, pa) == NO_OBJECT and group_of(env, pb) == other
    # A group path is not a user either.
    assert env.bus.error_of(path, GROUP, "AddMembers", "ao", [other]) == NOT_FOUND
    assert env.bus.error_of(pa, USER, "SetGroup", "o",
                            "/org/calculate/Jabber/Groups/0") == NOT_FOUND
    assert env.bus.error_of(pa, USER, "SetGroup", "o", pb) == NOT_FOUND
    assert env.ldap.dump() == before


def test_delete_group_keeps_its_members(env, users):
    (a, pa), (b, pb), _ = users.items()
    name, path = new_group(env, "Doomed ")
    env.bus.call(path, GROUP, "AddMembers", "ao", [pa, pb])
    mark = env.bus.mark()
    _, signals = env.bus.call_observed(path, GROUP, "Delete")
    assert any(m == "InterfacesRemoved" and b_[0] == path and GROUP in b_[1]
               for m, _, b_ in signals), signals
    assert env.ldap.group(name) is None
    assert env.ldap.user(a) is not None and env.ldap.user(b) is not None
    assert group_of(env, pa) == NO_OBJECT and group_of(env, pb) == NO_OBJECT
    env.bus.wait_changed(mark, pa, USER, {"Group": NO_OBJECT})
    assert path not in env.bus.list_groups()
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "FindGroupByName", "s", name) == NOT_FOUND


def test_add_user_into_a_group(env):
    name, path = new_group(env)
    user = env.unique("joiner")
    upath = env.bus.add_user(user, "", password="pw", group=path)
    assert env.ldap.members(name) == [user]
    assert group_of(env, upath) == path
    assert members(env, path) == [upath]
    # Adding a second one with the same group keeps the first.
    user2 = env.unique("joiner")
    env.bus.add_user(user2, "", group=path)
    assert env.ldap.members(name) == sorted([user, user2])


def test_user_deleted_leaves_its_group(env, users):
    (a, pa), (b, pb), _ = users.items()
    name, path = new_group(env)
    env.bus.call(path, GROUP, "AddMembers", "ao", [pa, pb])
    env.bus.call(pa, USER, "Delete")
    assert env.ldap.members(name) == [b]
    assert members(env, path) == [pb]


# Authorization ---------------------------------------------------------------------------

def test_unauthorized_caller_changes_nothing(env, users):
    (a, pa), (b, pb), _ = users.items()
    name, path = new_group(env, "Guarded ")
    other_name, other = new_group(env, "Other guarded ")
    env.bus.call(path, GROUP, "AddMembers", "ao", [pa])
    env.world.polkit.set_rules(polkit.rule("NO", users=["nobody"]))
    try:
        calls = [
            (MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", "('Intruders', {})"),
            (path, GROUP, "Rename", "s", "('Hijacked',)"),
            (path, GROUP, "AddMembers", "ao", f"([objectpath '{pb}'],)"),
            (path, GROUP, "RemoveMembers", "ao", f"([objectpath '{pa}'],)"),
            (pa, USER, "SetGroup", "o", f"(objectpath '{other}',)"),
            (pa, USER, "SetGroup", "o", "(objectpath '/',)"),
            (path, GROUP, "Delete", "", None),
        ]
        for call in calls:
            before = env.ldap.dump()
            r = client.call(*call, user="nobody")
            assert r.error == ERROR + "PermissionDenied", (call, r)
            assert env.ldap.dump() == before, call
    finally:
        env.world.polkit.set_rules("")
    assert env.ldap.members(name) == [a]
    assert env.bus.prop(path, GROUP, "Name") == name


# The invariant under concurrent clients ------------------------------------------------------

WORKER = r"""
import json, random, sys
from gi.repository import Gio, GLib
req = json.loads(sys.argv[1])
random.seed(req["seed"])
conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
def call(path, iface, method, sig, *args):
    conn.call_sync("org.calculate.Jabber", path, iface, method,
                   GLib.Variant("(" + sig + ")", args), None, Gio.DBusCallFlags.NONE,
                   60000, None)
done = 0
for i in range(req["moves"]):
    user = random.choice(req["users"])
    group = random.choice(req["groups"] + ["/"])
    if group != "/" and random.random() < 0.5:
        others = random.sample(req["users"], random.randint(0, 2))
        call(group, "org.calculate.Jabber.Group", "AddMembers", "ao", [user] + others)
    else:
        call(user, "org.calculate.Jabber.User", "SetGroup", "o", group)
    done += 1
print(done)
"""

CLIENTS = 6
MOVES = 30


def test_one_group_per_user_under_concurrent_clients(env):
    names = [env.unique("busy") for _ in range(5)]
    upaths = [env.bus.add_user(n, "") for n in names]
    groups = [new_group(env, "Busy ") for _ in range(3)]
    gpaths = [p for _, p in groups]
    env_vars = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    procs = [subprocess.Popen(
        [sys.executable, "-c", WORKER,
         json.dumps({"seed": i, "moves": MOVES, "users": upaths, "groups": gpaths})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_vars)
        for i in range(CLIENTS)]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0 and out.strip() == str(MOVES), err

    # In LDAP: each user in at most one group, every member exists.
    existing = set(env.ldap.users())
    memberships = env.ldap.memberships()
    for user, in_groups in memberships.items():
        assert len(in_groups) == 1, f"{user} is in {in_groups}"
        assert user in existing, f"memberUid {user} names no user"

    # The daemon's view agrees with LDAP (its own writes are applied before each reply;
    # the follower's later copies of them must not leave it behind).
    by_cn = {cn: p for cn, p in groups}

    def view_agrees():
        ldap_members = {cn: sorted(env.ldap.members(cn)) for cn in by_cn}
        for cn, gpath in by_cn.items():
            want = sorted(upaths[names.index(n)] for n in ldap_members[cn])
            if members(env, gpath) != want:
                return False
        for name, upath in zip(names, upaths):
            in_groups = env.ldap.memberships().get(name, [])
            want = by_cn[in_groups[0]] if in_groups else NO_OBJECT
            if group_of(env, upath) != want:
                return False
        return True
    poll(view_agrees, "the daemon's Group/Members agree with LDAP", timeout=DEADLINE)


def test_daemon_logged_no_criticals(env):
    new_group(env, "Critical ")
    assert daemon_criticals(env.world) == []
