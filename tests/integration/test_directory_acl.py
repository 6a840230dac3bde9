"""The access rules `cl-setup ldap` gives a new database (service/cj-slapd-config.c): a user
binds with his own password but writes nothing, not even his userPassword — only the
daemon's identity (root over ldapi, the rootdn) writes, so every password goes through the
daemon's rules (checks, yescrypt, polkit, audit). A database made by an earlier version,
whose rule let users write their own userPassword, is fixed by running `cl-setup ldap`
again.

Real slapd (the "empty" world: cn=config only, `cl-setup ldap` makes the database)."""

import os
import subprocess

import pytest

from harness import client, e2e

USERS = "ou=Users,ou=Jabber,ou=Services,{base}"
OLD_RULE = "to attrs=userPassword by self write by anonymous auth by * none"


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="empty", polkit="real", ejabberd=False)
    w.cli = e2e.Cli(w)
    w.cli.setup_ldap()
    return w


def user_dn(world, name):
    return f"uid={name}," + USERS.format(base=world.slapd.base_dn)


def as_user(world, name, password, tool, ldif=None):
    """ldapwhoami/ldapmodify bound as the user itself (simple bind over ldap://)."""
    return subprocess.run([tool, "-x", "-H", world.slapd.uri, "-D", user_dn(world, name),
                           "-w", password], input=ldif, capture_output=True, text=True)


def as_root(world, ldif):
    return subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri],
                          input=ldif, capture_output=True, text=True)


def database_dn(world):
    r = world.slapd.search_external("cn=config", "-o", "ldif-wrap=no",
                                    f"(olcSuffix={world.slapd.base_dn})", "dn")
    assert r.returncode == 0, r.stderr
    [dn] = [line[4:] for line in r.stdout.splitlines() if line.startswith("dn: ")]
    return dn


def access_rules(world):
    r = world.slapd.search_external(database_dn(world), "-s", "base", "-o", "ldif-wrap=no",
                                    "(objectClass=*)", "olcAccess")
    assert r.returncode == 0, r.stderr
    return [line[len("olcAccess: "):] for line in r.stdout.splitlines()
            if line.startswith("olcAccess: ")]


def modify_ldif(world, name, attribute, value):
    return (f"dn: {user_dn(world, name)}\nchangetype: modify\nreplace: {attribute}\n"
            f"{attribute}: {value}\n")


def test_user_binds_but_cannot_write_his_password(world):
    world.cli.useradd("alice", "Alice-pw-1", "-c", "Алиса")
    r = as_user(world, "alice", "Alice-pw-1", "ldapwhoami")
    assert r.returncode == 0, r.stderr
    assert user_dn(world, "alice") in r.stdout
    r = as_user(world, "alice", "Alice-pw-1", "ldapmodify",
                modify_ldif(world, "alice", "userPassword", "chosen-by-the-user"))
    assert r.returncode == 50, (r.returncode, r.stdout, r.stderr)   # insufficientAccessRights
    # The stored hash is still the daemon's, and the old password still binds.
    [hashed] = e2e.ldap_attribute(world, "alice", "userPassword")
    assert hashed.startswith(b"{CRYPT}$y$"), hashed
    assert as_user(world, "alice", "Alice-pw-1", "ldapwhoami").returncode == 0
    assert as_user(world, "alice", "chosen-by-the-user", "ldapwhoami").returncode == 49


@pytest.mark.parametrize("attribute,value", [("displayName", "Хакер"), ("shadowExpire", "0"),
                                              ("mail", "x@evil.example"), ("uid", "admin")])
def test_user_cannot_write_anything_else(world, attribute, value):
    r = as_user(world, "alice", "Alice-pw-1", "ldapmodify",
                modify_ldif(world, "alice", attribute, value))
    assert r.returncode == 50, (attribute, r.returncode, r.stdout, r.stderr)


