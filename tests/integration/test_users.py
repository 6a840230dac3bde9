"""Jabber users (issue 3) through the real daemon against the real slapd: the LDAP entry
each call leaves (checked with ldapsearch/ldapwhoami, as ejabberd would see it), the D-Bus
objects and signals, every error case with LDAP unchanged afterwards, and a caller without
authorization changing nothing."""

import pytest
from gi.repository import GLib

from harness import client, polkit
from helpers_directory import (ERROR, MANAGER, MANAGER_PATH, NO_OBJECT, USER, DBusError, poll,
                               properties_changed)

INVALID = ERROR + "InvalidArgument"


@pytest.fixture
def unchanged(env):
    """Asserts that LDAP's Jabber subtree is exactly as it was when the test started."""
    before = env.ldap.dump()
    yield
    assert env.ldap.dump() == before, "LDAP was changed"


def add(env, prefix="user", nickname="", password="pw-1"):
    name = env.unique(prefix)
    return name, env.bus.add_user(name, nickname, password)


# SetupLdap ------------------------------------------------------------------------------

def test_setup_ldap_creates_the_subtree_once(env):
    b = env.ldap.base
    ous = [f"ou=Services,{b}", f"ou=Jabber,ou=Services,{b}",
           f"ou=Users,ou=Jabber,ou=Services,{b}", f"ou=Groups,ou=Jabber,ou=Services,{b}"]
    # Before: not configured, and a user cannot be added.
    assert env.before_setup["LdapConfigured"] is False
    assert env.before_setup["AddUser"] == ERROR + "NotConfigured"
    assert env.before_setup["dump"] == {}
    created = [f"Created {dn}" for dn in ous]
    assert [line for line in env.first_report if line in created] == created, \
        env.first_report
    for dn in ous:
        entry = env.ldap.search(dn, "(objectClass=*)", scope="base")[dn]
        assert "organizationalUnit" in entry["objectclass"]
    # Again: every part "exists already", nothing is created or written.
    for dn in ous:
        assert f"{dn} exists already" in env.second_report, env.second_report
    assert not [line for line in env.second_report if line.startswith("Created")], \
        env.second_report
    assert env.before_setup["dump_after_second"] == env.before_setup["dump_after_first"]
    assert env.bus.server_props()["LdapConfigured"] is True


# AddUser --------------------------------------------------------------------------------

def test_add_user_entry_and_object(env):
    password = "s3cret Пароль"
    host = env.primary_host()
    assert host
    path, signals = env.bus.call_observed(
        MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", "guest", "Гость",
        {"password": GLib.Variant("s", password)})

    # The object was exported before the reply, with every property.
    added = [body for member, _, body in signals if member == "InterfacesAdded"]
    assert any(p == path and USER in ifaces for p, ifaces in added), signals
    expected = {"Name": "guest", "Jid": f"guest@{host}", "Nickname": "Гость",
                "Locked": False, "HasPassword": True, "Group": NO_OBJECT, "HasPhoto": False}
    assert env.bus.user_props(path) == expected
    assert env.bus.managed_objects()[path] == {USER: expected}
    assert path in env.bus.list_users()
    assert env.bus.find_user("guest") == path
    assert env.bus.find_user(f"guest@{host}") == path

    # The entry, in the shape ejabberd reads.
    dn = env.ldap.user_dn("guest")
    entry = env.ldap.search(dn, "(objectClass=*)", "*", scope="base")[dn]
    assert "inetOrgPerson" in entry["objectclass"]
    assert "shadowAccount" not in entry["objectclass"]
    assert entry["uid"] == ["guest"]
    assert entry["cn"] == ["guest"]
    assert entry["sn"] == ["Гость"]
    assert entry["displayname"] == ["Гость"]
    assert entry["mail"] == [f"guest@{host}"]
    assert "shadowexpire" not in entry
    [hashed] = entry["userpassword"]
    assert hashed.startswith("{CRYPT}$y$"), hashed
    assert password not in hashed

    # The clear password is nowhere in the directory.
    for attrs in env.ldap.dump().values():
        for values in attrs.values():
            assert not any(isinstance(v, str) and password in v for v in values)

    # ejabberd's bind works with the password, and only with it.
    assert env.ldap.bind(dn, password)
    assert not env.ldap.bind(dn, password + "x")
    assert env.ldap.matches_login_filter("guest")

    # The counts follow.
    assert env.bus.server_props()["UserCount"] == len(env.ldap.users())


