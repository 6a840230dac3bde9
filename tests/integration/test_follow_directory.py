"""The daemon follows the directory: users and groups added, changed, renamed or deleted
by another LDAP writer (ldapadd/ldapmodify/ldapmodrdn/ldapdelete beside the daemon) show
on D-Bus within seconds, without a restart; and a restarted daemon publishes what exists
before it owns its name. Every wait is a poll with a deadline, never a fixed sleep."""

import base64

from helpers_directory import (ERROR, GROUP, GROUP_ID, NO_OBJECT, USER, DBusError,
                               _escape_dn_value as escape_dn, group_ldif, old_group_ldif,
                               poll, user_ldif)

NOT_FOUND = ERROR + "NotFound"


def found_user(env, name):
    try:
        return env.bus.find_user(name)
    except DBusError as e:
        assert e.name == NOT_FOUND, e
        return None


def found_group(env, name):
    try:
        return env.bus.find_group(name)
    except DBusError as e:
        assert e.name == NOT_FOUND, e
        return None


def b64(text):
    return base64.b64encode(text.encode()).decode()


def prop_is(env, path, interface, name, value):
    return lambda: env.bus.prop(path, interface, name) == value


# Users ----------------------------------------------------------------------------------

def test_user_added_beside_appears(env):
    name = env.unique("outsider")
    mark = env.bus.mark()
    env.ldap.add(user_ldif(env.ldap, name, "Чужой"))
    path = poll(lambda: found_user(env, name), f"user {name} on D-Bus")
    assert env.bus.user_props(path) == {
        "Name": name, "Jid": f"{name}@{env.primary_host()}", "Nickname": "Чужой",
        "Locked": False, "HasPassword": False, "Group": NO_OBJECT, "HasPhoto": False}
    assert path in env.bus.list_users()
    assert any(m == "InterfacesAdded" and b[0] == path for m, _, b in env.bus.signals(mark))


def test_user_changed_beside_follows(env):
    name = env.unique("changed")
    path = env.bus.add_user(name, "Before", password="pw")
    dn = env.ldap.user_dn(name)

    mark = env.bus.mark()
    env.ldap.modify(f"dn: {dn}\nchangetype: modify\nreplace: displayName\n"
                    "displayName:: 0J/QvtGB0LvQtQ==\n")             # "После"
    poll(prop_is(env, path, USER, "Nickname", "После"), "Nickname from displayName")
    env.bus.wait_changed(mark, path, USER, {"Nickname": "После"})

    # Locked by another tool, the same way the daemon locks.
    env.ldap.modify(f"dn: {dn}\nchangetype: modify\nadd: objectClass\n"
                    "objectClass: shadowAccount\n-\nadd: shadowExpire\nshadowExpire: 1\n")
    poll(prop_is(env, path, USER, "Locked", True), "Locked after shadowExpire was added")
    env.ldap.modify(f"dn: {dn}\nchangetype: modify\ndelete: shadowExpire\n-\n"
                    "delete: objectClass\nobjectClass: shadowAccount\n")
    poll(prop_is(env, path, USER, "Locked", False), "unlocked after shadowExpire went")

    env.ldap.modify(f"dn: {dn}\nchangetype: modify\ndelete: userPassword\n")
    poll(prop_is(env, path, USER, "HasPassword", False), "HasPassword after the hash went")


def test_user_deleted_beside_disappears(env):
    group_name = env.unique("Left behind ")
    group = env.bus.add_group(group_name)
    name = env.unique("gone")
    path = env.bus.add_user(name, "", group=group)
    assert env.bus.prop(group, GROUP, "Members") == [path]

    mark = env.bus.mark()
    env.ldap.delete(env.ldap.user_dn(name))
    poll(lambda: path not in env.bus.list_users(), f"{path} gone from ListUsers")
    assert found_user(env, name) is None
    assert path not in env.bus.managed_objects()
    assert any(m == "InterfacesRemoved" and b[0] == path for m, _, b in env.bus.signals(mark))
    # The memberUid another tool left behind names no user: it is not shown as a member.
    poll(prop_is(env, group, GROUP, "Members", []), "Members without the deleted user")


# Groups ---------------------------------------------------------------------------------

def test_group_added_beside_appears(env):
    user = env.unique("joined")
    upath = env.bus.add_user(user, "")
    name = env.unique("Внешняя группа ")
    env.ldap.add(group_ldif(env.ldap, name, 50000, members=[user]))
    path = poll(lambda: found_group(env, name), f"group {name} on D-Bus")
    assert path in env.bus.list_groups()
    poll(prop_is(env, path, GROUP, "Members", [upath]), "Members from memberUid")
    assert env.bus.prop(path, GROUP, "Name") == name
    assert env.bus.prop(upath, USER, "Group") == path


