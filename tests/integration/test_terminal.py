"""What an administrator sees at the terminal (issue 13): help everywhere, clear mistakes,
--version and --json everywhere, tables aligned by display width, and, under a Russian
locale, whole flows read in Russian (the CLI's own messages and the daemon's)."""

import json
import os
import re
import subprocess
import unicodedata

import pytest

from harness import client

COMMANDS = ["cl-jabber", "cl-setup", "cl-useradd", "cl-passwd", "cl-userdel", "cl-usermod",
            "cl-groupadd", "cl-groupdel", "cl-groupmod"]
USER_VERBS = ["add", "passwd", "lock", "unlock", "mod", "del", "list", "show", "photo"]
GROUP_VERBS = ["add", "del", "rename", "add-members", "remove-members", "list", "show"]
BUILDDIR = os.environ.get("BUILDDIR", "build")


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="database", polkit="real")
    assert run(w, "cl-setup", "ldap").returncode == 0
    return w


def run(world, command, *args, russian=False, stdin=None):
    env = client.env_for(None)
    if russian:
        env.update(LC_ALL="ru_RU.UTF-8", LANG="ru_RU.UTF-8",
                   CJ_LOCALEDIR=os.path.join(BUILDDIR, "po"))
    return subprocess.run([os.path.join(world.cli_dir, command)] + list(args), env=env,
                          input=stdin, capture_output=True, text=True, timeout=60, cwd="/")


def width(text):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_starts(line, values):
    """Display column where each of @values starts in @line (searched left to right)."""
    starts, at = [], 0
    for v in values:
        at = line.index(v, at)
        starts.append(width(line[:at]))
        at += len(v)
    return starts


def test_help_for_every_group_and_subcommand(world):
    for noun, verbs in (("user", USER_VERBS), ("group", GROUP_VERBS)):
        r = run(world, "cl-jabber", noun, "--help")
        assert r.returncode == 0, r.stdout + r.stderr
        for verb in verbs:
            assert f"  {verb} " in r.stdout, (verb, r.stdout)
        for verb in verbs:
            r = run(world, "cl-jabber", noun, verb, "--help")
            assert r.returncode == 0, (verb, r.stderr)
            assert f"cl-jabber {noun} {verb}" in r.stdout, r.stdout
            assert "--json" in r.stdout, r.stdout
    for command in COMMANDS[1:]:
        r = run(world, command, "--help")
        assert r.returncode == 0 and "--json" in r.stdout, r.stdout + r.stderr