def test_add_user_without_password_or_nickname(env):
    name = env.unique("bare")
    path = env.bus.add_user(name, "")
    entry = env.ldap.user(name)
    assert entry["sn"] == [name]                  # sn is required: the name stands in
    assert "displayname" not in entry
    assert "userpassword" not in entry
    props = env.bus.user_props(path)
    assert props["HasPassword"] is False
    assert props["Nickname"] == name


@pytest.mark.parametrize("name", ["x" * 64, "a.b-c_d", "user123", "0day", "_svc"],
                         ids=["64-bytes", "punctuation", "digits", "leading-digit",
                              "leading-underscore"])
def test_add_user_accepts_valid_names(env, name):
    path = env.bus.add_user(name, "", password="pw")
    assert env.bus.find_user(name) == path
    assert env.ldap.user(name)["uid"] == [name]
    assert env.ldap.bind(env.ldap.user_dn(name), "pw")


def test_add_user_nickname_limits(env):
    name = env.unique("nick")
    nickname = "я" * 128                      # 128 characters, 256 bytes: allowed
    path = env.bus.add_user(name, nickname)
    assert env.ldap.user(name)["displayname"] == [nickname]
    assert env.bus.prop(path, USER, "Nickname") == nickname


# Changing a user ------------------------------------------------------------------------

def test_set_password(env):
    name, path = add(env, "pass", password="old-password")
    dn = env.ldap.user_dn(name)
    old_hash = env.ldap.user(name)["userpassword"]
    env.bus.call(path, USER, "SetPassword", "s", "new Пароль")
    [hashed] = env.ldap.user(name)["userpassword"]
    assert hashed.startswith("{CRYPT}$y$") and "new Пароль" not in hashed
    assert [hashed] != old_hash
    assert env.ldap.bind(dn, "new Пароль")
    assert not env.ldap.bind(dn, "old-password")


def test_set_password_on_a_user_without_one(env):
    name = env.unique("late")
    path = env.bus.add_user(name, "")
    mark = env.bus.mark()
    env.bus.call(path, USER, "SetPassword", "s", "first")
    env.bus.wait_changed(mark, path, USER, {"HasPassword": True})
    assert env.bus.prop(path, USER, "HasPassword") is True
    assert env.ldap.bind(env.ldap.user_dn(name), "first")


def test_lock_and_unlock(env):
    name, path = add(env, "lock")
    assert env.ldap.matches_login_filter(name)

    mark = env.bus.mark()
    env.bus.call(path, USER, "SetLocked", "b", True)
    env.bus.wait_changed(mark, path, USER, {"Locked": True})
    entry = env.ldap.user(name)
    assert "shadowAccount" in entry["objectclass"]
    assert entry["shadowexpire"] == ["1"]
    assert not env.ldap.matches_login_filter(name)
    assert env.bus.prop(path, USER, "Locked") is True

    env.bus.call(path, USER, "SetLocked", "b", True)      # again: still locked, no error
    assert not env.ldap.matches_login_filter(name)

    mark = env.bus.mark()
    env.bus.call(path, USER, "SetLocked", "b", False)
    env.bus.wait_changed(mark, path, USER, {"Locked": False})
    entry = env.ldap.user(name)
    assert "shadowAccount" not in entry["objectclass"]
    assert "shadowexpire" not in entry
    assert env.ldap.matches_login_filter(name)
    assert env.bus.prop(path, USER, "Locked") is False
    assert env.ldap.bind(env.ldap.user_dn(name), "pw-1")   # the password survived


def test_lock_and_unlock_what_another_writer_left_half_done(env):
    """The lock is one modify with permissive modify (no read first): an entry another tool
    left with the class but no shadowExpire is locked, one with shadowExpire already gone
    is unlocked, and neither answer is an error."""
    name, path = add(env, "halflock")
    dn = env.ldap.user_dn(name)
    env.ldap.modify(f"dn: {dn}\nchangetype: modify\nadd: objectClass\nobjectClass: shadowAccount\n")
    env.bus.call(path, USER, "SetLocked", "b", True)
    entry = env.ldap.user(name)
    assert entry["objectclass"].count("shadowAccount") == 1
    assert entry["shadowexpire"] == ["1"]
    poll(lambda: env.bus.prop(path, USER, "Locked") is True, "Locked becomes true")

    env.ldap.modify(f"dn: {dn}\nchangetype: modify\ndelete: shadowExpire\n")
    env.bus.call(path, USER, "SetLocked", "b", False)
    entry = env.ldap.user(name)
    assert "shadowAccount" not in entry["objectclass"]
    assert "shadowexpire" not in entry
    assert env.ldap.matches_login_filter(name)
    assert env.bus.prop(path, USER, "Locked") is False
    env.bus.call(path, USER, "SetLocked", "b", False)      # again: no error
    env.bus.call(path, USER, "ClearPhoto")                  # none to clear: no error


