"""Live ejabberd (issue 11): the daemon drives ejabberd through a private API socket (no
ejabberdctl on ordinary changes), a lock ends the open session at once, and `cl-jabber
status` tells whether ejabberd and the directory answer — with a real XMPP client.

ejabberdctl calls are counted: the daemon's [Ejabberd] ControlCommand is a wrapper that
logs each call, then runs the world's ejabberdctl. Durations are never asserted here
(generous deadlines only): bench/ prints the figures."""

import base64
import hashlib
import json
import os
import pwd
import shlex
import stat
import subprocess

import pytest
import yaml

from harness import client, e2e, namespace, xmpp

HOST = namespace.HOSTNAME


@pytest.fixture(scope="module")
def world(make_world, tmp_path_factory):
    xmpp.quiet()
    d = tmp_path_factory.mktemp("ctl")
    calls, real, wrapper = d / "calls", d / "real", d / "ejabberdctl"
    calls.write_text("")
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec $(cat {real}) "$@"\n')
    wrapper.chmod(0o755)
    w = make_world(ldap="empty", polkit="real",
                   config={"Ejabberd": {"ControlCommand": str(wrapper)}})
    real.write_text(shlex.join(w.ejabberd.control_command))
    w.ctl_calls = lambda: calls.read_text().splitlines()
    w.cli = e2e.Cli(w)
    w.cli.setup_ldap()
    w.cli.setup_jabber("--primary-host", HOST, "--hosts", "second.example.org")
    return w


@pytest.fixture(scope="module")
def cli(world):
    return world.cli


def rendered(world):
    with open(world.ejabberd.config_file) as f:
        return yaml.safe_load(f)


def test_rendered_config_has_the_socket_and_no_tcp_api(world):
    cfg = rendered(world)
    http = [l for l in cfg["listen"] if l["module"] == "ejabberd_http"]
    assert len(http) == 1, http
    [api] = http
    assert api["port"] == "unix:" + world.ejabberd.api_socket
    assert api["request_handlers"] == {"/api": "mod_http_api"}
    assert "ip" not in api
    perms = cfg["api_permissions"]
    ours = perms["calculate-jabberd"]
    assert ours["from"] == [{"tag": api["tag"]}]
    assert sorted(ours["what"]) == sorted(["kick_user", "clear_cache", "status",
                                           "connected_users_number", "connected_users",
                                           "send_stanza"])
    # Nothing else may reach the API: only ejabberdctl (root and ejabberd) besides us.
    assert set(perms) == {"console commands", "calculate-jabberd"}, perms
    assert perms["console commands"]["from"] == ["ejabberd_ctl"]


def test_socket_directory_is_ejabberds_alone(world):
    st = os.stat(world.ejabberd.api_dir)
    assert st.st_uid == pwd.getpwnam("ejabberd").pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(world.ejabberd.api_socket).st_mode)
    # Another local user cannot even reach it.
    r = client.run(["curl", "-s", "--max-time", "5", "--unix-socket", world.ejabberd.api_socket,
                    "-d", "{}", "http://localhost/api/status"], user="nobody")
    assert r.returncode != 0, r.stdout


def test_api_admits_only_the_listed_commands(world):
    code, _ = world.ejabberd.api("status")
    assert code == 200
    code, body = world.ejabberd.api("registered_users", host=HOST)
    assert code in (401, 403), (code, body)
    code, body = world.ejabberd.api("register", user="intruder", host=HOST, password="x")
    assert code in (401, 403), (code, body)


def test_lock_ends_the_session_on_every_host_without_ejabberdctl(world, cli):
    before = world.ctl_calls()
    cli.useradd("alice", "Alice-pw-1")
    with e2e.login(world, "alice", "Alice-pw-1") as s:
        assert s.ping()
        cli.usermod("alice", "-L")
        assert s.wait_disconnected(e2e.DEADLINE), "the locked user's session is still open"
    assert e2e.try_login(world, "alice", "Alice-pw-1") == "auth-failed"
    cli.usermod("alice", "-U")
    cli.passwd("alice", "Alice-pw-2")
    assert e2e.try_login(world, "alice", "Alice-pw-2") == "ok"
    cli.groupadd("Staff")
    cli.groupmod("Staff", "-a", "alice")
    cli.usermod("alice", "-c", "Алиса")
    with e2e.login(world, "alice", "Alice-pw-2") as s:
        cli.userdel("alice")
        assert s.wait_disconnected(e2e.DEADLINE), "the deleted user's session is still open"
    assert world.ctl_calls() == before, "ordinary changes ran ejabberdctl"


