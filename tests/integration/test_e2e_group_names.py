"""End to end (issue 10, item 4): group names that are LDAP filter syntax.

ejabberd's mod_shared_roster_ldap pastes a group's cn into its group filter without
escaping it (ldap_gfilter "(&(objectClass=posixGroup)(cn=%g))"). When the cn was the name,
groups named `*`, `a*`, `back\\slash`, `(paren)` corrupted every user's roster (members
under the wrong group, one group listed three times). Now the cn is an identifier the
daemon makes and the name is the description: each group shows exactly its members under
exactly its name, in every user's roster, with a real XMPP client (slixmpp).

Also: groups of the first layout (cn=<name>, written by hand the way an older daemon did)
do not reach ejabberd's filter before they are converted, and show correctly after
`cl-setup ldap` converts them; and an upgrade (groups and ejabberd's configuration as an
older version left them) is fixed by the daemon's start alone. One world for the file; the
tests build on each other."""

import subprocess

import pytest

from harness import e2e
from helpers_directory import Directory, old_group_ldif, user_ldif
from helpers_directory import _escape_dn_value as escape_dn

NAMES = ["*", "a*", "x)(|(cn=*", "back\\slash", "(paren)", "Отдел (Москва)", "Staff"]
OLD_NAMES = ["old)(|(cn=*", "(старая) *"]
PASSWORD = "Member-pw-1"


def member(i):
    return f"member{i}"


@pytest.fixture(scope="module")
def world(make_world):
    w = e2e.cli_world(make_world)
    cli = w.cli
    w.groups = {}
    for i, name in enumerate(NAMES):
        cli.groupadd(name)
        w.groups[name] = [member(i)]
        cli.useradd(member(i), PASSWORD, "-g", name)
    w.groups["Staff"].append("staff2")               # Staff: two members
    cli.useradd("staff2", PASSWORD, "-g", "Staff")
    cli.useradd("loner", PASSWORD)                   # in no group: sees every group
    return w


def viewers(world):
    return sorted({m for members in world.groups.values() for m in members} | {"loner"})


def check(world, what):
    for viewer in viewers(world):
        e2e.roster_after_reconnect(world, viewer, PASSWORD,
                                   e2e.expected_roster(world.groups, viewer),
                                   f"{what}: {viewer}'s roster")


def test_each_group_shows_exactly_its_members_under_its_name(world):
    check(world, "groups named like filters")


def test_renamed_group_still_shows_exactly_its_members(world):
    world.cli.groupmod("a*", "-n", "b*)(")
    world.groups["b*)("] = world.groups.pop("a*")
    check(world, "after renaming a* to b*)(")


def test_first_layout_groups_show_after_cl_setup_ldap_converts_them(world):
    directory = Directory(world.slapd)
    ldif = []
    for i, name in enumerate(OLD_NAMES):
        user = f"old{i}"
        ldif.append(user_ldif(directory, user) + "userPassword: " + PASSWORD + "\n")
        ldif.append(old_group_ldif(directory, name, 60000 + i, members=[user]))
    r = subprocess.run(["ldapadd", "-Q", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri],
                       input="\n".join(ldif), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    # Not converted yet (the daemon converts when it connects, and at cl-setup ldap):
    # ejabberd's roster filter wants a description, so their cn reaches no filter and
    # everybody else's roster stays right.
    check(world, "with two unconverted groups in the directory")

    out = world.cli.setup_ldap()
    assert "Converted 2 groups to the new layout" in out, out
    for i, name in enumerate(OLD_NAMES):
        world.groups[name] = [f"old{i}"]
    check(world, "after cl-setup ldap converted them")


def test_upgrade_from_the_first_layout_fixes_rosters_without_a_command(world):
    """What an older version left: groups as cn=<name> and ejabberd told ldap_groupdesc: cn
    (a configuration it rendered). The new daemon converts the groups when it connects and
    renders ejabberd's configuration again once it has loaded them: rosters are right
    without anybody running cl-setup."""
    directory = Directory(world.slapd)
    world.daemon.stop()
    for name in ("*", "Staff", "Отдел (Москва)"):
        dn = directory.group_dn(name)
        directory.modrdn(dn, "cn=" + escape_dn(name))
        directory.modify(f"dn: {directory.old_group_dn(name)}\nchangetype: modify\n"
                         "delete: description\n")
    e = world.ejabberd
    with open(e.config_file) as f:
        text = f.read()
    old = (text.replace('ldap_rfilter: "(&(objectClass=posixGroup)(description=*))"',
                        'ldap_rfilter: "(objectClass=posixGroup)"')
               .replace("ldap_groupdesc: description", "ldap_groupdesc: cn"))
    assert old != text
    e.write_config(old)
    e.restart()

    world.start_daemon()
    e2e.poll(lambda: "rendered ejabberd's configuration again" in world.daemon.log(),
             "the daemon rendering ejabberd's configuration again", timeout=120)
    with open(e.config_file) as f:
        assert "ldap_groupdesc: description" in f.read()
    for name in ("*", "Staff", "Отдел (Москва)"):
        assert directory.group(name)["description"] == [name]
    check(world, "after the upgrade")
