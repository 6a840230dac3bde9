"""The follower resumes from a multi-provider state (issue 14, scale-out.md "Trap 2"): two
slapd providers in multi-provider replication (server ids 1 and 2), the daemon following
provider 1. Changes taken by provider 2 reach the daemon with cookies that carry only
server 2's CSN; the daemon keeps the newest CSN of every server and, after provider 1 was
away while both took changes, resumes with all of them: only what changed comes back.
And the repair of a user left in two groups by the node whose provider took the losing
write ([Directory] ServerId = 1 here): at once when the losing group's entryCSN carries
server id 1, after the grace when it carries 2 (another node's to repair, which is absent).
(The full two-node world, with ejabberd and a daemon per node, is test_two_nodes.py.)"""

import os
import re

import pytest

from harness import ldap
from helpers_directory import Bus, Directory, DBusError, poll, user_ldif


def ldapmodify(slapd, text):
    import subprocess
    r = subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", slapd.ldapi_uri], input=text,
                       text=True, capture_output=True)
    assert r.returncode == 0, r.stderr


def replicate(me, sid, peer):
    ldapmodify(me, f"dn: cn=config\nchangetype: modify\nreplace: olcServerID\nolcServerID: {sid}\n")
    ldapmodify(me, f"""dn: olcDatabase={{1}}mdb,cn=config
changetype: modify
add: olcSyncrepl
olcSyncrepl: rid=00{sid} provider={peer.uri}/ bindmethod=simple binddn="{peer.admin_dn}" credentials={peer.admin_password} searchbase="{ldap.BASE_DN}" type=refreshAndPersist retry="1 +" timeout=1 network-timeout=2
-
add: olcMultiProvider
olcMultiProvider: TRUE
""")


@pytest.fixture(scope="module")
def two(make_world):
    world = make_world(ldap="database", polkit="real", daemon=False,
                       config={"Directory": {"ServerId": "1"}})
    top = os.path.join(world.top, "provider2")
    os.makedirs(top)
    second = ldap.Slapd(world.processes, top, "database")
    second.start()
    replicate(world.slapd, 1, second)
    replicate(second, 2, world.slapd)
    world.start_daemon()
    bus = Bus()
    bus.setup_ldap()
    yield world, bus, Directory(world.slapd), Directory(second)
    bus.close()


def found(bus, name):
    try:
        return bus.find_user(name)
    except DBusError:
        return None


def test_resume_carries_every_servers_csn(two):
    world, bus, one, other = two
    poll(lambda: other.search(other.users_dn, "(objectClass=*)", "1.1", scope="base"),
         "the subtree replicated to provider 2", timeout=60)
    other.add(user_ldif(other, "on2", "Taken by 2"))
    one.add(user_ldif(one, "on1", "Taken by 1"))
    for name in ("keep2", "change2", "drop2"):
        other.add(user_ldif(other, name, "By 2"))
    poll(lambda: all(found(bus, n) for n in ("on1", "on2", "keep2", "change2", "drop2")),
         "every user on the bus", timeout=60)
    keep = bus.find_user("keep2")

    # Provider 1 away from the daemon (ldapi only); both providers take changes meanwhile
    # (provider 1 still pulls provider 2's).
    slapd = world.slapd
    slapd.stop()
    proc = slapd.processes.start(
        "slapd-ldapi", ["slapd", "-d", "0", "-h", slapd.ldapi_uri,
                        "-F", os.path.join(slapd.top, "slapd.d")],
        os.path.join(slapd.top, "..", "slapd-ldapi.log"))

    def answers():
        try:
            one.search(one.base, "(objectClass=*)", "1.1", scope="base")
            return True
        except RuntimeError:
            return False
    poll(answers, "provider 1 on ldapi")
    other.modify(f"dn: {other.user_dn('change2')}\nchangetype: modify\n"
                 "replace: displayName\ndisplayName: Changed on 2\n")
    other.delete(other.user_dn("drop2"))
    poll(lambda: "drop2" not in one.users(), "provider 1 pulled provider 2's changes", timeout=60)
    one.modify(f"dn: {one.user_dn('on1')}\nchangetype: modify\n"
               "replace: displayName\ndisplayName: Changed on 1\n")
    mark = bus.mark()
    proc.stop()
    slapd.processes.forget(proc)
    slapd.start()

    def resumed():
        return re.findall(r"resumed with cookie (\S+): (\d+) changed, (\d+) deleted",
                          world.daemon.log())
    poll(resumed, "the daemon resumed", timeout=60)
    cookie, changed, deleted = resumed()[-1]
    # One CSN per server that wrote: 1 and 2 (and 0, the base entries loaded offline).
    sids = {csn.split("#")[2] for csn in cookie.split("csn=", 1)[1].split(";")}
    assert {"001", "002"} <= sids, cookie
    assert (changed, deleted) == ("2", "1"), resumed()
    assert "full reload" not in world.daemon.log().split("resuming the directory from")[-1]
    poll(lambda: bus.user_props(bus.find_user("change2"))["Nickname"] == "Changed on 2", "2's change")
    assert bus.user_props(bus.find_user("on1"))["Nickname"] == "Changed on 1"
    assert found(bus, "drop2") is None
    touched = {path for _, path, _ in bus.signals(mark)} | \
              {body[0] for _, _, body in bus.signals(mark) if body and isinstance(body[0], str)}
    assert keep not in touched


