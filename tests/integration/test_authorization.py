"""The polkit gate with the real polkitd, the shipped .policy and test rules, callers that
are not root (uid 0 is authorized by polkitd before any rule runs).

Server.Reload() is the probe: authorized on a fresh daemon it fails with NotConfigured,
refused it fails with PermissionDenied."""

import pytest

from harness import client, polkit

DENIED = client.ERROR + "PermissionDenied"
AUTHORIZED = client.ERROR + "NotConfigured"


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap="database", polkit="real")


@pytest.fixture
def rules(world):
    """Sets the rules for one test, back to none (the shipped defaults) afterwards."""
    def set_rules(text):
        world.polkit.set_rules(text)
    yield set_rules
    world.polkit.set_rules("")
    world.polkit.set_pam("permit")


def test_shipped_defaults_refuse_other_users(world):
    # allow_any is auth_admin: without an agent that is a challenge, hence refused.
    r = client.reload(user="nobody")
    assert r.error == DENIED, r


def test_root_is_authorized(world, rules):
    rules(polkit.rule("NO"))
    r = client.reload()
    assert r.error == AUTHORIZED, r


@pytest.mark.parametrize("user", ["nobody", "daemon"])
def test_allowed(rules, user):
    rules(polkit.rule("YES", users=[user]))
    r = client.reload(user=user)
    assert r.error == AUTHORIZED, r


def test_allowed_for_one_user_only(rules):
    rules(polkit.rule("YES", users=["nobody"]))
    assert client.reload(user="nobody").error == AUTHORIZED
    assert client.reload(user="daemon").error == DENIED


@pytest.mark.parametrize("user", ["nobody", "bin"])
def test_denied(rules, user):
    rules(polkit.rule("NO"))
    r = client.reload(user=user)
    assert r.error == DENIED, r


def test_rule_for_another_action_does_not_apply(rules):
    rules(polkit.rule("YES", actions=["org.calculate.jabber.manage-users"]))
    assert client.reload(user="nobody").error == DENIED


def test_auth_required_without_agent(rules):
    rules(polkit.rule("AUTH_ADMIN"))
    r = client.reload(user="nobody")
    assert r.error == DENIED, r
    # Allowed to interact, but no agent is registered: still a challenge, still refused.
    r = client.reload(user="nobody", interactive=True)
    assert r.error == DENIED, r


def test_reading_needs_no_authorization(rules):
    rules(polkit.rule("NO"))
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "ListUsers", user="nobody")
    assert r.error != DENIED, r
    r = client.call(client.SERVER_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s",
                    f"('{client.SERVER_IFACE}',)", user="nobody")
    assert r.ok, r


def test_interactive_agent_authenticates(world, rules):
    rules(polkit.rule("AUTH_ADMIN"))
    world.polkit.set_pam("permit")
    out = client.busctl_with_agent("nobody", client.SERVER_PATH, client.SERVER_IFACE,
                                   "Reload")
    assert "AUTHENTICATION COMPLETE" in out.stdout, out.stdout
    # The same flow through GIO, to see the error name: authorized, so NotConfigured.
    reply, transcript = client.call_with_agent("nobody", client.SERVER_PATH,
                                               client.SERVER_IFACE, "Reload")
    assert reply.error == AUTHORIZED, transcript


def test_interactive_agent_failed_authentication(world, rules):
    rules(polkit.rule("AUTH_ADMIN"))
    world.polkit.set_pam("deny")
    out = client.busctl_with_agent("nobody", client.SERVER_PATH, client.SERVER_IFACE,
                                   "Reload")
    assert "AUTHENTICATION FAILED" in out.stdout, out.stdout
    assert out.returncode != 0
    reply, transcript = client.call_with_agent("nobody", client.SERVER_PATH,
                                               client.SERVER_IFACE, "Reload")
    assert reply.error == DENIED, transcript


def test_non_interactive_call_does_not_prompt(world, rules):
    """Without the allow-interactive flag the agent is never asked, even if one runs."""
    rules(polkit.rule("AUTH_ADMIN"))
    out = client.with_agent("nobody", ["gdbus", "call", "--system", "-d", client.SERVICE,
                                       "-o", client.SERVER_PATH, "-m",
                                       client.SERVER_IFACE + ".Reload"])
    assert "AUTHENTICATING" not in out.stdout, out.stdout
    assert "PermissionDenied" in out.stdout, out.stdout