def test_group_renamed_beside_keeps_its_path(env):
    old = env.unique("Old name ")
    path = env.bus.add_group(old)
    user = env.unique("renamer")
    upath = env.bus.add_user(user, "", group=path)
    new = env.unique("Новое имя ")

    # A rename is one modify of the description (the RDN is an identifier).
    env.ldap.modify(f"dn: {env.ldap.group_dn(old)}\nchangetype: modify\n"
                    f"replace: description\ndescription:: {b64(new)}\n")
    poll(prop_is(env, path, GROUP, "Name", new), "Name after the modify")
    assert found_group(env, new) == path
    assert found_group(env, old) is None
    assert path in env.bus.list_groups()
    assert env.bus.prop(path, GROUP, "Members") == [upath]
    assert env.bus.prop(upath, USER, "Group") == path
    # And the daemon keeps working with it under its new DN.
    env.bus.call(upath, USER, "SetGroup", "o", NO_OBJECT)
    assert env.ldap.members(new) == []


def test_group_membership_changed_beside_follows(env):
    name = env.unique("Membership ")
    path = env.bus.add_group(name)
    user = env.unique("moved")
    upath = env.bus.add_user(user, "")
    dn = env.ldap.group_dn(name)

    env.ldap.modify(f"dn: {dn}\nchangetype: modify\nadd: memberUid\nmemberUid: {user}\n")
    poll(prop_is(env, upath, USER, "Group", path), "Group after memberUid was added")
    poll(prop_is(env, path, GROUP, "Members", [upath]), "Members after memberUid was added")

    env.ldap.modify(f"dn: {dn}\nchangetype: modify\ndelete: memberUid\nmemberUid: {user}\n")
    poll(prop_is(env, upath, USER, "Group", NO_OBJECT), "Group after memberUid went")
    poll(prop_is(env, path, GROUP, "Members", []), "Members after memberUid went")


def test_group_deleted_beside_disappears(env):
    name = env.unique("Deleted beside ")
    path = env.bus.add_group(name)
    user = env.unique("orphan")
    upath = env.bus.add_user(user, "", group=path)

    env.ldap.delete(env.ldap.group_dn(name))
    poll(lambda: path not in env.bus.list_groups(), f"{path} gone from ListGroups")
    assert found_group(env, name) is None
    poll(prop_is(env, upath, USER, "Group", NO_OBJECT), "the member's Group after the delete")
    assert upath in env.bus.list_users()


# Restart --------------------------------------------------------------------------------

def snapshot(env):
    """What the daemon publishes: {path: (interface, properties)} for users and groups."""
    out = {}
    for path, ifaces in env.bus.managed_objects().items():
        for iface in (USER, GROUP):
            if iface in ifaces:
                out[path] = (iface, ifaces[iface])
    return out


def test_restart_publishes_existing_entries_before_owning_the_name(env):
    group = env.bus.add_group(env.unique("Survivors "))
    for _ in range(3):
        env.bus.add_user(env.unique("survivor"), "Выживший", group=group)
    loner = env.unique("loner")
    loner_path = env.bus.add_user(loner, "", password="pw")
    before = snapshot(env)

    env.world.daemon.stop()
    # Written while the daemon was away.
    away = env.unique("away")
    env.ldap.add(user_ldif(env.ldap, away, "Пока не было"))
    env.ldap.modify(f"dn: {env.ldap.user_dn(loner)}\nchangetype: modify\n"
                    "replace: displayName\ndisplayName: Renamed while away\n")
    env.world.start_daemon()          # returns once org.calculate.Jabber has an owner

    # No polling: everything must be there as soon as the name is owned.
    after = snapshot(env)
    assert {p["Name"] for i, p in after.values() if i == USER} == set(env.ldap.users())
    assert {p["Name"] for i, p in after.values() if i == GROUP} == set(env.ldap.groups())
    before[loner_path][1]["Nickname"] = "Renamed while away"
    for path, value in before.items():
        assert after.get(path) == value, path            # same paths, same properties
    away_path = env.bus.find_user(away)
    assert after[away_path][1]["Nickname"] == "Пока не было"
    users = [p for p, (i, _) in after.items() if i == USER]
    assert env.bus.list_users() == sorted(users, key=lambda p: after[p][1]["Name"])


