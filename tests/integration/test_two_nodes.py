"""Two nodes of one site (issue 14, docs/scale-out.md): two slapd providers in
multi-provider replication, two daemons (each on its own private bus with its own polkitd,
against its own provider) and two ejabberd nodes in one cluster, joined by the steps of
docs/scale-out.md (harness/twonodes.py fills the shipped templates). Through the real CLI
and a real XMPP client.

Delays are polled with generous deadlines, never asserted; the figures printed here
(`pytest -s`, or the test log) are the ones quoted in docs/scale-out.md."""

import re
import statistics
import subprocess
import threading
import time

import pytest

from harness import e2e, namespace, xmpp
from harness.twonodes import caught_up, database_dn, TwoNodes
from helpers_directory import (Bus, DBusError, Directory, GROUP, MANAGER, MANAGER_PATH,
                               OBJECT_MANAGER, USER)

HOST = namespace.HOSTNAME
DEADLINE = 30.0       # replication and following: generous on a loaded 2-core machine


@pytest.fixture(scope="module")
def nodes(make_world):
    xmpp.quiet()
    n = TwoNodes(make_world).start()
    print(f"\njoining node 2 (steps of docs/scale-out.md) took {n.joined_in:.1f} s")
    n.bus = [Bus(), Bus(n.two.bus_address)]
    n.dir = [Directory(n.one.slapd), Directory(n.two.slapd)]
    yield n
    for b in n.bus:
        b.close()
    n.close()


def poll(predicate, what, timeout=DEADLINE, interval=0.05):
    return e2e.poll(predicate, what, timeout=timeout, interval=interval)


def try_login(world, name, password):
    return xmpp.try_login(e2e.jid(name), password, world.ejabberd.client_port)


def view(bus):
    """What a daemon shows on its bus: {user: (nickname, locked, group name or None)}."""
    objects = bus.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")
    groups = {path: ifaces[GROUP]["Name"] for path, ifaces in objects.items() if GROUP in ifaces}
    users = {}
    for path, ifaces in objects.items():
        if USER in ifaces:
            u = ifaces[USER]
            users[u["Name"]] = (u["Nickname"], u["Locked"], groups.get(u["Group"]))
    return users


def directory_view(d):
    """The same from a provider: {user: (nickname, locked, [groups listing it])}."""
    groups = {}
    for name, attrs in d.groups().items():
        for uid in attrs.get("memberuid", []):
            groups.setdefault(uid, []).append(name)
    # The nickname as the daemon reads it (cj-entry.c): displayName, else sn.
    return {uid: ((attrs.get("displayname") or attrs.get("sn") or [""])[0],
                  "shadowexpire" in attrs,
                  sorted(groups.get(uid, [])))
            for uid, attrs in d.users().items()}


def find(bus, name):
    try:
        return bus.call(MANAGER_PATH, MANAGER, "FindUserByName", "s", name)
    except DBusError:
        return None


def user_prop(bus, name, prop):
    path = find(bus, name)
    if path is None:
        return None
    return bus.prop(path, USER, prop)


def disagreement(nodes):
    """Why the two providers and the two daemons do not agree yet (None when they do)."""
    dumps = [d.dump() for d in nodes.dir]
    if dumps[0] != dumps[1]:
        for dn in sorted(set(dumps[0]) | set(dumps[1])):
            if dumps[0].get(dn) != dumps[1].get(dn):
                one, two = dumps[0].get(dn) or {}, dumps[1].get(dn) or {}
                diff = {k: (one.get(k), two.get(k)) for k in set(one) | set(two)
                        if one.get(k) != two.get(k)}
                return f"providers differ at {dn}: {diff}"
    d = directory_view(nodes.dir[0])
    several = {u: g for u, (_, _, g) in d.items() if len(g) > 1}
    if several:
        return f"users in several groups: {several}"
    expected = {u: (nick, locked, groups[0] if groups else None)
                for u, (nick, locked, groups) in d.items()}
    for i, b in enumerate(nodes.bus):
        shown = view(b)
        if shown != expected:
            diff = {u: (expected.get(u), shown.get(u)) for u in set(expected) | set(shown)
                    if expected.get(u) != shown.get(u)}
            return f"daemon {i + 1} shows (directory, D-Bus): {diff}"
    return None


def all_agree(nodes):
    """Both providers hold the same Jabber subtree (entryCSN, entryUUID and all) and both
    daemons show it; returns the common view, or None."""
    if disagreement(nodes) is not None:
        return None
    return {u: (nick, locked, groups[0] if groups else None)
            for u, (nick, locked, groups) in directory_view(nodes.dir[0]).items()}


def agreement(nodes, what, timeout=DEADLINE):
    """Polls until all_agree(); fails with the last disagreement."""
    try:
        return poll(lambda: all_agree(nodes), what, timeout=timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}: {disagreement(nodes)}") from None


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