def test_mistakes_are_named(world):
    r = run(world, "cl-jabber", "user")
    assert r.returncode == 2 and "a command is missing" in r.stderr, r.stderr
    r = run(world, "cl-jabber", "group", "frob")
    assert r.returncode == 2 and "unknown command “frob”" in r.stderr, r.stderr
    r = run(world, "cl-useradd", "guest2")
    assert r.returncode == 2 and "the service word is missing" in r.stderr, r.stderr
    assert "cl-useradd guest2 jabber" in r.stderr, r.stderr
    r = run(world, "cl-useradd", "guest2", "mail")
    assert r.returncode == 2 and "not managed here" in r.stderr, r.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_version_everywhere(world, command):
    r = run(world, command, "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rf"{command} \(calculate-jabber\) \S+\n", r.stdout), r.stdout


def test_json_errors(world):
    r = run(world, "cl-jabber", "--json", "user", "show", "nosuch")
    assert r.returncode == 4, r.stderr
    error = json.loads(r.stderr)
    assert error["error"] == "org.calculate.Jabber.Error.NotFound" and error["exit"] == 4, error
    assert "nosuch" in error["message"]
    r = run(world, "cl-useradd", "--json", "Guest", "jabber")
    assert r.returncode == 6, r.stderr
    assert json.loads(r.stderr)["error"] == "org.calculate.Jabber.Error.InvalidArgument"
    r = run(world, "cl-jabber", "user", "--json")
    assert r.returncode == 2 and json.loads(r.stderr)["error"] == "Usage", r.stderr


def test_user_table_is_aligned_by_display_width(world):
    rows = [("amy", "Эмили Браун"), ("bo", "李小龍"), ("carl", "C"), ("dora", "e\u0301té")]
    assert run(world, "cl-groupadd", "Отдел продаж", "jabber").returncode == 0
    for name, nick in rows:
        r = run(world, "cl-useradd", "-c", nick, "-g", "Отдел продаж", name, "jabber")
        assert r.returncode == 0, r.stderr
    assert run(world, "cl-usermod", "-L", "bo", "jabber").returncode == 0
    r = run(world, "cl-jabber", "user", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "JID", "NICKNAME", "GROUP", "LOCKED", "PASSWORD", "PHOTO"]
    starts = [column_starts(line, [name, "@", nick, "Отдел продаж"])
              for line, (name, nick) in zip(lines[1:], rows)]
    assert len({s[2] for s in starts}) == 1, r.stdout      # nicknames start together
    assert len({s[3] for s in starts}) == 1, r.stdout      # and so do the groups
    bo = lines[2].split()
    assert bo[-3:] == ["yes", "none", "no"], lines[2]
    # Scripts: no header, tabs; JSON unchanged.
    r = run(world, "cl-jabber", "user", "list", "--no-legend")
    assert r.stdout.splitlines()[1].split("\t")[:4] == ["bo", bo[1], "李小龍", "Отдел продаж"]
    r = run(world, "cl-jabber", "--json", "user", "list")
    assert [u["name"] for u in json.loads(r.stdout)] == [n for n, _ in rows]
    r = run(world, "cl-jabber", "group", "list")
    assert r.stdout.splitlines()[1].split()[2:] == ["4", "amy,", "bo,", "carl,", "dora"]


def test_usermod_confirms_and_removes_a_photo(world):
    r = run(world, "cl-usermod", "-c", "Carl C", "carl", "jabber")
    assert r.returncode == 0 and "carl" in r.stdout, r.stdout + r.stderr
    r = run(world, "cl-usermod", "-I", "carl", "jabber")
    assert r.returncode == 0 and "carl" in r.stdout, r.stdout + r.stderr


CYRILLIC = re.compile("[А-Яа-яЁё]")


def russian_only(text, allowed=()):
    """Every word of @text in Latin letters is one of @allowed (names, commands)."""
    for word in re.findall(r"[A-Za-z][A-Za-z-]*", text):
        assert word in allowed, (word, text)
    assert CYRILLIC.search(text), text


def test_russian_flows_read_in_russian(world):
    names = {"cl-useradd", "cl-usermod", "cl-jabber", "user", "jabber", "help", "nosuch",
             "Guest", "guest", "list", "show", "add", "JID", "sandbox", "example", "org",
             "localhost", "cl-groupadd", "cl-groupmod", "Sales", "frob", "passwd", "lock",
             "unlock", "mod", "del", "photo", "json", "legend", "no-legend", "Jabber", "ID",
             "LDAP", "ejabberd", "XMPP", "JSON"}
    # The daemon's validation and look-ups, in the caller's language.
    r = run(world, "cl-useradd", "Guest", "jabber", russian=True)
    assert r.returncode == 6, r.stderr
    russian_only(r.stderr, names)
    r = run(world, "cl-usermod", "-L", "nosuch", "jabber", russian=True)
    assert r.returncode == 4, r.stderr
    russian_only(r.stderr, names)
    # Mistakes of the CLI's own.
    for argv in (["cl-useradd", "guest"], ["cl-jabber", "user"], ["cl-jabber", "user", "frob"]):
        r = run(world, *argv, russian=True)
        assert r.returncode == 2, r.stderr
        russian_only(r.stderr, names)
    # A whole flow: add, change, list, show.
    r = run(world, "cl-useradd", "-P", "-c", "Гость", "guest", "jabber", russian=True, stdin="secret-1\n")
    assert r.returncode == 0, r.stderr
    r = run(world, "cl-usermod", "-L", "-g", "Отдел продаж", "guest", "jabber", russian=True)
    assert r.returncode == 0, r.stderr
    r = run(world, "cl-jabber", "user", "list", russian=True)
    assert r.returncode == 0, r.stderr
    header = r.stdout.splitlines()[0]
    russian_only(header, names)
    r = run(world, "cl-jabber", "user", "show", "guest", russian=True)
    russian_only(re.sub(r"\S+@\S+", "", r.stdout), names)
    r = run(world, "cl-jabber", "user", "add", "--help", russian=True)
    russian_only(r.stdout.replace("--", " "), names | {"nickname", "password", "password-stdin",
                                                       "stdin", "group", "version", "h", "c",
                                                       "p", "P", "g", "i", "j"})
