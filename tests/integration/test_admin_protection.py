"""The administrator is protected (service/cj-admin.h): with the delegation docs/operations.md
recommends — a help desk granted manage-users and manage-groups, not setup — the help desk
manages ordinary accounts, but every change to the account ejabberd treats as its
administrator (admin) is refused with PermissionDenied, and LDAP keeps the administrator's
password, lock and existence. Tested with the real polkitd and the docs' rule."""

import os
import re

import pytest

from harness import client
from helpers_directory import Directory

DENIED = client.ERROR + "PermissionDenied"
MANAGER = client.MANAGER_IFACE
MANAGER_PATH = client.MANAGER_PATH
USER = "org.calculate.Jabber.User"
GROUP = "org.calculate.Jabber.Group"
HELPDESK = "nobody"              # in the Unix group nogroup
ADMIN_PASSWORD = "admin-secret"

# docs/operations.md, "Delegate rights with polkit rules": the help desk's rule, for the
# group nobody is in, answering YES (no agent here to type a password to).
DOCS_RULE = """
polkit.addRule(function (action, subject) {
    if ((action.id === "org.calculate.jabber.manage-users" ||
         action.id === "org.calculate.jabber.manage-groups") &&
        subject.isInGroup("nogroup")) {
        return polkit.Result.YES;
    }
});
"""


def docs_rule():
    """The help desk's rule as docs/operations.md prints it, for the group nobody is in."""
    with open(os.path.join(os.environ.get("SOURCEDIR", "."), "docs", "operations.md")) as f:
        text = f.read()
    block = text.split("Let a help desk group manage accounts", 1)[1]
    code = re.search(r"\n\n((?:    .*\n)+)", block).group(1)
    rule = "\n".join(line[4:] for line in code.splitlines())
    assert "AUTH_SELF_KEEP" in rule and '"helpdesk"' in rule, rule
    return rule.replace('"helpdesk"', '"nogroup"')


def path_of(r):
    assert r.ok, r
    return r.reply.split("'")[1]