def test_status_tells_what_answers(world, cli):
    cli.useradd("bob", "Bob-pw-1")
    with e2e.login(world, "bob", "Bob-pw-1"):
        st = cli.status()
        assert st["ejabberd_answers"] is True, st
        assert st["ejabberd_version"].startswith("23.01"), st   # Debian says 23.01-1
        assert st["ejabberd_link"] == "api", st
        assert st["sessions"] >= 1, st
        assert st["directory_answers"] is True, st
        assert st["ejabberd_problem"] == "", st


def status_run(world):
    r = world.cli.run("cl-jabber", "--json", "status")
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r


def test_status_tells_a_stopped_ejabberd(world, cli):
    world.ejabberd.stop()
    try:
        code, st, r = status_run(world)
        assert code != 0, r
        assert st["ejabberd_answers"] is False, st
        assert st["ejabberd_problem"], st
        assert st["directory_answers"] is True, st
        human = world.cli.run("cl-jabber", "status")
        assert human.returncode != 0 and "NOT answer" in human.stdout, human.stdout
    finally:
        r = world.ejabberd.restart()
        assert r.returncode == 0, r.stderr
    e2e.poll(lambda: status_run(world)[0] == 0, "status back to 0 after ejabberd's restart")


def test_status_tells_a_stopped_directory(world, cli):
    world.slapd.stop()
    try:
        code, st, r = status_run(world)
        assert code != 0, r
        assert st["directory_answers"] is False, st
        assert st["ejabberd_answers"] is True, st
    finally:
        world.slapd.start()
    e2e.poll(lambda: status_run(world)[0] == 0, "status back to 0 after slapd's restart")


def test_without_the_socket_ejabberdctl_is_the_fallback(world, cli):
    """A configuration without the API listener (hand-made): ejabberdctl, with a warning.
    Moving the socket away looks the same to the daemon."""
    cli.useradd("carol", "Carol-pw-1")
    hidden = world.ejabberd.api_socket + ".away"
    os.rename(world.ejabberd.api_socket, hidden)
    try:
        before = len(world.ctl_calls())
        with e2e.login(world, "carol", "Carol-pw-1") as s:
            cli.usermod("carol", "-L")
            assert s.wait_disconnected(e2e.DEADLINE), "the locked user's session is still open"
        calls = world.ctl_calls()[before:]
        assert any(c.startswith("kick_user carol ") for c in calls), calls
        assert "using ejabberdctl" in world.daemon.log()
        assert status_run(world)[1]["ejabberd_link"] == "ejabberdctl"
    finally:
        os.rename(hidden, world.ejabberd.api_socket)


# Roster pushes -------------------------------------------------------------------------

SALES, BOOKS, PURCHASES = "Отдел продаж", "Бухгалтерия «Север»", "Отдел закупок"
VIEWER = ("vera", "Vera-pw-1")


@pytest.fixture(scope="module")
def viewer(world, cli):
    """vera, connected for the rest of the file, in no group (she sees every group)."""
    cli.useradd(*VIEWER)
    s = e2e.login(world, *VIEWER)
    s.roster()                      # the one fetch: everything later comes by push
    yield s
    s.close()


def pushed(world, viewer, groups, what):
    """The connected client's roster becomes `groups` ({name: [users]}) by pushes alone,
    and a fresh login shows the same."""
    want = e2e.expected_roster(groups, VIEWER[0])
    seen = viewer.wait_roster(lambda r: r == want, e2e.DEADLINE)
    assert seen is not None, f"{what}: the connected client's roster is {viewer.local_roster()}, " \
                             f"want {want}"
    assert viewer.connected(), "the client had to reconnect"
    e2e.roster_after_reconnect(world, *VIEWER, want, f"{what}: after a reconnect")