def test_the_daemon_still_changes_the_password(world):
    world.cli.passwd("alice", "Alice-pw-2")
    assert as_user(world, "alice", "Alice-pw-2", "ldapwhoami").returncode == 0
    assert as_user(world, "alice", "Alice-pw-1", "ldapwhoami").returncode == 49


def test_setup_again_fixes_an_older_database(world):
    """The rule earlier versions wrote is replaced in place by a second `cl-setup ldap`;
    the other rules stay as they were."""
    db = database_dn(world)
    rules = access_rules(world)
    assert rules[0] == "{0}to attrs=userPassword by anonymous auth by * none", rules
    r = as_root(world, f"dn: {db}\nchangetype: modify\ndelete: olcAccess\nolcAccess: {rules[0]}\n-\n"
                       f"add: olcAccess\nolcAccess: {{0}}{OLD_RULE}\n")
    assert r.returncode == 0, r.stderr
    assert access_rules(world)[0] == "{0}" + OLD_RULE
    # What the old rule allowed.
    r = as_user(world, "alice", "Alice-pw-2", "ldapmodify",
                modify_ldif(world, "alice", "userPassword", "Alice-pw-3"))
    assert r.returncode == 0, r.stderr
    world.cli.passwd("alice", "Alice-pw-2")

    out = world.cli.setup_ldap()
    assert "password" in out.lower(), out
    after = access_rules(world)
    assert after == [rules[0]] + rules[1:], (rules, after)
    r = as_user(world, "alice", "Alice-pw-2", "ldapmodify",
                modify_ldif(world, "alice", "userPassword", "Alice-pw-3"))
    assert r.returncode == 50, (r.returncode, r.stderr)
    # Once fixed, a third run changes nothing.
    out = world.cli.setup_ldap()
    assert access_rules(world) == after
    assert "password" not in out.lower(), out


# The accesslog database (syncprov's session log source): every write is logged there with
# its values, password hashes among them. Only root reads it.

ACCESSLOG = "cn=accesslog"


def logged_password_changes(output):
    return [line for line in output.replace("\n ", "").splitlines()
            if line.lower().startswith("reqmod: userpassword")]


def test_the_accesslog_holds_the_writes_for_root_only(world):
    world.cli.passwd("alice", "Alice-pw-4")
    r = world.slapd.search_external(ACCESSLOG, "(reqDN=" + user_dn(world, "alice") + ")", "reqMod")
    assert r.returncode == 0, r.stderr
    # What makes it secret: the hashes written are in it.
    assert logged_password_changes(r.stdout), r.stdout[-2000:]

    def as_bind(*bind):
        return subprocess.run(["ldapsearch", "-LLL", "-H", world.slapd.uri, *bind, "-b", ACCESSLOG,
                               "(objectClass=*)", "reqMod"], capture_output=True, text=True)
    secret = os.path.join(world.daemon_config()["Ejabberd"]["StateDirectory"], "ejabberd-ldap.secret")
    ejabberd_dn = "cn=ejabberd,ou=Jabber,ou=Services," + world.slapd.base_dn
    readers = {"anonymous": as_bind("-x"),
               "a user": as_bind("-x", "-D", user_dn(world, "alice"), "-w", "Alice-pw-4"),
               "ejabberd's identity": as_bind("-x", "-D", ejabberd_dn, "-y", secret),
               "another local user over ldapi":
                   client.run(["ldapsearch", "-LLL", "-Q", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri,
                               "-b", ACCESSLOG, "(objectClass=*)", "reqMod"], user="nobody")}
    # The binds themselves work (so "nothing" below is the access rule, not a failed bind).
    assert readers["a user"].returncode in (0, 32), readers["a user"].stderr
    assert readers["ejabberd's identity"].returncode in (0, 32), readers["ejabberd's identity"].stderr
    for who, r in readers.items():
        assert "dn:" not in r.stdout and not logged_password_changes(r.stdout), (who, r.stdout[-2000:])