def test_restart_built_while_reading_gives_the_same_tree(env):
    """The first load is handed to the main thread in parts while it is read
    (cj-follower.c, LOADING_BATCH entries at a time; two here): the tree is the same as
    when it came whole, groups before their members included."""
    early = env.bus.add_group(env.unique("Early "))
    for _ in range(5):
        env.bus.add_user(env.unique("part"), "Частями", group=early)
    late = env.bus.add_group(env.unique("Late "))
    env.bus.add_user(env.unique("part"), "", password="pw", group=late)
    before = snapshot(env)

    env.world.daemon.stop()
    env.world.start_daemon(wrapper=["env", "CJ_LOADING_BATCH=2"])
    after = snapshot(env)
    assert after == before
    users = [p for p, (i, _) in after.items() if i == USER]
    assert env.bus.list_users() == sorted(users, key=lambda p: after[p][1]["Name"])
    env.world.daemon.stop()
    env.world.start_daemon()


# Groups of the first layout (cn=<name>) ------------------------------------------------------

OLD_NAMES = ["*", "x)(|(cn=*", "back\\slash", "Отдел (Москва)"]


def assert_converted(env, name, uuid, members):
    entry = env.ldap.group(name)
    assert entry is not None, (name, env.ldap.groups().keys())
    assert entry["description"] == [name]
    assert len(entry["cn"]) == 1 and GROUP_ID.match(entry["cn"][0]), entry
    assert entry["dn"] == [f"cn={entry['cn'][0]},{env.ldap.groups_dn}"]
    assert entry["entryuuid"] == uuid                    # modify + modrdn keep the entry
    assert sorted(entry.get("memberuid", [])) == sorted(members)


def test_restart_converts_groups_of_the_first_layout(env):
    # A group the daemon made, put back into the first layout while the daemon is away,
    # and groups another tool wrote in that layout (names that are filter syntax, a stray
    # description and a second cn value among them).
    mine = env.unique("Mine ")
    mine_path = env.bus.add_group(mine)
    member = env.unique("oldmember")
    member_path = env.bus.add_user(member, "", group=mine_path)
    env.world.daemon.stop()
    mine_uuid = env.ldap.group(mine)["entryuuid"]
    env.ldap.modrdn(env.ldap.group_dn(mine), f"cn={escape_dn(mine)}")
    env.ldap.modify(f"dn: {env.ldap.old_group_dn(mine)}\nchangetype: modify\n"
                    "delete: description\n")
    assert env.ldap.group(mine)["cn"] == [mine] and "description" not in env.ldap.group(mine)
    users = {}
    for i, name in enumerate(OLD_NAMES):
        users[name] = env.unique("old")
        env.ldap.add(user_ldif(env.ldap, users[name]))
        extra = "description: a note another tool wrote\ncn: second value\n" if i == 0 else ""
        env.ldap.add(old_group_ldif(env.ldap, name, 51000 + i, members=[users[name]],
                                    extra=extra))
    # Another tool's group named by its gidNumber: the RDN value stays, as posixGroup needs it.
    odd = "Odd (gidNumber RDN)"
    odd_dn = f"gidNumber=53000,{env.ldap.groups_dn}"
    env.ldap.add(f"dn: {odd_dn}\nobjectClass: posixGroup\ncn: {odd}\ngidNumber: 53000\n")
    odd_uuid = env.ldap.group(odd)["entryuuid"]
    uuids = {name: next(iter(env.ldap.search(env.ldap.old_group_dn(name), "(objectClass=*)",
                                             "entryUUID", scope="base").values()))["entryuuid"]
             for name in OLD_NAMES}

    env.world.start_daemon()

    # Converted before the daemon read them: no polling.
    assert_converted(env, mine, mine_uuid, [member])
    assert env.bus.find_group(mine) == mine_path             # the same object
    assert env.bus.prop(member_path, USER, "Group") == mine_path
    for name in OLD_NAMES:
        assert_converted(env, name, uuids[name], [users[name]])
        path = env.bus.find_group(name)
        assert env.bus.prop(path, GROUP, "Name") == name
        assert env.bus.prop(path, GROUP, "Members") == [env.bus.find_user(users[name])]
    assert_converted(env, odd, odd_uuid, [])
    assert env.ldap.group(odd)["gidnumber"] == ["53000"]
    assert env.bus.prop(env.bus.find_group(odd), GROUP, "Name") == odd
    assert "converted 6 groups" in env.world.daemon.log()


def test_setup_ldap_converts_a_group_written_in_the_first_layout(env):
    name = env.unique("Written later (old) ")
    env.ldap.add(old_group_ldif(env.ldap, name, 52000))
    uuid = env.ldap.group(name)["entryuuid"]
    path = poll(lambda: found_group(env, name), f"group {name} on D-Bus")  # read by its cn

    report = env.bus.setup_ldap()
    assert "Converted 1 group to the new layout (cn=identifier, the name in description)" \
        in report, report
    assert_converted(env, name, uuid, [])
    poll(lambda: found_group(env, name) == path, "the same object after the conversion")
    assert env.bus.prop(path, GROUP, "Name") == name
    assert not any("Converted" in line for line in env.bus.setup_ldap())   # idempotent
