"""The original manual's account and group lines, run as written (../shared/seed/README.md),
through the real CLI, daemon and slapd; each effect checked in LDAP itself. Passwords are
typed at a terminal (a pty) where the manual's commands ask for them. Also: the audit trail,
and the CLI's own polkit agent for a non-root administrator at a terminal."""

import os
import pty
import select
import struct
import subprocess
import time
import zlib

import pytest

from harness import client, polkit

BASE = "dc=example,dc=org"
USERS = "ou=Users,ou=Jabber,ou=Services," + BASE
GROUPS = "ou=Groups,ou=Jabber,ou=Services," + BASE


@pytest.fixture(scope="module")
def world(make_world):
    # `sys` may change users after authenticating as an administrator (PAM permits here).
    rules = polkit.rule("AUTH_ADMIN", users=["sys"]) + polkit.rule("NO", users=["nobody"])
    w = make_world(ldap="empty", rules=rules, pam="permit")
    r = cl(w, "cl-setup", "ldap")
    assert r.returncode == 0, r.stdout + r.stderr
    return w


def cl(world, command, *args, user=None, stdin=None):
    return client.run([os.path.join(world.cli_dir, command)] + list(args), user=user, input=stdin)


def read_pty(fd):
    """What the pty has now (waiting 0.2 s at most); None at its end."""
    if not select.select([fd], [], [], 0.2)[0]:
        return b""
    try:
        return os.read(fd, 4096) or None
    except OSError:                 # EIO: the command closed its side
        return None


def at_terminal(world, command, *args, answers=(), uid=0):
    """Runs a command on a pty (as root, or as @uid), typing each answer when a prompt ends
    in ': '. The pty stays open until the command ends, as an administrator's would."""
    pid, fd = pty.fork()
    if pid == 0:
        env = client.env_for(None if uid == 0 else "other")
        os.chdir("/")                   # not the clone, which another user may not enter
        if uid != 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.execve(os.path.join(world.cli_dir, command), [command] + list(args), env)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + 30
    done, status = 0, 0
    while not done and time.monotonic() < deadline:
        chunk = read_pty(fd)
        output += chunk or b""
        # Answer a prompt once, when it has just been written.
        if chunk and pending and output.rstrip(b" ").endswith(b":"):
            os.write(fd, pending.pop(0).encode() + b"\n")
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, 9)
        pytest.fail(f"{command} did not finish: {output!r}")
    # What the command wrote just before it ended is still in the pty.
    while (chunk := read_pty(fd)):
        output += chunk
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def ldap(world, base, filt, *attrs):
    r = world.slapd.search_external(base, filt, *attrs)
    assert r.returncode in (0, 32), r.stderr
    return r.stdout


def binds(world, name, password):
    r = subprocess.run(["ldapwhoami", "-x", "-H", world.slapd.uri, "-D", f"uid={name},{USERS}",
                        "-w", password], capture_output=True, text=True)
    return r.returncode == 0


