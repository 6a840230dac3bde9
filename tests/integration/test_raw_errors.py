"""Raw errors become the documented typed ones (issue 13): before `cl-setup ldap` on an
empty slapd, changes say NotConfigured (7), not slapd's "no global superior knowledge";
`cl-setup --listen` with an address this machine does not have is refused before ejabberd is
touched, in one line. The setup reports read in Russian under a Russian locale."""

import os
import re
import subprocess

import pytest

from harness import client



@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap="empty", polkit="real")



def run(world, command, *args, stdin=None, russian=False):
    env = client.env_for(None)
    if russian:
        env.update(LC_ALL="ru_RU.UTF-8",
                   CJ_LOCALEDIR=os.path.join(os.path.dirname(world.cli_dir), "po"))
    return subprocess.run([os.path.join(world.cli_dir, command)] + list(args), env=env,
                          input=stdin, capture_output=True, text=True, timeout=120, cwd="/")


def test_changes_before_setup_say_not_configured(world):
    for argv in (["cl-useradd", "guest", "jabber"], ["cl-groupadd", "Sales", "jabber"]):
        r = run(world, *argv)
        assert r.returncode == 7, r.stderr
        assert "cl-setup ldap" in r.stderr and "superior" not in r.stderr, r.stderr
    r = run(world, "cl-useradd", "guest", "jabber", russian=True)
    assert r.returncode == 7 and "cl-setup ldap" in r.stderr, r.stderr
    assert re.search("[А-Яа-я]", r.stderr), r.stderr


def test_setup_report_in_russian(world):
    r = run(world, "cl-setup", "ldap", russian=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for line in r.stdout.splitlines():
        assert re.search("[А-Яа-я]", line), r.stdout


def test_listen_address_checked_before_ejabberd(world):
    r = run(world, "cl-setup", "-P", "--listen", "203.0.113.77", "jabber", stdin="admin-secret\n")
    assert r.returncode == 6, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "203.0.113.77" in r.stderr and "127.0.0.1" in r.stderr, r.stderr
    r = run(world, "cl-setup", "-P", "--listen", "203.0.113.77", "jabber", stdin="admin-secret\n",
            russian=True)
    assert r.returncode == 6 and re.search("[А-Яа-я]", r.stderr), r.stderr
