"""What an administrator sees at the terminal (issue 13): help everywhere, clear mistakes,
--version and --json everywhere, tables aligned by display width, and, under a Russian
locale, whole flows read in Russian (the CLI's own messages and the daemon's)."""

import json
import os
import re
import shlex
import subprocess
import unicodedata

import pytest

from harness import client

COMMANDS = ["cl-jabber", "cl-setup", "cl-useradd", "cl-passwd", "cl-userdel", "cl-usermod",
            "cl-groupadd", "cl-groupdel", "cl-groupmod"]
USER_VERBS = ["add", "passwd", "lock", "unlock", "mod", "del", "list", "show", "photo"]
GROUP_VERBS = ["add", "del", "rename", "add-members", "remove-members", "list", "show"]


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="database", polkit="real",
                   config={"Passwords": {"MinimumLength": 8}})     # the shipped default
    assert run(w, "cl-setup", "ldap").returncode == 0
    return w


def run(world, command, *args, russian=False, stdin=None):
    env = client.env_for(None)
    if russian:
        env.update(LC_ALL="ru_RU.UTF-8", LANG="ru_RU.UTF-8",
                   CJ_LOCALEDIR=os.path.join(os.path.dirname(world.cli_dir), "po"))
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
             "LDAP", "ejabberd", "XMPP", "JSON", "import", "export"}
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


SOURCEDIR = os.environ.get("SOURCEDIR", ".")


def complete(world, tmp_path, *words):
    """COMPREPLY of bash's completion for @words (the last is being typed), loaded as bash
    does: _completion_loader finds the command's file (a link per name) by its name."""
    user_dir = tmp_path / "bash-completion"
    (user_dir / "completions").mkdir(parents=True, exist_ok=True)
    for command in COMMANDS:
        link = user_dir / "completions" / command
        if not link.exists():
            link.symlink_to(os.path.join(os.path.abspath(SOURCEDIR), "cli", "completion", "cl-jabber"))
    quoted = " ".join(shlex.quote(w) for w in words)
    script = f"""
source /usr/share/bash-completion/bash_completion
_completion_loader {shlex.quote(words[0])}
COMP_WORDS=({quoted})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
spec=$(complete -p {shlex.quote(words[0])}) || exit 3
function=$(sed -E 's/.*-F ([^ ]+).*/\\1/' <<<"$spec")
"$function" {shlex.quote(words[0])} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = client.env_for(None)
    env.update(BASH_COMPLETION_USER_DIR=str(user_dir), LC_ALL="C.UTF-8",
               PATH=world.cli_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin"))
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                       timeout=60, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.split("\n") if line]


@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/bash_completion"),
                    reason="bash-completion is not installed")
def test_bash_completion(world, tmp_path):
    assert run(world, "cl-groupadd", "Sales team", "jabber").returncode == 0
    assert "user" in complete(world, tmp_path, "cl-jabber", "")
    assert complete(world, tmp_path, "cl-jabber", "user", "lo") == ["lock"]
    assert complete(world, tmp_path, "cl-jabber", "group", "add-m") == ["add-members"]
    assert "--no-legend" in complete(world, tmp_path, "cl-jabber", "user", "list", "--no")
    assert complete(world, tmp_path, "cl-usermod", "--no-i") == ["--no-image"]
    # Names from the daemon, quoted for the shell: spaces and Cyrillic.
    assert sorted(complete(world, tmp_path, "cl-usermod", "-g", "")) == sorted(
        [shlex_bash("Sales team"), shlex_bash("Отдел продаж")])
    assert complete(world, tmp_path, "cl-usermod", "-g", "Sales\\ t") == ["Sales\\ team"]
    assert complete(world, tmp_path, "cl-jabber", "group", "show", "'Sales t") == ["Sales\\ team"]
    assert complete(world, tmp_path, "cl-groupdel", "Отд") == [shlex_bash("Отдел продаж")]
    assert complete(world, tmp_path, "cl-userdel", "ca") == ["carl"]
    assert complete(world, tmp_path, "cl-userdel", "carl", "") == ["jabber"]
    assert sorted(complete(world, tmp_path, "cl-setup", "")) == ["jabber", "ldap"]
    assert complete(world, tmp_path, "cl-jabber", "group", "add-members", "Sales\\ team", "d") == ["dora"]
    assert sorted(complete(world, tmp_path, "cl-jabber", "setup", "")) == ["jabber", "ldap"]
    assert complete(world, tmp_path, "cl-jabber", "setup", "--hi") == ["--history"]
    assert sorted(complete(world, tmp_path, "cl-setup", "--history", "o")) == ["off", "on"]


def shlex_bash(name):
    """What bash's printf %q makes of @name."""
    r = subprocess.run(["bash", "-c", 'printf "%q" "$1"', "-", name], capture_output=True,
                       text=True, env=dict(os.environ, LC_ALL="C.UTF-8"))
    return r.stdout


def test_refused_requests_name_their_target_in_syslog(world):
    """The audit reaches the world's syslog (/dev/log of its own when the host has none),
    and a refused request names what it asked for, not the object it was sent to."""
    exe = os.path.join(world.cli_dir, "cl-groupadd")
    assert client.run([exe, "Intruders", "jabber"], user="nobody").returncode == 3
    exe = os.path.join(world.cli_dir, "cl-userdel")
    assert client.run([exe, "carl", "jabber"], user="nobody").returncode == 3
    lines = world.syslog.lines()
    assert any("calculate-jabberd" in l and "Manager.AddGroup" in l and 'target="Intruders": failed' in l
               for l in lines), lines
    assert any("uid=65534" in l and "User.Delete" in l and 'target="carl": failed' in l
               for l in lines), lines


def test_password_policy(world):
    """[Passwords] MinimumLength (8 unless configured), checked by the daemon before polkit."""
    r = run(world, "cl-useradd", "-P", "shorty", "jabber", stdin="abc\n")
    assert r.returncode == 6 and "shorter than 8 characters" in r.stderr, r.stderr
    r = run(world, "cl-useradd", "-P", "shorty", "jabber", stdin="abc\n", russian=True)
    assert r.returncode == 6 and re.search("[А-Яа-я]", r.stderr) and "8" in r.stderr, r.stderr
    r = run(world, "cl-useradd", "-P", "shorty", "jabber", stdin="Пароль-8\n")
    assert r.returncode == 0, r.stderr
    assert run(world, "cl-userdel", "shorty", "jabber").returncode == 0