# The join ---------------------------------------------------------------------------------

def test_the_joined_database_is_the_one_cl_setup_makes(nodes):
    """database.ldif stands for `cl-setup ldap` on the joining node: the same indexes,
    limits and access rules, and the same overlays once cl-setup ldap ran there."""
    def config(slapd):
        db = database_dn(slapd)
        r = slapd.search_external(db, "-s", "base", "olcDbIndex", "olcLimits", "olcAccess",
                                  "olcSuffix", "olcRootDN", "olcMultiProvider")
        entry = {}
        for line in r.stdout.replace("\n ", "").splitlines():
            if ": " in line and not line.startswith("dn:"):
                k, v = line.split(": ", 1)
                entry.setdefault(k, []).append(v)
        over = slapd.search_external(db, "-s", "one", "(objectClass=olcOverlayConfig)",
                                     "olcOverlay")
        entry["overlays"] = sorted(re.sub(r"\{\d+\}", "", o)
                                   for o in re.findall(r"^olcOverlay: (.*)$", over.stdout,
                                                       re.MULTILINE))
        r = slapd.search_external(db, "-s", "one", "(objectClass=olcSyncProvConfig)")
        entry["syncprov"] = [line for line in r.stdout.replace("\n ", "").splitlines()
                             if line.startswith("olcSp")]
        return {k: sorted(v) for k, v in entry.items()}
    one, two = config(nodes.one.slapd), config(nodes.two.slapd)
    assert one == two
    assert one["olcMultiProvider"] == ["TRUE"]
    assert "syncprov" in one["overlays"] and "unique" in one["overlays"]
    # No accesslog session log on a multi-provider site (slapd 2.5.13 aborts with the source
    # when a restarted provider catches up, and its heap was seen corrupted with the
    # overlay alone): no-accesslog.ldif takes away what cl-setup ldap gave node 1, and
    # cl-setup ldap adds neither on a provider with a server id.
    assert "accesslog" not in one["overlays"], one
    assert not [v for v in one["syncprov"] if v.startswith("olcSpSessionlogSource")], one
    # Never a session log (scale-out.md: a provider that was down misses writes for good).
    for slapd in (nodes.one.slapd, nodes.two.slapd):
        r = slapd.search_external("cn=config", "(olcSpSessionLog=*)", "1.1")
        assert "dn:" not in r.stdout


def test_both_ejabberd_nodes_are_one_cluster(nodes):
    for w in nodes.worlds:
        assert {"ej1@localhost", "ej2@localhost"} <= TwoNodes.cluster_of(w)


# Logins across nodes -------------------------------------------------------------------

def test_a_user_added_through_node_1_logs_in_on_node_2(nodes):
    nodes.cli[0].useradd("anna", "Anna-pass-1")
    poll(lambda: try_login(nodes.two, "anna", "Anna-pass-1") == "ok",
         "anna logs in on node 2 (ejabberd 2 against provider 2)")
    assert try_login(nodes.one, "anna", "Anna-pass-1") == "ok"


def test_a_lock_through_node_2_ends_the_session_on_node_1(nodes):
    nodes.cli[0].useradd("lena", "Lena-pass-1")
    poll(lambda: find(nodes.bus[1], "lena"), "node 2's daemon knows lena")
    session = xmpp.login(e2e.jid("lena"), "Lena-pass-1", nodes.one.ejabberd.client_port)
    try:
        nodes.cli[1].usermod("lena", "-L")
        assert session.wait_disconnected(DEADLINE), "the session on node 1 was not ended"
    finally:
        session.close()
    assert poll(lambda: try_login(nodes.one, "lena", "Lena-pass-1") == "auth-failed",
                "node 1 refuses lena's next login")
    assert try_login(nodes.two, "lena", "Lena-pass-1") == "auth-failed"
    poll(lambda: user_prop(nodes.bus[0], "lena", "Locked") is True, "node 1 shows lena locked")
    nodes.cli[1].usermod("lena", "-U")
    poll(lambda: try_login(nodes.one, "lena", "Lena-pass-1") == "ok",
         "node 1 lets lena in again after the unlock through node 2")


def test_a_group_made_through_node_1_shows_in_rosters_on_node_2(nodes):
    cli = nodes.cli[0]
    cli.groupadd("Team")
    for name in ("rosa", "petr"):
        cli.useradd(name, "Team-pass-1")
        cli.usermod(name, "-g", "Team")
    want = e2e.expected_roster({"Team": ["rosa", "petr"]}, "rosa")
    e2e.roster_after_reconnect(nodes.two, "rosa", "Team-pass-1", want,
                               "rosa's roster on node 2 shows the group made through node 1")
    # And a move through node 2 shows on node 1.
    nodes.cli[1].groupadd("Other team")
    poll(lambda: find(nodes.bus[1], "petr"), "node 2's daemon knows petr")
    nodes.cli[1].usermod("petr", "-g", "Other team")
    want = e2e.expected_roster({"Team": ["rosa"], "Other team": ["petr"]}, "rosa")
    e2e.roster_after_reconnect(nodes.one, "rosa", "Team-pass-1", want,
                               "rosa's roster on node 1 with petr moved through node 2")


