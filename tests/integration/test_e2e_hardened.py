"""End to end under the systemd unit's confinement (data/calculate-jabberd.service.in),
reproduced without systemd: the daemon runs with the unit's CapabilityBoundingSet (its
allow-list, read from the unit file), NoNewPrivileges and UMask. The manual's flow must
still work — cl-setup ldap (new database, its directory chowned to slapd's user), cl-setup
jabber with history (ejabberd's files chowned, ejabberd restarted, the history directory
given to ejabberd), accounts, a lock that ends the session through ejabberd's API socket and,
with the socket absent, through ejabberdctl (su to the ejabberd user) — and the files ejabberd reads keep their explicit modes despite the umask.
(ProtectSystem, ReadWritePaths and ProtectProc need systemd; `systemd-analyze security`
covers those, see docs/reliability.md.)"""

import os
import re
import stat
import subprocess

import pytest

from harness import e2e, namespace, xmpp

UNIT = os.path.join(os.environ.get("SOURCEDIR", "."), "data", "calculate-jabberd.service.in")


def unit_setting(key):
    with open(UNIT) as f:
        values = [m.group(1) for m in re.finditer(rf"^{key}=(.*)$", f.read(), re.MULTILINE)]
    assert len(values) == 1, (key, values)
    return values[0]


def capabilities():
    caps = unit_setting("CapabilityBoundingSet").split()
    assert caps and not caps[0].startswith("~"), "the unit's bounding set is not an allow-list"
    return caps


def capability_numbers():
    """{name: number} in the kernel's order, as setpriv lists them (CAP_CHOWN: 0, ...)."""
    r = subprocess.run(["setpriv", "--list-caps"], capture_output=True, text=True, check=True)
    return {f"CAP_{name.upper()}": i for i, name in enumerate(r.stdout.split())}


@pytest.fixture(scope="module")
def world(make_world):
    xmpp.quiet()
    caps = ",".join(["-all"] + ["+" + c[len("CAP_"):].lower() for c in capabilities()])
    # A wrapper in front of the world's own copy of the daemon (the clone may be hidden, and
    # the confined daemon could not run its photo helper from there).
    wrapper = ["/bin/sh", "-c",
               f"umask {unit_setting('UMask')}; "
               f"exec setpriv --bounding-set={caps} --no-new-privs -- \"$@\"", "confined"]
    w = make_world(ldap="empty", polkit="real", daemon=False)
    w.start_daemon(wrapper=wrapper)
    w.cli = e2e.Cli(w)
    return w


def daemon_status(world):
    """The fields of /proc/<daemon>/status (the setpriv wrapper exec'd the daemon)."""
    with open(f"/proc/{world.daemon.proc.pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_the_daemon_runs_confined(world):
    st = daemon_status(world)
    numbers = capability_numbers()
    want = sum(1 << numbers[c] for c in capabilities())
    assert int(st["CapBnd"], 16) == want, st["CapBnd"]
    assert int(st["CapEff"], 16) & ~want == 0, st["CapEff"]
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Umask"].strip() == unit_setting("UMask")


def test_setup_ldap(world):
    out = world.cli.setup_ldap()
    assert "Created an LDAP database" in out, out
    # The accesslog database beside it (the unit makes and allows DatabaseDirectory-accesslog).
    assert "Created the accesslog database" in out, out
    secret = os.path.join(world.top, "state", "ejabberd-ldap.secret")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600


def test_setup_jabber_with_history(world):
    world.cli.setup_jabber("--primary-host", namespace.HOSTNAME, "--history", "on")
    assert world.ejabberd.running()
    for path in (world.ejabberd.config_file, world.ejabberd.certificate_file):
        st = os.stat(path)
        # 0640 root:<group of the directory>, as without the umask: ejabberd reads them.
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o640, (path, oct(st.st_mode))
        assert st.st_gid == os.stat(os.path.dirname(path)).st_gid, path


def test_accounts_and_a_lock_through_the_api_socket(world):
    """kick_user through ejabberd's API socket (srwxr-xr-x ejabberd in a 0700 ejabberd
    directory: CAP_DAC_OVERRIDE) from the confined daemon."""
    assert world.cli.status()["ejabberd_link"] == "api"
    world.cli.useradd("alice", "Alice-pw-1", "-c", "Алиса")
    assert e2e.try_login(world, "alice", "Alice-pw-1") == "ok"
    with e2e.login(world, "alice", "Alice-pw-1") as s:
        assert s.sasl_mechanisms() == ["PLAIN"]
        world.cli.usermod("alice", "-L")
        assert s.wait_disconnected(e2e.DEADLINE), "the locked user's session is still open"
    assert e2e.try_login(world, "alice", "Alice-pw-1") == "auth-failed"
    world.cli.usermod("alice", "-U")
    assert e2e.try_login(world, "alice", "Alice-pw-1") == "ok"
    assert "Could not" not in world.daemon.log()


def test_a_lock_through_ejabberdctl_when_the_socket_is_absent(world):
    """The fallback: ejabberdctl, su to the ejabberd user, from the confined daemon."""
    hidden = world.ejabberd.api_socket + ".away"
    os.rename(world.ejabberd.api_socket, hidden)
    try:
        with e2e.login(world, "alice", "Alice-pw-1") as s:
            world.cli.usermod("alice", "-L")
            assert s.wait_disconnected(e2e.DEADLINE), "the locked user's session is still open"
        world.cli.usermod("alice", "-U")
    finally:
        os.rename(hidden, world.ejabberd.api_socket)


def test_photo_through_the_confined_helper(world, tmp_path):
    """The daemon starts calculate-jabber-photo as nobody (setgroups, setgid, setuid under
    the bounding set and no_new_privs); the JPEG reaches the vCard."""
    image = e2e.write_png(str(tmp_path / "face.png"), size=300)
    os.chmod(tmp_path, 0o755)
    world.cli.useradd("bob", "Bob-pw-1", "-c", "Боб", "-i", image)
    with e2e.login(world, "alice", "Alice-pw-1") as s:
        card = s.vcard(e2e.jid("bob"))
    assert card.photo[:2] == b"\xff\xd8" and card.nickname == "Боб", card
    svg = tmp_path / "face.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    r = world.cli.run("cl-usermod", "-i", str(svg), "bob", "jabber")
    assert r.returncode != 0 and "JPEG, PNG, GIF, WebP, BMP" in r.stderr, r.stderr