def stamp(log, text):
    """Seconds of the day of the first --debug line holding `text`."""
    for line in log.splitlines():
        m = re.search(r"DEBUG: (\d+):(\d+):(\d+\.\d+): (.*)", line)
        if m and text in m[4]:
            return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    raise AssertionError(f"no line with {text!r}")


def add_member(directory, group_name, user):
    directory.modify(f"dn: {directory.group_dn(group_name)}\nchangetype: modify\n"
                     f"add: memberUid\nmemberUid: {user}\n")


def test_the_node_of_the_losing_write_repairs(two):
    world, bus, one, other = two
    for name in ("Lose1", "Win2", "Lose2", "Win1"):
        bus.add_group(name)
    bus.add_user("mover1", "", group=bus.find_group("Lose1"))
    bus.add_user("mover2", "", group=bus.find_group("Lose2"))
    bus.add_user("bystander", "")
    poll(lambda: other.members("Lose2") == ["mover2"], "replicated to provider 2", timeout=60)
    # Lose2's entry last written through provider 2 (server id 2).
    add_member(other, "Lose2", "bystander")
    poll(lambda: one.members("Lose2") == ["bystander", "mover2"], "replicated to 1", timeout=60)

    # mover1: the newer write (Win2) through provider 2; the losing group, Lose1, was last
    # written through provider 1: this node's to repair, at once.
    add_member(other, "Win2", "mover1")
    # mover2: the newer write (Win1) through provider 1; the losing group, Lose2, carries
    # server id 2: another node's; this one repairs only after its grace.
    add_member(one, "Win1", "mover2")
    log = world.daemon.log
    poll(lambda: "mover2 in group Lose2 (also in another group): the losing write came "
                 "through another server" in log(), "mover2's violation seen as another node's",
         timeout=60)
    poll(lambda: one.members("Lose1") == [], "mover1 repaired", timeout=60)
    assert "mover1 in group Lose1 (also in another group): repairing it" in log()
    poll(lambda: one.members("Lose2") == ["bystander"], "mover2 repaired after the grace",
         timeout=120)
    # The daemon's own clock: it cannot have repaired before its grace of 10 s + ServerId
    # (a lower bound only: a loaded machine delays, never hastens, a timer).
    seen = stamp(log(), "mover2 in group Lose2 (also in another group)")
    repaired = stamp(log(), 'audit: by the daemon on its own: repaired: mover2 left group "Lose2"')
    assert repaired - seen >= 10.5, (seen, repaired)
    assert one.members("Win2") == ["mover1"] and one.members("Win1") == ["mover2"]
    assert 'repaired: mover1 left group "Lose1" (also in "Win2", newer)' in log()
    assert 'repaired: mover2 left group "Lose2" (also in "Win1", newer)' in log()