def test_group_changes_reach_a_connected_client(world, cli, viewer):
    assert viewer.local_roster() == {}
    n0 = viewer.pushes()
    cli.groupadd(SALES)                                    # empty: shows nothing
    cli.useradd("petr", "Petr-pw-1", "-g", SALES, "-c", "Пётр")
    pushed(world, viewer, {SALES: ["petr"]}, "a new member")
    assert viewer.pushes() > n0, "no roster push arrived"
    assert viewer.local_names() == {e2e.jid("petr"): "Пётр"}
    cli.groupadd(BOOKS)
    cli.useradd("olga", "Olga-pw-1", "-c", "Ольга")
    cli.groupmod(BOOKS, "-a", "olga")
    pushed(world, viewer, {SALES: ["petr"], BOOKS: ["olga"]}, "a user joins")
    cli.groupmod(SALES, "-n", PURCHASES)
    pushed(world, viewer, {PURCHASES: ["petr"], BOOKS: ["olga"]}, "a group renamed")
    cli.usermod("olga", "-g", PURCHASES)
    pushed(world, viewer, {PURCHASES: ["petr", "olga"]}, "a user moved")
    cli.usermod("petr", "-c", "Пётр Первый")
    pushed(world, viewer, {PURCHASES: ["petr", "olga"]}, "a nickname changed")
    assert viewer.local_names()[e2e.jid("petr")] == "Пётр Первый"


def test_lock_unlock_leave_delete_reach_a_connected_client(world, cli, viewer):
    cli.usermod("petr", "-L")
    pushed(world, viewer, {PURCHASES: ["olga"]}, "a user locked")
    cli.usermod("petr", "-U")
    pushed(world, viewer, {PURCHASES: ["petr", "olga"]}, "a user unlocked")
    cli.groupmod(PURCHASES, "-d", "olga")
    pushed(world, viewer, {PURCHASES: ["petr"]}, "a user leaves")
    cli.userdel("petr")
    pushed(world, viewer, {}, "a user deleted")
    cli.groupmod(PURCHASES, "-a", "olga")
    pushed(world, viewer, {PURCHASES: ["olga"]}, "a user joins again")
    cli.run("cl-groupdel", PURCHASES, "jabber")
    pushed(world, viewer, {}, "a group deleted")


def test_other_ldap_writers_changes_are_pushed_too(world, cli, viewer):
    """A member added by ldapmodify, not by the daemon: the daemon follows the directory."""
    cli.groupadd(BOOKS + " 2")
    [dn] = [l.split(": ", 1)[1] for l in world.slapd.search_external(
        f"ou=Groups,ou=Jabber,ou=Services,{world.slapd.base_dn}", "-o", "ldif-wrap=no",
        f"(description={BOOKS} 2)", "dn").stdout.splitlines() if l.startswith("dn: ")]
    r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri, "-Q"],
                       input=f"dn: {dn}\nchangetype: modify\nadd: memberUid\nmemberUid: olga\n",
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pushed(world, viewer, {BOOKS + " 2": ["olga"]}, "a member added by another LDAP writer")


# Avatars (XEP-0084 from the directory's photo) ------------------------------------------

def avatar(session, name):
    """(sha1, bytes) of `name`'s PEP avatar as a client reads it, or None."""
    meta = session.pep_items(e2e.jid(name), "urn:xmpp:avatar:metadata")
    if not meta or meta[-1][1] is None:
        return None
    info = meta[-1][1].find("{urn:xmpp:avatar:metadata}info")
    if info is None:
        return None
    sha = info.get("id")
    data = [p for i, p in session.pep_items(e2e.jid(name), "urn:xmpp:avatar:data") if i == sha]
    if not data or data[0] is None:
        return sha, None
    return sha, base64.b64decode(data[0].text or "")


def avatar_becomes(session, name, want, what):
    last = None

    def check():
        nonlocal last
        last = avatar(session, name)
        return last == want
    try:
        e2e.poll(check, what)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  want: {want and (want[0], len(want[1]))}\n"
                             f"  last: {last and (last[0], last[1] and len(last[1]), last[1] and last[1][:20])}") from None


def directory_photo(world, name):
    [photo] = e2e.ldap_attribute(world, name, "jpegPhoto")
    return hashlib.sha1(photo).hexdigest(), photo


