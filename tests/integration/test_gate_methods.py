"""Every mutating method of the API (read from dbus-interfaces/*.xml: all but Find*, List*
and GetPhoto), called by a user without authorization, is refused with PermissionDenied.
The arguments are checked before the gate asks polkit (service/cj-arguments.c), nothing is
looked up before it: harmless defaults that pass those checks do."""

import re

import pytest

from conftest import SOURCEDIR
from harness import api, client, polkit

DENIED = client.ERROR + "PermissionDenied"
METHODS = api.methods(SOURCEDIR)
MUTATING = [m for m in METHODS if m.mutating]
OBJECTS = {"org.calculate.Jabber.Manager": "manager", "org.calculate.Jabber.Server": "server",
           "org.calculate.Jabber.User": "user", "org.calculate.Jabber.Group": "group",
           "org.calculate.Jabber.Job": "job"}


def test_api_was_read():
    names = {f"{m.interface}.{m.name}" for m in METHODS}
    assert "org.calculate.Jabber.Server.Reload" in names
    assert all(m.interface in OBJECTS for m in METHODS), METHODS
    assert MUTATING and len(MUTATING) < len(METHODS)


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap="database", polkit="real")


@pytest.fixture(scope="module")
def paths(world):
    """An object path for each kind of object. Users and groups exist only once the
    directory is set up: root (authorized by polkitd without rules) tries to make one of
    each; where that is not possible yet the kind is missing and its tests are skipped."""
    found = {"manager": client.MANAGER_PATH, "server": client.SERVER_PATH}
    notes = {}
    r = client.call(client.SERVER_PATH, client.SERVER_IFACE, "SetupLdap", "a{sv}", "({},)")
    notes["SetupLdap"] = str(r)
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "AddGroup", "sa{sv}",
                    "('gatetest', {})")
    if r.ok:
        found["group"] = _path(r.reply)
    notes["AddGroup"] = str(r)
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "AddUser", "ssa{sv}",
                    "('gatetest', '', {})")
    if r.ok:
        found["user"] = _path(r.reply)
    notes["AddUser"] = str(r)
    # An import of /dev/null (an empty file: the job fails at once) leaves its Job object for
    # a few minutes: enough to call Job.Cancel on.
    r = client.call(client.MANAGER_PATH, client.MANAGER_IFACE, "Import", "ha{sv}")
    if r.ok:
        found["job"] = _path(r.reply)
    notes["Import"] = str(r)
    found["notes"] = notes
    return found


def _path(reply):
    return re.search(r"'(/[^']*)'", reply).group(1)


@pytest.mark.parametrize("method", MUTATING, ids=str)
@pytest.mark.parametrize("rules", ["shipped-defaults", "rule-says-no"])
def test_unauthorized_call_is_refused(world, paths, method, rules):
    kind = OBJECTS[method.interface]
    if kind not in paths:
        pytest.skip(f"no {kind} object exists yet to call {method.name} on (creating one as "
                    f"root gave: {paths['notes']}); the gate is covered on Manager and Server")
    want = "" if rules == "shipped-defaults" else polkit.rule("NO")
    if world.polkit.rules_text != want:
        world.polkit.set_rules(want)
    r = client.call(paths[kind], method.interface, method.name, method.in_signature,
                    user="nobody")
    assert r.error == DENIED, f"{method}: {r}"