def png(path, width=64, height=48):
    """A small RGB PNG, written by hand (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes((x * 4 % 256, y * 5 % 256, 128) * 1)[:3] * 1
                   for y in range(height) for x in [0]) if False else b""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            row += bytes((x * 4 % 256, y * 5 % 256, 128))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    os.chmod(path, 0o644)


def test_useradd_asks_the_password_twice(world):
    code, out = at_terminal(world, "cl-useradd", "-p", "-c", "Гость", "guest", "jabber",
                            answers=["first-secret", "first-secret"])
    assert code == 0, out
    assert "first-secret" not in out            # no echo
    entry = ldap(world, USERS, "(uid=guest)", "sn", "displayName", "mail", "userPassword")
    assert "displayName:: " in entry            # base64: UTF-8 "Гость"
    assert binds(world, "guest", "first-secret")


def test_useradd_with_a_photo(world, tmp_path_factory):
    pic = tmp_path_factory.mktemp("pic")
    png(os.path.join(pic, "guest.png"))
    os.chmod(pic, 0o755)
    code, out = at_terminal(world, "cl-useradd", "-p", "-c", "Гость", "-i",
                            os.path.join(pic, "guest.png"), "guest2", "jabber",
                            answers=["second-secret", "second-secret"])
    assert code == 0, out
    photo = ldap(world, USERS, "(uid=guest2)", "jpegPhoto")
    assert "jpegPhoto:: /9j/" in photo          # base64 of FF D8 FF: a JPEG


def test_mismatched_passwords_change_nothing(world):
    # Asked again after a mistyped retype, three times as passwd(1); then nothing changes.
    code, out = at_terminal(world, "cl-useradd", "-p", "guest3", "jabber",
                            answers=["one", "two"] * 3)
    assert code != 0 and out.count("try again") == 2 and "do not match" in out, out
    assert "uid=guest3" not in ldap(world, USERS, "(uid=guest3)", "uid")


def test_a_mistyped_retype_is_asked_again(world):
    code, out = at_terminal(world, "cl-useradd", "-p", "guest4", "jabber",
                            answers=["one-secret", "typo", "one-secret", "one-secret"])
    assert code == 0 and "try again" in out, out
    assert binds(world, "guest4", "one-secret")
    assert cl(world, "cl-userdel", "guest4", "jabber").returncode == 0


def test_passwd_asks_at_a_terminal(world):
    code, out = at_terminal(world, "cl-passwd", "guest", "jabber", answers=["new-secret", "new-secret"])
    assert code == 0, out
    assert binds(world, "guest", "new-secret")
    assert not binds(world, "guest", "first-secret")


def test_passwd_reads_standard_input_without_a_terminal(world):
    r = cl(world, "cl-passwd", "guest", "jabber", stdin="piped-secret\n")
    assert r.returncode == 0, r.stderr
    assert binds(world, "guest", "piped-secret")


def test_lock_and_unlock(world):
    assert cl(world, "cl-usermod", "-L", "guest", "jabber").returncode == 0
    assert "shadowExpire: 1" in ldap(world, USERS, "(uid=guest)", "shadowExpire")
    assert cl(world, "cl-usermod", "-U", "guest", "jabber").returncode == 0
    assert "shadowExpire" not in ldap(world, USERS, "(uid=guest)", "shadowExpire")


def test_groups_as_in_the_manual(world):
    assert cl(world, "cl-groupadd", "My test", "jabber").returncode == 0
    assert cl(world, "cl-groupmod", "-n", "Тестовая группа", "My test", "jabber").returncode == 0
    groups = ldap(world, GROUPS, "(objectClass=posixGroup)", "description")
    assert "My test" not in groups and "description:: " in groups  # Cyrillic is base64

    assert cl(world, "cl-groupadd", "Guest group", "jabber").returncode == 0
    r = cl(world, "cl-usermod", "-g", "Guest group", "guest", "jabber")
    assert r.returncode == 0, r.stderr
    assert "memberUid: guest" in ldap(world, GROUPS, "(description=Guest group)", "memberUid")

    r = cl(world, "cl-groupmod", "-d", "guest", "Guest group", "jabber")
    assert r.returncode == 0, r.stderr
    assert "memberUid" not in ldap(world, GROUPS, "(description=Guest group)", "memberUid")

    r = cl(world, "cl-groupmod", "-a", "guest,guest2", "Guest group", "jabber")
    assert r.returncode == 0, r.stderr
    members = ldap(world, GROUPS, "(description=Guest group)", "memberUid")
    assert "memberUid: guest\n" in members and "memberUid: guest2" in members


def test_slapd_keeps_group_names_unique_for_every_writer(world):
    """The daemon checks a name before it writes; cl-setup ldap also had the local slapd
    enforce it (the unique overlay on description), for other writers at the same time."""
    config = ldap(world, "cn=config", "(objectClass=olcUniqueConfig)", "olcUniqueURI")
    assert "description?one?(objectClass=posixGroup)" in config, config
    assert "description eq" in ldap(world, "cn=config", "(olcSuffix=*)", "olcDbIndex")
    ldif = (f"dn: cn=g0123456789abcdef,{GROUPS}\nobjectClass: posixGroup\n"
            "cn: g0123456789abcdef\ngidNumber: 50000\ndescription: GUEST GROUP\n")
    r = subprocess.run(["ldapadd", "-Q", "-Y", "EXTERNAL", "-H", world.slapd.ldapi_uri],
                       input=ldif, capture_output=True, text=True)
    assert r.returncode == 19, r.stdout + r.stderr                 # constraintViolation
    assert "g0123456789abcdef" not in ldap(world, GROUPS, "(objectClass=posixGroup)", "cn")


def test_moving_says_so(world):
    r = cl(world, "cl-usermod", "-g", "Тестовая группа", "guest", "jabber")
    assert r.returncode == 0, r.stderr
    assert "Guest group" in r.stdout and "Тестовая группа" in r.stdout, r.stdout
    assert "memberUid: guest\n" not in ldap(world, GROUPS, "(description=Guest group)", "memberUid") + "\n"


def test_unknown_members_change_nothing(world):
    before = ldap(world, GROUPS, "(objectClass=posixGroup)", "memberUid")
    r = cl(world, "cl-groupmod", "-a", "guest,nosuch1,nosuch2", "Guest group", "jabber")
    assert r.returncode == 4, r.stderr
    assert "nosuch1" in r.stderr and "nosuch2" in r.stderr, r.stderr
    assert ldap(world, GROUPS, "(objectClass=posixGroup)", "memberUid") == before


def test_groupdel_keeps_its_members(world):
    assert cl(world, "cl-groupdel", "Тестовая группа", "jabber").returncode == 0
    assert "description:: " not in ldap(world, GROUPS, "(objectClass=posixGroup)", "description")
    assert "uid: guest" in ldap(world, USERS, "(uid=guest)", "uid")


def test_other_services_are_not_managed_here(world):
    r = cl(world, "cl-useradd", "guest9", "mail")
    assert r.returncode == 2 and "not managed here" in r.stderr, r.stderr
    r = cl(world, "cl-useradd", "guest9")
    assert r.returncode == 2, r.stderr


def test_unauthorized_user_changes_nothing(world):
    before = ldap(world, BASE, "(objectClass=*)")
    r = cl(world, "cl-userdel", "guest", "jabber", user="nobody")
    assert r.returncode == 3, r.stderr
    r = cl(world, "cl-groupadd", "Intruders", "jabber", user="nobody")
    assert r.returncode == 3, r.stderr
    assert ldap(world, BASE, "(objectClass=*)") == before


def test_cli_starts_its_own_agent_at_a_terminal(world):
    """`sys` needs an administrator's authentication: at a terminal the CLI starts
    pkttyagent for itself (PAM permits in this world), so the change goes through."""
    code, out = at_terminal(world, "cl-usermod", "-L", "guest2", "jabber", uid=3)
    assert code == 0, out
    assert "AUTHENTICATING" in out or "Authenticating" in out, out
    assert "shadowExpire: 1" in ldap(world, USERS, "(uid=guest2)", "shadowExpire")
    # Without a terminal there is nobody to ask: refused at once.
    r = cl(world, "cl-usermod", "-U", "guest2", "jabber", user="sys")
    assert r.returncode == 3, r.stderr


def test_one_command_asks_for_authorization_once(world):
    """Nickname, group and lock in one command: one User.Modify call, so the CLI's polkit
    agent is asked once (each option was a call, and a prompt, before)."""
    assert cl(world, "cl-groupadd", "Sales", "jabber").returncode == 0
    code, out = at_terminal(world, "cl-usermod", "-c", "Nick", "-g", "Sales", "-U", "guest2",
                            "jabber", uid=3)
    assert code == 0, out
    assert out.count("AUTHENTICATING FOR") == 1, out
    entry = ldap(world, USERS, "(uid=guest2)", "displayName", "shadowExpire")
    assert "displayName: Nick" in entry and "shadowExpire" not in entry, entry
    assert "memberUid: guest2" in ldap(world, GROUPS, "(description=Sales)", "memberUid")
    assert "“Sales”" in out and "User guest2 unlocked" in out, out


def test_groupmod_asks_for_authorization_once(world):
    """-a, -d and -n in one Group.Modify call: one prompt."""
    assert cl(world, "cl-groupadd", "Temp", "jabber").returncode == 0
    assert cl(world, "cl-groupmod", "-a", "guest", "Temp", "jabber").returncode == 0
    code, out = at_terminal(world, "cl-groupmod", "-a", "guest2", "-d", "guest", "-n", "Temp 2",
                            "Temp", "jabber", uid=3)
    assert code == 0, out
    assert out.count("AUTHENTICATING FOR") == 1, out
    entry = ldap(world, GROUPS, "(description=Temp 2)", "memberUid")
    assert "memberUid: guest2" in entry and "memberUid: guest\n" not in entry + "\n", entry
    assert "renamed to “Temp 2”" in out, out
    assert cl(world, "cl-groupdel", "Temp 2", "jabber").returncode == 0


def test_userdel_and_the_audit_trail(world):
    assert cl(world, "cl-userdel", "guest2", "jabber").returncode == 0
    assert "uid=guest2" not in ldap(world, USERS, "(uid=guest2)", "uid")
    # The audit lines go to syslog (authpriv); the daemon runs with --debug here, which
    # copies each into its own log (this machine may have no /dev/log to catch them).
    with open(os.path.join(world.top, "calculate-jabberd.log"), "rb") as f:
        log = f.read().decode(errors="replace")
    assert "request by uid=0" in log and "User.Delete" in log and 'target="guest2": ok' in log
    assert "uid=65534" in log and "failed" in log                 # nobody's refused attempts
    assert "Тестовая группа" in log                               # readable, not escaped
    for secret in ("first-secret", "second-secret", "new-secret", "piped-secret"):
        assert secret not in log