# D-Bus freshness ---------------------------------------------------------------------------

def seen_after(predicate, start, what):
    """Seconds from `start` until predicate() held (polled every 2 ms)."""
    poll(predicate, what, interval=0.002)
    return time.monotonic() - start


def test_node_2_shows_node_1s_changes(nodes):
    cli, bus2 = nodes.cli[0], nodes.bus[1]
    cli.groupadd("Fresh A")
    cli.groupadd("Fresh B")
    delays = {"add": [], "nickname": [], "group move": [], "delete": []}
    for i in range(5):
        name = f"fresh{i}"
        start = time.monotonic()
        cli.useradd(name, "Fresh-pass-1")
        # From the command's return: the write is in provider 1 by then.
        start = time.monotonic()
        delays["add"].append(seen_after(lambda: find(bus2, name), start, f"{name} on node 2"))
        cli.usermod(name, "-c", f"Nick {i}")
        start = time.monotonic()
        delays["nickname"].append(seen_after(
            lambda: user_prop(bus2, name, "Nickname") == f"Nick {i}", start,
            f"{name}'s nickname on node 2"))
        group = "Fresh A" if i % 2 else "Fresh B"
        cli.usermod(name, "-g", group)
        start = time.monotonic()
        delays["group move"].append(seen_after(
            lambda: view(bus2).get(name, (None, None, None))[2] == group, start,
            f"{name} in {group} on node 2"))
        cli.userdel(name)
        start = time.monotonic()
        delays["delete"].append(seen_after(lambda: find(bus2, name) is None, start,
                                           f"{name} gone from node 2"))
    print("\nnode 1's change (CLI returned) seen on node 2's D-Bus, median of 5 [min-max]:")
    for kind, values in delays.items():
        print(f"  {kind}: {ms(statistics.median(values))} [{ms(min(values))}-{ms(max(values))}]")
    agreement(nodes, "both providers and both daemons agree")


# A provider stopped and restarted -----------------------------------------------------

def test_a_provider_restarted_catches_up(nodes):
    cli = nodes.cli[0]
    for name in ("keep1", "keep2", "gone1", "gone2"):
        cli.useradd(name, "Keep-pass-1")
    cli.groupadd("Stay")
    agreement(nodes, "agreement before the stop")
    slapd2 = nodes.two.slapd
    slapd2.stop()
    # Meanwhile, through node 1: adds, changes, a move and deletes.
    for i in range(10):
        cli.useradd(f"while{i}", "While-pass-1")
    cli.usermod("keep1", "-c", "Changed while away")
    cli.usermod("keep2", "-g", "Stay")
    cli.usermod("keep1", "-L")
    cli.userdel("gone1")
    cli.userdel("gone2")
    cli.userdel("while3")
    want = directory_view(nodes.dir[0])
    slapd2.start()
    start = time.monotonic()
    poll(lambda: caught_up(nodes.one.slapd, slapd2) and directory_view(nodes.dir[1]) == want,
         "provider 2 caught up", interval=0.01)
    caught = time.monotonic() - start
    agreed = agreement(nodes, "both daemons agree")
    seen = time.monotonic() - start
    print(f"\nprovider 2 restarted after 15 changes on provider 1: caught up {ms(caught)} "
          f"after it answered; both daemons' D-Bus agree after {ms(seen)}")
    assert "gone1" not in agreed and "gone2" not in agreed and "while3" not in agreed
    assert agreed["keep1"] == ("Changed while away", True, None)
    assert agreed["keep2"][2] == "Stay"
    assert all(f"while{i}" in agreed for i in range(10) if i != 3)
    # And the other way: provider 1 away, changes through node 2.
    slapd1 = nodes.one.slapd
    slapd1.stop()
    cli2 = nodes.cli[1]
    cli2.useradd("back1", "Back-pass-1")
    cli2.usermod("keep1", "-U")
    cli2.userdel("while4")
    want = directory_view(nodes.dir[1])
    slapd1.start()
    start = time.monotonic()
    poll(lambda: caught_up(slapd1, slapd2) and directory_view(nodes.dir[0]) == want,
         "provider 1 caught up", interval=0.01)
    agreed = agreement(nodes, "both daemons agree")
    print(f"provider 1 restarted after 3 changes on provider 2: both daemons agree after "
          f"{ms(time.monotonic() - start)}")
    assert "back1" in agreed and "while4" not in agreed and agreed["keep1"][1] is False