def as_root(*args):
    r = client.call(*args)
    assert r.ok, r
    return r


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="database", polkit="real", ejabberd=False, rules=DOCS_RULE)
    as_root(client.SERVER_PATH, client.SERVER_IFACE, "SetupLdap", "a{sv}", "({},)")
    w.admin = path_of(client.call(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                                  f"('admin', 'Administrator', {{'password': <'{ADMIN_PASSWORD}'>}})"))
    w.alice = path_of(client.call(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                                  "('alice', 'Alice', {'password': <'alice-pw'>})"))
    w.staff = path_of(client.call(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", "('Staff', {})"))
    w.ldap = Directory(w.slapd)
    return w


def helpdesk(*args):
    return client.call(*args, user=HELPDESK)


def admin_unchanged(world):
    entry = world.ldap.user("admin")
    assert entry is not None, "the administrator's account was deleted"
    assert world.ldap.bind(world.ldap.user_dn("admin"), ADMIN_PASSWORD), "its password changed"
    assert world.ldap.matches_login_filter("admin"), "it was locked"
    assert entry["sn"] == ["Administrator"]
    assert "admin" not in world.ldap.memberships()


def test_helpdesk_manages_ordinary_accounts(world):
    r = helpdesk(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", "('bob', 'Bob', {'password': <'b'>})")
    assert r.ok, r
    assert helpdesk(world.alice, USER, "SetPassword", "s", "('new-alice',)").ok
    assert world.ldap.bind(world.ldap.user_dn("alice"), "new-alice")
    assert helpdesk(world.alice, USER, "SetLocked", "b", "(true,)").ok
    assert not world.ldap.matches_login_filter("alice")
    assert helpdesk(world.alice, USER, "SetLocked", "b", "(false,)").ok
    assert helpdesk(world.alice, USER, "SetNickname", "s", "('Alice B',)").ok
    assert helpdesk(world.alice, USER, "SetGroup", "o", f"('{world.staff}',)").ok
    assert world.ldap.members("Staff") == ["alice"]


@pytest.mark.parametrize("method,signature,args", [
    ("SetPassword", "s", "('taken-over',)"),
    ("SetLocked", "b", "(true,)"),
    ("SetNickname", "s", "('Not the admin',)"),
    ("ClearPhoto", "", None),
    ("SetGroup", "o", None),             # filled in: the Staff group
    ("Delete", "", None),
])
def test_helpdesk_is_refused_the_administrator(world, method, signature, args):
    if method == "SetGroup":
        args = f"('{world.staff}',)"
    r = helpdesk(world.admin, USER, method, signature, args)
    assert r.error == DENIED, r
    admin_unchanged(world)


def test_helpdesk_cannot_move_the_administrator_through_groups(world):
    r = helpdesk(world.staff, GROUP, "AddMembers", "ao", f"(['{world.admin}'],)")
    assert r.error == DENIED, r
    r = helpdesk(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}",
                 f"('Admins', {{'members': <[objectpath '{world.admin}']>}})")
    assert r.error == DENIED, r
    assert world.ldap.group("Admins") is None
    admin_unchanged(world)
    # A group without the administrator stays the help desk's business.
    r = helpdesk(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}",
                 f"('Desk', {{'members': <[objectpath '{world.alice}']>}})")
    assert r.ok, r


def test_helpdesk_cannot_reach_the_administrator_through_modify(world):
    """The one-call methods (User.Modify, Group.Modify) are held to the same rule."""
    r = helpdesk(world.admin, USER, "Modify", "a{sv}", "({'password': <'taken-over'>},)")
    assert r.error == DENIED, r
    r = helpdesk(world.admin, USER, "Modify", "a{sv}", f"({{'group': <objectpath '{world.staff}'>}},)")
    assert r.error == DENIED, r
    r = helpdesk(world.staff, GROUP, "Modify", "a{sv}",
                 f"({{'add-members': <[objectpath '{world.admin}']>}},)")
    assert r.error == DENIED, r
    admin_unchanged(world)
    r = helpdesk(world.alice, USER, "Modify", "a{sv}", "({'nickname': <'Alice C'>},)")
    assert r.ok, r


def test_the_refusal_is_audited_with_the_stronger_action(world):
    log = world.daemon.log()
    lines = [line for line in log.splitlines()
             if "audit: request by uid=65534" in line and 'target="admin"' in line and "failed" in line]
    assert any("org.calculate.jabber.setup " + USER + ".SetPassword" in line for line in lines), lines


def test_setup_may_change_the_administrator(world):
    # Root holds every action (polkitd authorizes uid 0 before any rule).
    r = client.call(world.admin, USER, "SetNickname", "s", "('Administrator',)")
    assert r.ok, r
    # The help desk given setup too (the docs' jabberadmins rule) may.
    world.polkit.set_rules(DOCS_RULE + """
polkit.addRule(function (action, subject) {
    if (action.id === "org.calculate.jabber.setup" && subject.isInGroup("nogroup"))
        return polkit.Result.YES;
});
""")
    try:
        r = helpdesk(world.admin, USER, "SetLocked", "b", "(true,)")
        assert r.ok, r
        assert not world.ldap.matches_login_filter("admin")
        assert helpdesk(world.admin, USER, "SetLocked", "b", "(false,)").ok
    finally:
        world.polkit.set_rules(DOCS_RULE)


def test_helpdesk_cannot_create_the_administrator(world):
    # Once the account is gone (root deletes it), adding it would choose its password.
    assert client.call(world.admin, USER, "Delete").ok
    r = helpdesk(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                 "('admin', 'Me', {'password': <'mine'>})")
    assert r.error == DENIED, r
    assert world.ldap.user("admin") is None
    # Not even with another case: ejabberd would log it in as admin.
    r = helpdesk(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                 "('Admin', 'Me', {'password': <'mine'>})")
    assert r.error in (DENIED, client.ERROR + "InvalidArgument"), r
    assert world.ldap.user("admin") is None and world.ldap.user("Admin") is None


def test_the_docs_rule_as_printed(world):
    """The docs' rule itself (AUTH_SELF_KEEP: the help desk types its own password to an
    agent): ordinary accounts after the help desk's own password; the administrator's
    account asks for org.calculate.jabber.setup, i.e. an administrator's password (the
    .policy's auth_admin), which the help desk does not have (PAM says no)."""
    world.polkit.set_rules(docs_rule())
    try:
        reply, transcript = client.call_with_agent(HELPDESK, world.alice, USER, "SetNickname", "s",
                                                   "('Alice C',)")
        assert reply.ok, transcript
        assert "org.calculate.jabber.manage-users" in transcript, transcript
        assert "Authenticating as: root" not in transcript, transcript
        admin = client.call(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}",
                            f"('admin', 'Administrator', {{'password': <'{ADMIN_PASSWORD}'>}})")
        assert admin.ok, admin
        world.polkit.set_pam("deny")
        reply, transcript = client.call_with_agent(HELPDESK, path_of(admin), USER, "SetPassword",
                                                   "s", "('taken-over',)")
        assert reply.error == DENIED, transcript
        assert "org.calculate.jabber.setup" in transcript, transcript
        assert "Authenticating as: root" in transcript, transcript
        admin_unchanged(world)
    finally:
        world.polkit.set_pam("permit")
        world.polkit.set_rules(DOCS_RULE)