def test_lock_of_a_user_deleted_meanwhile(env):
    """Without a read before the modify, a user deleted behind the daemon's back is still
    told apart: NotFound, with the user's name."""
    name, path = add(env, "gonelock")
    env.ldap.delete(env.ldap.user_dn(name))
    with pytest.raises(DBusError) as e:
        env.bus.call(path, USER, "SetLocked", "b", True)
    assert e.value.name in (ERROR + "NotFound", "org.freedesktop.DBus.Error.UnknownMethod",
                            "org.freedesktop.DBus.Error.UnknownObject"), e.value
    # The follower may see the deletion between the call's arrival and the gate's verdict:
    # then the object itself is gone ("The object no longer exists", cj-tree.c) — seen once.
    if e.value.name == ERROR + "NotFound":
        assert name in e.value.message or "object no longer exists" in e.value.message, e.value


def test_set_nickname(env):
    name, path = add(env, "nick", nickname="Старый")
    mark = env.bus.mark()
    env.bus.call(path, USER, "SetNickname", "s", "Новый ник")
    env.bus.wait_changed(mark, path, USER, {"Nickname": "Новый ник"})
    entry = env.ldap.user(name)
    assert entry["sn"] == ["Новый ник"]
    assert entry["displayname"] == ["Новый ник"]

    # Empty: back to the name.
    env.bus.call(path, USER, "SetNickname", "s", "")
    entry = env.ldap.user(name)
    assert entry["sn"] == [name]
    assert "displayname" not in entry
    assert env.bus.prop(path, USER, "Nickname") == name


def test_properties_changed_before_the_reply(env):
    """Many calls, so that the race cannot pass by luck (with the bug about half of the
    calls are late: all 48 in time would be a chance of about 1 in 10^12)."""
    name = env.unique("prompt")
    path = env.bus.add_user(name, "")
    late = []
    for i in range(16):
        for method, sig, arg, expected in (
                ("SetNickname", "s", f"Вовремя {i}", {"Nickname": f"Вовремя {i}"}),
                ("SetLocked", "b", i % 2 == 0, {"Locked": i % 2 == 0}),
                ("SetPassword" if i == 0 else "SetNickname", "s", f"pw{i}",
                 {"HasPassword": True} if i == 0 else {"Nickname": f"pw{i}"})):
            _, signals = env.bus.call_observed(path, USER, method, sig, arg)
            if properties_changed(signals, path, USER) != expected:
                late.append((method, arg))
    assert late == [], f"PropertiesChanged came after the reply of {len(late)} of 48 calls"


def test_delete_user(env):
    group = env.bus.add_group(env.unique("Delete group "))
    group_name = env.bus.prop(group, "org.calculate.Jabber.Group", "Name")
    name = env.unique("del")
    other = env.unique("stay")
    path = env.bus.add_user(name, "", password="pw", group=group)
    env.bus.add_user(other, "", group=group)
    assert env.ldap.members(group_name) == sorted([name, other])

    _, signals = env.bus.call_observed(path, USER, "Delete")
    assert any(m == "InterfacesRemoved" and b[0] == path and USER in b[1]
               for m, _, b in signals), signals
    assert env.ldap.user(name) is None
    assert env.ldap.members(group_name) == [other]            # nothing dangling
    assert name not in env.ldap.memberships()
    assert path not in env.bus.list_users()
    assert path not in env.bus.managed_objects()
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "FindUserByName", "s", name) \
        == ERROR + "NotFound"
    assert not env.ldap.bind(env.ldap.user_dn(name), "pw")


# Errors ---------------------------------------------------------------------------------

def test_duplicate_user(env):
    name, _ = add(env, "dup")
    before = env.ldap.dump()
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", name, "Other",
                            {"password": GLib.Variant("s", "other")}) \
        == ERROR + "AlreadyExists"
    assert env.ldap.dump() == before


