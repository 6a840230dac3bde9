"""End to end, the administrator is protected (issue 10): ejabberd set up through the CLI as
the manual says, the help desk delegated as docs/operations.md recommends (manage-users and
manage-groups, not setup), and a real XMPP client. The escalation the issue describes —
the help desk sets the administrator's password, then logs in over XMPP as the Jabber
administrator — ends at the first step: PermissionDenied, and ejabberd still takes only the
administrator's own password. The help desk's own work on ordinary accounts reaches
ejabberd as before."""

import pytest

from harness import client, e2e

USER = "org.calculate.Jabber.User"
DENIED = client.ERROR + "PermissionDenied"
HELPDESK = "nobody"
RULE = """
polkit.addRule(function (action, subject) {
    if ((action.id === "org.calculate.jabber.manage-users" ||
         action.id === "org.calculate.jabber.manage-groups") &&
        subject.isInGroup("nogroup")) {
        return polkit.Result.YES;
    }
});
"""


@pytest.fixture(scope="module")
def world(make_world):
    w = e2e.cli_world(make_world)
    w.polkit.set_rules(RULE)
    return w


def path_of(name):
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "FindUserByName", "s", f"('{name}',)")
    assert r.ok, r
    return r.reply.split("'")[1]


def test_helpdesk_cannot_take_over_the_administrator(world):
    admin = path_of("admin")
    r = client.call(admin, USER, "SetPassword", "s", "('taken-over',)", user=HELPDESK)
    assert r.error == DENIED, r
    r = client.call(admin, USER, "SetLocked", "b", "(true,)", user=HELPDESK)
    assert r.error == DENIED, r
    r = client.call(admin, USER, "Delete", user=HELPDESK)
    assert r.error == DENIED, r
    assert e2e.try_login(world, "admin", "taken-over") == "auth-failed"
    assert e2e.try_login(world, "admin", e2e.ADMIN_PASSWORD) == "ok"


def test_helpdesk_still_manages_ordinary_accounts(world):
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "AddUser", "ssa{sv}",
                    "('desk1', 'Desk', {'password': <'first'>})", user=HELPDESK)
    assert r.ok, r
    assert e2e.try_login(world, "desk1", "first") == "ok"
    desk1 = path_of("desk1")
    assert client.call(desk1, USER, "SetPassword", "s", "('second',)", user=HELPDESK).ok
    assert e2e.try_login(world, "desk1", "second") == "ok"
    assert client.call(desk1, USER, "SetLocked", "b", "(true,)", user=HELPDESK).ok
    assert e2e.try_login(world, "desk1", "second") == "auth-failed"
