"""`cl-setup ldap` gives syncprov a session log source (issue 14): an accesslog database
beside the Jabber database (service/cj-slapd-accesslog.c). A daemon resuming from its
cookie is then told which entries were deleted ("deletions listed" in its --debug log)
instead of being sent the entryUUID of every unchanged entry ("present phase"): a reconnect
costs what changed, not the size of the directory. Never the in-memory olcSpSessionlog.

The world is the harness's empty slapd with the database as an earlier `cl-setup ldap`
made it (no accesslog), then `cl-setup ldap` run on it: the upgrade. (A new server gets the
same from one run: test_directory_acl.py, test_two_nodes.py.) The daemon talks ldapi as
root. "Away": slapd restarted on another ldapi socket
only (the daemon's socket is gone), changes made there, then slapd back on its own.
test_resume_directory.py covers a resume without a session log (a directory the daemon does
not manage, the present phase). Every wait is a poll with a deadline."""

import os
import re
import subprocess
import urllib.parse

import pytest

from harness import e2e
from helpers_directory import Bus, Directory, poll

ACCESSLOG = "cn=accesslog"
PEERCRED_ROOT = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"


# The database as `cl-setup ldap` made it before the accesslog (data/scale-out/database.ldif
# of that version).
EARLIER_LAYOUT = """dn: olcDatabase={{1}}mdb,cn=config
changetype: add
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {base}
olcDbDirectory: {directory}
olcRootDN: gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth
olcDbMaxSize: 4294967296
olcDbIndex: objectClass eq
olcDbIndex: uid eq,sub
olcDbIndex: cn eq,sub
olcDbIndex: memberUid eq
olcDbIndex: mail eq
olcDbIndex: entryUUID eq
olcDbIndex: entryCSN eq
olcDbIndex: description eq
olcLimits: dn.exact="cn=ejabberd,ou=Jabber,ou=Services,{base}" size=unlimited time=unlimited
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by dn.exact="cn=ejabberd,ou=Jabber,ou=Services,{base}" read by self read by anonymous auth by * none

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
changetype: add
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpCheckpoint: 100 10
"""


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="empty", polkit="real", ejabberd=False)
    w.cli = e2e.Cli(w)
    w.ldap = Directory(w.slapd)
    directory = w.daemon_config()["Directory"]["DatabaseDirectory"]
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ldap_tool("ldapmodify", w.slapd.ldapi_uri,
              EARLIER_LAYOUT.format(base=w.slapd.base_dn, directory=directory))
    w.earlier = slapd_config(w)
    w.first_report = setup_ldap(w)
    w.dbus = Bus()
    w.serial = 0
    return w


def setup_ldap(world):
    """`cl-setup ldap`, and the full reload it asks the daemon for: a reconnect before that
    reload would be one too, not a resume."""
    before = world.daemon.log().count("full reload:")
    out = world.cli.setup_ldap()
    poll(lambda: world.daemon.log().count("full reload:") > before, "the reload after cl-setup ldap",
         timeout=60)
    return out


def unique(world, prefix):
    world.serial += 1
    return f"{prefix}{world.serial}"


def resumed_lines(world):
    return [line for line in world.daemon.log().splitlines() if "resumed with cookie" in line]


def ldap_tool(tool, uri, ldif):
    r = subprocess.run([tool, "-Q", "-Y", "EXTERNAL", "-H", uri], input=ldif, capture_output=True,
                       text=True)
    assert r.returncode == 0, (tool, r.returncode, r.stderr)


def away_from_daemon(world, changes):
    """changes(uri) runs while slapd listens on another ldapi socket only: the daemon lost
    its connection and cannot come back until slapd is on its own socket again. Returns
    the daemon's resume line."""
    slapd = world.slapd
    before = len(resumed_lines(world))
    slapd.stop()
    other = "ldapi://" + urllib.parse.quote(os.path.join(world.top, "ldapi-away"), safe="")
    proc = slapd.processes.start(
        "slapd-away", ["slapd", "-d", "0", "-h", other, "-F", os.path.join(slapd.top, "slapd.d")],
        os.path.join(slapd.top, "..", "slapd-away.log"))

    def answers():
        proc.check_alive()
        return subprocess.run(["ldapsearch", "-Q", "-Y", "EXTERNAL", "-H", other, "-s", "base",
                               "-b", slapd.base_dn, "1.1"], capture_output=True).returncode == 0
    poll(answers, "slapd on the other socket")
    changes(other)
    proc.stop()
    slapd.processes.forget(proc)
    slapd.start()
    poll(lambda: len(resumed_lines(world)) > before, "the daemon resumed", timeout=60)
    return resumed_lines(world)[-1]


def jabber_database(world):
    [dn] = world.ldap.search("cn=config", f"(olcSuffix={world.ldap.base})", "1.1", scope="one")
    return dn


def syncprov(world):
    [(dn, attrs)] = world.ldap.search(jabber_database(world), "(objectClass=olcSyncProvConfig)",
                                      "*", scope="one").items()
    return dn, attrs


def slapd_config(world):
    """Modules, databases and overlays as cn=config has them (user attributes: equal means
    nothing was changed)."""
    return world.ldap.search("cn=config", "(|(objectClass=olcDatabaseConfig)"
                             "(objectClass=olcOverlayConfig)(objectClass=olcModuleList))", "*")


def delete_away(world, name):
    return lambda uri: ldap_tool("ldapdelete", uri, world.ldap.user_dn(name) + "\n")