def test_not_found(env, unchanged):
    notfound = ERROR + "NotFound"
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "FindUserByName", "s", "nosuch") == notfound
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "FindUserByName", "s",
                            "guest@not.served.example") == notfound
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", "orphan", "",
                            {"group": GLib.Variant("o", "/org/calculate/Jabber/Groups/0")}) \
        == notfound


BAD_NAMES = {
    "empty": "", "at": "a@b", "space": "a b", "slash": "a/b", "backslash": "a\\b",
    "quote": '"', "ampersand": "&", "apostrophe": "'", "colon": ":", "less": "<",
    "greater": ">", "tab": "a\tb", "newline": "a\nb", "control": "a\x01b", "del": "a\x7fb",
    "nbsp": "a\u00a0b", "zero-width": "a\u200bb", "dot": ".", "dotdot": "..",
    "65-bytes": "x" * 65, "leading-dot": ".a", "leading-dash": "-a",
    "uppercase": "Guest", "cyrillic": "пётр", "latin-accent": "josé", "plus": "a+b",
    "comma": "a,b", "equals": "a=b", "star": "a*", "parens": "a(b)",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_invalid_user_name(env, unchanged, name):
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", name, "",
                            {"password": GLib.Variant("s", "pw")}) == INVALID


BAD_OPTIONS = {
    "nickname-129": ("x" * 129, {}),
    "nickname-control": ("a\nb", {}),
    "password-empty": ("", {"password": GLib.Variant("s", "")}),
    "password-257": ("", {"password": GLib.Variant("s", "x" * 257)}),
    "unknown-key": ("", {"colour": GLib.Variant("s", "red")}),
    "password-not-string": ("", {"password": GLib.Variant("i", 42)}),
    "group-not-path": ("", {"group": GLib.Variant("s", "Guest group")}),
}


@pytest.mark.parametrize("nickname,options", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_invalid_nickname_password_or_option(env, unchanged, nickname, options):
    name = env.unique("bad")
    assert env.bus.error_of(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", name, nickname,
                            options) == INVALID


def test_password_of_256_bytes_is_accepted(env):
    name, path = add(env, "long", password="p" * 256)
    assert env.ldap.bind(env.ldap.user_dn(name), "p" * 256)


def test_invalid_changes_to_a_user(env):
    name, path = add(env, "keep", nickname="Kept", password="kept-password")
    before = env.ldap.dump()
    for method, sig, arg in (("SetPassword", "s", ""), ("SetPassword", "s", "x" * 257),
                             ("SetNickname", "s", "x" * 129), ("SetNickname", "s", "a\x01b")):
        assert env.bus.error_of(path, USER, method, sig, arg) == INVALID, (method, arg)
        assert env.ldap.dump() == before, (method, arg)
    assert env.ldap.bind(env.ldap.user_dn(name), "kept-password")
    assert env.bus.prop(path, USER, "Nickname") == "Kept"


# Authorization ---------------------------------------------------------------------------

def test_unauthorized_caller_changes_nothing(env):
    name, path = add(env, "victim", nickname="Victim", password="victim-pw")
    group = env.bus.add_group(env.unique("Victims "))
    env.world.polkit.set_rules(polkit.rule("NO", users=["nobody"]))
    try:
        calls = [
            (MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
             "('intruder', 'Intruder', {'password': <'pw'>})"),
            (path, USER, "SetPassword", "s", "('hijacked',)"),
            (path, USER, "SetNickname", "s", "('Hijacked',)"),
            (path, USER, "SetLocked", "b", "(true,)"),
            (path, USER, "SetGroup", "o", f"(objectpath '{group}',)"),
            (path, USER, "ClearPhoto", "", None),
            (path, USER, "Delete", "", None),
        ]
        for call in calls:
            before = env.ldap.dump()
            r = client.call(*call, user="nobody")
            assert r.error == ERROR + "PermissionDenied", (call, r)
            assert env.ldap.dump() == before, call
        # Reading needs no authorization.
        r = client.call(MANAGER_PATH, MANAGER, "FindUserByName", "s", f"('{name}',)",
                        user="nobody")
        assert r.ok and path in r.reply, r
    finally:
        env.world.polkit.set_rules("")
    assert env.ldap.bind(env.ldap.user_dn(name), "victim-pw")
    assert env.bus.user_props(path)["Locked"] is False
    with pytest.raises(DBusError):
        env.bus.find_user("intruder")