# Concurrent moves ---------------------------------------------------------------------

class GroupWatch:
    """Every version of the group entries a provider holds, as it holds them: an
    `ldapsearch -E sync=rp` (refreshAndPersist) running beside the test. versions():
    [(group name, entryCSN, members)]."""

    def __init__(self, d):
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", d.slapd.ldapi_uri,
             "-o", "ldif-wrap=no", "-E", "!sync=rp", "-b", d.groups_dn, "-s", "one",
             "(objectClass=posixGroup)", "description", "cn", "memberUid", "entryCSN"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._lock = threading.Lock()
        self._versions = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        # slapd sends operational attributes (entryCSN) after the others: an entry is
        # complete at its entryCSN (ldapsearch prints the blank line after it only once
        # the next entry comes).
        entry = {}
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("dn: ") or not line:
                entry = {}
            elif ": " in line:
                k, v = line.split(": ", 1)
                entry.setdefault(k, []).append(v)
                if k == "entryCSN":
                    name = (entry.get("description") or entry.get("cn") or [""])[0]
                    with self._lock:
                        self._versions.append((name, v, sorted(entry.get("memberUid", []))))

    def versions(self):
        with self._lock:
            return list(self._versions)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def repairs(nodes, name, since, groups):
    """The audit lines (both daemons log to the world's one syslog) of a repair of `name`
    out of one of `groups`: "by the daemon on its own: repaired: NAME left group "GROUP"
    ..." (docs/operations.md)."""
    return [l for l in nodes.one.syslog.lines()[since:]
            if "calculate-jabberd" in l and any(f'repaired: {name} left group "{g}"' in l
                                                 for g in groups)]


def test_concurrent_moves_converge(nodes):
    """Node 1 moves a user into group A, node 2 into group B, both calls in flight at
    once: both directories and both daemons end with the user in exactly one group, the
    one whose entry got the newer entryCSN from its move, and exactly one audit line of a
    repair per round (the rule and [Directory] ServerId of issue 14 item 2)."""
    name = "mover"
    nodes.cli[0].useradd(name, "Mover-pass-1")
    rounds = 3
    for r in range(rounds):
        nodes.cli[0].groupadd(f"Round {r} A")
        nodes.cli[0].groupadd(f"Round {r} B")
    agreement(nodes, "agreement before the moves")
    watches = [GroupWatch(d) for d in nodes.dir]
    since = len(nodes.one.syslog.lines())
    finals = []
    try:
        for r in range(rounds):
            a, b = f"Round {r} A", f"Round {r} B"
            barrier = threading.Barrier(2)
            errors = []

            def move(cli, group):
                barrier.wait()
                try:
                    cli.usermod(name, "-g", group)
                except AssertionError as e:       # a refusal is an answer too: reported
                    errors.append(str(e))
            threads = [threading.Thread(target=move, args=(nodes.cli[0], a)),
                       threading.Thread(target=move, args=(nodes.cli[1], b))]
            # Both calls in flight together, and the providers kept apart until both
            # answered: otherwise the second daemon here usually sees the first move
            # already (replication takes about a millisecond) and nothing conflicts.
            with nodes.partition():
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            released = time.monotonic()
            assert not errors, errors
            # The move of each group: its first version listing the user (either provider).
            def moves():
                moved = {}
                for w in watches:
                    for group, csn, members in w.versions():
                        if group in (a, b) and name in members:
                            moved[group] = min(moved.get(group, csn), csn)
                return moved if set(moved) == {a, b} else None
            moved = poll(moves, f"round {r}: both moves seen by the providers")
            agreed = agreement(nodes, f"round {r}: both nodes agree", timeout=60)
            print(f"round {r}: moves {moved}; converged {ms(time.monotonic() - released)} "
                  "after the providers met again")
            winner = max(moved, key=moved.get)
            assert agreed[name][2] == winner, (f"round {r}: {name} ended in "
                                               f"{agreed[name][2]}, newest move {moved}")
            memberships = [directory_view(d)[name][2] for d in nodes.dir]
            assert memberships == [[winner], [winner]]
            # The repair is logged, by one node.
            poll(lambda: repairs(nodes, name, since, (a, b)),
                 f"round {r}: a repair in the audit")
            finals.append(agreed)
        # Past the other node's grace (about 10 s + its ServerId s): still one repair per
        # round, and nothing moved since (nothing oscillates).
        time.sleep(15)
        for r in range(rounds):
            found = repairs(nodes, name, since, (f"Round {r} A", f"Round {r} B"))
            assert len(found) == 1, f"round {r}: {found}"
        assert all_agree(nodes) == finals[-1]
    finally:
        for w in watches:
            w.close()
