"""The harness's private ejabberd and XMPP client on their own, without the daemon's setup:
a hand-written ejabberd.yml of the shape docs/ldap-layout.md describes, directory entries
written with ldapadd, ejabberd (re)started by the same restart script the daemon runs as
its RestartCommand, and a real client (slixmpp) against it. If these fail, the other
test_e2e_* files cannot say anything about the daemon."""

import os
import socket
import subprocess

import pytest

from conftest import start_world, stop_world

from harness import ejabberd as ej
from harness import e2e, ldap, namespace, xmpp

HOST = namespace.HOSTNAME
EXTRA = "jabber.myhost.ru"
BOT_PASSWORD = "ejabberd-bind-pw"


def _entries(base):
    jab = f"ou=Jabber,ou=Services,{base}"
    users = [("alice", "Алиса", "alice-pw"), ("bob", "Боб", "bob-pw"),
             ("carol", "Кэрол", "carol-pw")]
    out = [f"dn: ou=Services,{base}\nobjectClass: organizationalUnit\nou: Services\n",
           f"dn: {jab}\nobjectClass: organizationalUnit\nou: Jabber\n",
           f"dn: ou=Users,{jab}\nobjectClass: organizationalUnit\nou: Users\n",
           f"dn: ou=Groups,{jab}\nobjectClass: organizationalUnit\nou: Groups\n",
           f"dn: cn=ejabberd,{jab}\nobjectClass: organizationalRole\n"
           f"objectClass: simpleSecurityObject\ncn: ejabberd\n"
           f"userPassword: {ldap.ssha(BOT_PASSWORD)}\n"]
    for uid, nick, pw in users:
        out.append(f"dn: uid={uid},ou=Users,{jab}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                   f"cn: {uid}\nsn: {nick}\ndisplayName: {nick}\n"
                   f"userPassword: {ldap.ssha(pw)}\n")
    # Groups as docs/ldap-layout.md has them: the cn an identifier, the name the description.
    out.append(f"dn: cn=g00000000000003e8,ou=Groups,{jab}\nobjectClass: posixGroup\n"
               f"cn: g00000000000003e8\ngidNumber: 1000\ndescription: Отдел продаж\n"
               f"memberUid: alice\nmemberUid: bob\n")
    out.append(f"dn: cn=g00000000000003e9,ou=Groups,{jab}\nobjectClass: posixGroup\n"
               f"cn: g00000000000003e9\ngidNumber: 1001\ndescription: Бухгалтерия\n"
               f"memberUid: carol\n")
    return "\n".join(out), jab


@pytest.fixture(scope="module")
def world(make_world):
    xmpp.quiet()
    w = make_world(ldap="database", polkit=None, daemon=False)
    ldif, jab = _entries(w.slapd.base_dn)
    r = subprocess.run(["ldapadd", "-x", "-H", w.slapd.uri, "-D", w.slapd.admin_dn, "-y",
                        w.slapd.admin_password_file], input=ldif, text=True,
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    e = w.ejabberd
    ej.self_signed(e.certificate_file, HOST)
    e.write_config(ej.minimal_config(e, [HOST, EXTRA], w.slapd.base_dn, f"cn=ejabberd,{jab}",
                                     BOT_PASSWORD, history=True))
    r = e.restart()
    assert r.returncode == 0, r.stdout + r.stderr
    return w


def test_files_and_ownership(world):
    e = world.ejabberd
    cfg = open(os.path.join(e.etc, "ejabberdctl.cfg")).read()
    assert f"ERL_DIST_PORT={e.dist_port}" in cfg
    assert "ERLANG_NODE=" in cfg and "-setcookie" in cfg
    st = os.stat(e.etc)
    assert st.st_uid == 0 and oct(st.st_mode & 0o777) == "0o750"
    keys = world.daemon_config()["Ejabberd"]
    assert keys["RestartCommand"] == e.restart_script
    assert keys["ControlCommand"].startswith("/usr/sbin/ejabberdctl --config-dir " + e.etc)
    assert keys["ClientPort"] == e.client_port
    assert keys["LdapPort"] == world.slapd.port
    assert world.daemon_config()["Directory"]["DatabaseDirectory"].startswith(world.top)


def test_status_and_no_epmd(world):
    r = world.ejabberd.ctl("status")
    assert r.returncode == 0 and "started" in r.stdout, r.stdout + r.stderr
    # Distribution on our own port, no epmd anywhere in the world.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 4369), timeout=2).close()


def test_login_and_wrong_password(world):
    assert e2e.try_login(world, "alice", "alice-pw") == "ok"
    assert e2e.try_login(world, "alice", "wrong") == "auth-failed"
    assert e2e.try_login(world, "nobody-here", "x") == "auth-failed"
    assert e2e.try_login(world, "alice", "alice-pw", host=EXTRA) == "ok"


def test_roster_groups_in_cyrillic(world):
    groups = {"Отдел продаж": ["alice", "bob"], "Бухгалтерия": ["carol"]}
    for viewer, pw in (("alice", "alice-pw"), ("carol", "carol-pw")):
        with e2e.login(world, viewer, pw) as s:
            assert s.roster() == e2e.expected_roster(groups, viewer)
    with e2e.login(world, "alice", "alice-pw") as s:
        assert s.roster_names()[e2e.jid("bob")] == "Боб"


def test_vcard(world):
    with e2e.login(world, "alice", "alice-pw") as s:
        v = s.vcard(e2e.jid("bob"))
    assert v.nickname == "Боб"
    assert v.photo == b""


def test_kick_ends_the_session(world):
    with e2e.login(world, "bob", "bob-pw") as s:
        assert s.ping()
        r = world.ejabberd.ctl("kick_user", "bob", HOST)
        assert r.returncode == 0, r.stdout + r.stderr
        assert s.wait_disconnected(e2e.DEADLINE)


def test_history(world):
    with e2e.login(world, "alice", "alice-pw") as a, e2e.login(world, "bob", "bob-pw") as b:
        a.send(e2e.jid("bob"), "проверка истории")
        e2e.poll(lambda: ("alice@" + HOST, "проверка истории") in b.received(),
                 "bob receives the message")

    def logged():
        for name in world.ejabberd.history_files():
            with open(os.path.join(world.ejabberd.history, name), errors="replace") as f:
                if "проверка истории" in f.read():
                    return name
        return None
    name = e2e.poll(logged, "the message under the history directory")
    assert "alice@" + HOST in name and "bob@" + HOST in name


def test_restart_script_reports_a_bad_config(world):
    e = world.ejabberd
    good = open(e.config_file).read()
    try:
        e.write_config(good + "\nthis is: [not valid\n")
        r = e.restart()
        assert r.returncode != 0
        assert r.stderr.strip(), "no reason given on stderr"
        assert not e.running()
    finally:
        e.write_config(good)
        r = e.restart()
    assert r.returncode == 0, r.stderr
    assert e2e.try_login(world, "alice", "alice-pw") == "ok"


def test_stop_leaves_nothing():
    w = start_world(ldap="database", polkit=None, daemon=False)
    e = w.ejabberd
    ej.self_signed(e.certificate_file, HOST)
    e.write_config(ej.minimal_config(e, [HOST], w.slapd.base_dn, "cn=x", "y"))
    assert e.restart().returncode == 0
    assert e.running()
    spool = e.spool
    stop_world(w)
    assert not ej.beam_pids(spool)