def test_setup_ldap_makes_the_accesslog_the_session_log_source(world):
    [(_, log_db)] = world.ldap.search("cn=config", f"(olcSuffix={ACCESSLOG})", "*",
                                      scope="one").items()
    database_dir = world.daemon_config()["Directory"]["DatabaseDirectory"]
    assert log_db["olcdbdirectory"] == [database_dir + "-accesslog"], log_db
    assert os.path.isfile(os.path.join(database_dir + "-accesslog", "data.mdb"))
    assert log_db["olcrootdn"] == [PEERCRED_ROOT], log_db
    assert log_db["olcaccess"] == [f'{{0}}to * by dn.exact="{PEERCRED_ROOT}" manage by * none'], log_db
    # The accesslog overlay above (after) syncprov, logging every successful write.
    overlays = [a["olcoverlay"][0] for a in world.ldap.search(
        jabber_database(world), "(objectClass=olcOverlayConfig)", "olcOverlay", scope="one").values()]
    order = [o.split("}", 1)[1] for o in sorted(overlays, key=lambda o: int(o[1:o.index("}")]))]
    assert order.index("syncprov") < order.index("accesslog"), overlays
    [(_, log)] = world.ldap.search(jabber_database(world), "(objectClass=olcAccessLogConfig)", "*",
                                   scope="one").items()
    assert (log["olcaccesslogdb"], log["olcaccesslogops"], log["olcaccesslogsuccess"]) == \
        ([ACCESSLOG], ["writes"], ["TRUE"]), log
    assert log["olcaccesslogpurge"] == ["07+00:00 01+00:00"], log
    _, sp = syncprov(world)
    assert sp["olcspsessionlogsource"] == [ACCESSLOG], sp
    # Never the in-memory session log: a provider that was down misses writes for good.
    assert not world.ldap.search("cn=config", "(olcSpSessionlog=*)", "1.1")
    assert ACCESSLOG in world.first_report, world.first_report
    # Nothing else of the database was changed: its indexes, limits and access rules, and
    # syncprov but for the source.
    db = jabber_database(world)
    assert "exists already" in world.first_report, world.first_report
    assert slapd_config(world)[db] == world.earlier[db]
    sp_dn, sp = syncprov(world)
    assert {k: v for k, v in sp.items() if k != "olcspsessionlogsource"} == world.earlier[sp_dn]


def test_setup_ldap_again_changes_nothing(world):
    before = slapd_config(world)
    out = setup_ldap(world)
    assert ACCESSLOG not in out and "Created" not in out, out
    assert slapd_config(world) == before


def test_a_resume_lists_the_deletions(world):
    # A first reconnect: the next one resumes from a cookie the session log covers.
    away_from_daemon(world, lambda uri: None)
    doomed_name, kept_name = unique(world, "doomed"), unique(world, "kept")
    doomed = world.dbus.add_user(doomed_name, "")
    kept = world.dbus.add_user(kept_name, "Stays")
    changed_name = unique(world, "changed")
    changed = world.dbus.add_user(changed_name, "Before")

    def changes(uri):
        delete_away(world, doomed_name)(uri)
        ldap_tool("ldapmodify", uri, f"dn: {world.ldap.user_dn(changed_name)}\nchangetype: modify\n"
                                     "replace: displayName\ndisplayName: After\n")
    line = away_from_daemon(world, changes)
    # (The entries added just before may come again: the last cookie of the persist phase
    # can precede them. What matters: the deletion listed, no present phase.)
    found = re.search(r": (\d+) changed, 1 deleted \(deletions listed\)", line)
    assert found and int(found[1]) >= 1, line
    poll(lambda: doomed not in world.dbus.list_users(), "the user deleted away gone")
    assert kept in world.dbus.list_users()
    poll(lambda: world.dbus.user_props(changed)["Nickname"] == "After", "the change made away")
    assert "full reload:" not in world.daemon.log().split(line, 1)[1]


def test_an_older_setup_gets_the_source_from_setup_ldap(world):
    """A server set up by an earlier version (no session log source): a resume runs a
    present phase, correct but costing the whole directory; `cl-setup ldap` adds the
    source, and the next resume lists the deletions."""
    dn, _ = syncprov(world)
    ldap_tool("ldapmodify", world.slapd.ldapi_uri,
              f"dn: {dn}\nchangetype: modify\ndelete: olcSpSessionlogSource\n")
    for expected in ("(present phase)", "(deletions listed)"):
        if expected == "(deletions listed)":
            before = slapd_config(world)
            out = setup_ldap(world)
            assert ACCESSLOG in out, out
            assert syncprov(world)[1]["olcspsessionlogsource"] == [ACCESSLOG]
            # Only the source was added.
            after = slapd_config(world)
            changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
            assert changed == [dn], changed
        away_from_daemon(world, lambda uri: None)
        name = unique(world, "gone")
        path = world.dbus.add_user(name, "")
        line = away_from_daemon(world, delete_away(world, name))
        assert f"0 changed, 1 deleted {expected}" in line, line
        poll(lambda: path not in world.dbus.list_users(), "the user deleted away gone")


def test_setup_ldap_warns_once_the_server_is_a_provider_of_a_site(world):
    """A server id (docs/scale-out.md sets it first on every provider): slapd 2.5.13 aborts
    with the accesslog session log on a multi-provider site, and removing the overlay while
    slapd runs crashed it, so `cl-setup ldap` changes nothing there and says to take it
    away with slapd stopped (no-accesslog.ldif)."""
    def server_id(change):
        ldap_tool("ldapmodify", world.slapd.ldapi_uri, f"dn: cn=config\nchangetype: modify\n{change}\n")
    before = slapd_config(world)
    server_id("replace: olcServerID\nolcServerID: 1")
    try:
        out = setup_ldap(world)
        assert "no-accesslog.ldif" in out, out
        assert slapd_config(world) == before
    finally:
        server_id("delete: olcServerID")