def test_the_directory_photo_is_the_pep_avatar(world, cli, viewer, tmp_path):
    cli.groupadd("Фото")
    cli.useradd("anna", "Anna-pw-1", "-g", "Фото", "-i", e2e.write_png(str(tmp_path / "a.png")))
    first = directory_photo(world, "anna")
    avatar_becomes(viewer, "anna", first, "anna's avatar after cl-useradd -i")
    cli.usermod("anna", "-i", e2e.write_png(str(tmp_path / "b.png"), rgb=(0xe0, 0x20, 0x20)))
    second = directory_photo(world, "anna")
    assert second != first
    world.other_photo = first[1]
    avatar_becomes(viewer, "anna", second, "anna's avatar after a new photo")
    # XEP-0153: the hash in anna's presence is the new photo's (vera, in anna's group,
    # receives it).
    cli.groupmod("Фото", "-a", "vera")
    with e2e.login(world, "anna", "Anna-pw-1"):
        e2e.poll(lambda: any(f.startswith(e2e.jid("anna") + "/") and h == second[0]
                             for f, t, h in viewer.presences()),
                 f"anna's presence with the new hash (seen: {viewer.presences()})")
    cli.run("cl-jabber", "user", "photo", "anna", "--clear")
    assert e2e.ldap_attribute(world, "anna", "jpegPhoto") == []
    avatar_becomes(viewer, "anna", None, "anna's avatar after the photo was cleared")


def test_a_photo_written_by_another_ldap_writer_is_published(world, cli, viewer):
    """The daemon follows the directory: a jpegPhoto put there by ldapmodify (an import, a
    script) becomes the avatar too."""
    cli.useradd("boris", "Boris-pw-1")
    photo = world.other_photo
    dn = f"uid=boris,ou=Users,ou=Jabber,ou=Services,{world.slapd.base_dn}"
    ldif = (f"dn: {dn}\nchangetype: modify\nreplace: jpegPhoto\n"
            f"jpegPhoto:: {base64.b64encode(photo).decode()}\n")
    r = subprocess.run(["ldapmodify", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri, "-Q"],
                       input=ldif, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    avatar_becomes(viewer, "boris", (hashlib.sha1(photo).hexdigest(), photo),
                   "boris's avatar after ldapmodify")


def test_an_older_rendered_configuration_gets_the_socket_at_start(world, cli):
    """A configuration rendered by an older version (no API listener) is rendered again
    when the daemon starts: the link comes back without a command."""
    cfg = rendered(world)
    cfg["listen"] = [l for l in cfg["listen"] if l["module"] != "ejabberd_http"]
    del cfg["api_permissions"]["calculate-jabberd"]
    world.ejabberd.write_config("# Written by calculate-jabberd (cl-setup jabber). An older one.\n"
                                + yaml.safe_dump(cfg, allow_unicode=True))
    world.daemon.stop()
    r = world.ejabberd.restart()
    assert r.returncode == 0, r.stderr
    # ejabberd leaves the socket file behind; nobody listens on it now.
    world.start_daemon()
    e2e.poll(lambda: "# API link:" in open(world.ejabberd.config_file).read(),
             "the configuration rendered again", timeout=120)
    # The daemon's own restart of ejabberd has finished (the next test stops ejabberd).
    e2e.poll(lambda: "rendered ejabberd's configuration again and restarted ejabberd"
             in world.daemon.log(), "the daemon's refresh finished", timeout=120)
    e2e.poll(lambda: status_run(world)[1]["ejabberd_link"] == "api", "the API link back",
             timeout=120)


def test_a_photo_set_while_ejabberd_is_down_is_published_once_it_answers(world, cli, tmp_path):
    cli.useradd("gleb", "Gleb-pw-1")
    cli.useradd("reader", "Reader-pw-1")
    world.ejabberd.stop()
    try:
        cli.usermod("gleb", "-i", e2e.write_png(str(tmp_path / "g.png"), rgb=(0x40, 0x40, 0xc0)))
    finally:
        r = world.ejabberd.restart()
        assert r.returncode == 0, r.stderr
    want = directory_photo(world, "gleb")
    e2e.poll(lambda: status_run(world)[1]["ejabberd_link"] == "api",
             "ejabberd answers again through its socket")
    with e2e.login(world, "reader", "Reader-pw-1") as s:
        avatar_becomes(s, "gleb", want, "gleb's avatar once ejabberd answers again")
