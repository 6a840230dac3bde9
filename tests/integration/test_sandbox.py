"""The sandbox world (`python3 -m harness sandbox`, what scripts/sandbox starts after
building): a command runs inside with the documented variables, its exit status comes
back, and nothing is left behind."""

import os
import subprocess

from conftest import BUILDDIR, SOURCEDIR

HARNESS = os.path.join(os.path.dirname(__file__), "..")


def sandbox(*command, ldap="database", timeout=60):
    env = dict(os.environ, PYTHONPATH=HARNESS, SANDBOX_LDAP=ldap)
    # A nested harness: it gets namespaces of its own inside ours.
    return subprocess.run(["/usr/bin/python3", "-m", "harness", "sandbox",
                           "--builddir", BUILDDIR, "--sourcedir", SOURCEDIR, "--"]
                          + list(command), env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_command_sees_the_world():
    r = sandbox("sh", "-c", 'echo "uri=$SANDBOX_LDAP_URI"; echo "dn=$SANDBOX_LDAP_ADMIN_DN";'
                ' echo "dir=$SANDBOX_DIR"; echo "bus=$DBUS_SYSTEM_BUS_ADDRESS";'
                ' ldapsearch -x -LLL -H "$SANDBOX_LDAP_URI" -D "$SANDBOX_LDAP_ADMIN_DN"'
                ' -w "$SANDBOX_LDAP_ADMIN_PASSWORD" -b dc=example,dc=org -s base dn;'
                ' gdbus call --system -d org.freedesktop.DBus -o /org/freedesktop/DBus'
                ' -m org.freedesktop.DBus.NameHasOwner org.calculate.Jabber;'
                ' command -v cl-jabber')
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "uri=ldap://127.0.0.1:" in out
    assert "dn=cn=admin,dc=example,dc=org" in out
    assert "dn: dc=example,dc=org" in out
    assert "(true,)" in out
    # Everything is stopped and removed on exit.
    world_dir = [line[4:] for line in out.splitlines() if line.startswith("dir=")][0]
    # The built CLI, copied into the world (any user may run it: the clone may be 0700).
    assert os.path.join(world_dir, "build", "cli", "cl-jabber") in out
    assert world_dir.startswith("/tmp/cj-world-")
    assert not os.path.exists(world_dir)


def test_exit_status_comes_back():
    assert sandbox("sh", "-c", "exit 7").returncode == 7


def test_empty_ldap_shape():
    r = sandbox("sh", "-c", 'ldapsearch -Q -LLL -Y EXTERNAL -H "$SANDBOX_LDAPI_URI"'
                ' -b cn=config "(olcDatabase=*)" olcDatabase', ldap="empty")
    assert r.returncode == 0, r.stderr
    assert "mdb" not in r.stdout, r.stdout
    assert "{0}config" in r.stdout, r.stdout


def test_xmpp_variables():
    r = sandbox("sh", "-c", 'echo "port=$SANDBOX_XMPP_PORT host=$SANDBOX_XMPP_HOST";'
                ' hostname; test -x "${SANDBOX_EJABBERDCTL%% *}" && echo ctl-ok;'
                ' grep -c "^ERL_DIST_PORT=" "$SANDBOX_EJABBERD_DIR/etc/ejabberdctl.cfg"')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert "host=sandbox.example.org" in lines and "sandbox.example.org" in lines, r.stdout
    assert any(l.startswith("port=") and l[5:].isdigit() for l in lines), r.stdout
    assert "ctl-ok" in lines, r.stdout


# The manual's installation section, in order, then a real XMPP client (issue 6, item 5).
MANUAL = r"""
set -e
cl-setup ldap
printf 'Admin-pass-1\n' | cl-setup jabber
cl-groupadd 'Отдел продаж' jabber
printf 'Guest-pw-1\n' | cl-useradd -P -c 'Гость' -g 'Отдел продаж' guest jabber
printf 'Other-pw-1\n' | cl-useradd -P -g 'Отдел продаж' other jabber
/usr/bin/python3 - <<'PY'
import os
from harness import xmpp
xmpp.quiet()
port = int(os.environ["SANDBOX_XMPP_PORT"])
host = os.environ["SANDBOX_XMPP_HOST"]
with xmpp.login(f"guest@{host}", "Guest-pw-1", port) as s:
    print("ROSTER", sorted((g, sorted(m)) for g, m in s.roster().items()))
PY
"""


def test_manual_flow_ends_in_an_xmpp_login():
    r = sandbox("sh", "-c", MANUAL, ldap="empty", timeout=150)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ROSTER [('Отдел продаж', ['other@sandbox.example.org'])]" in r.stdout, r.stdout
