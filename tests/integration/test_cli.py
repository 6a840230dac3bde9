"""cl-jabber against the real daemon in the world; and the whole API seen from the bus."""

import os

import pytest

from harness import client

INTERFACES = ("org.calculate.Jabber.Manager", "org.calculate.Jabber.Server",
              "org.freedesktop.DBus.ObjectManager")


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(ldap="database", polkit="real")


def cli(world, *args, user=None):
    exe = os.path.join(world.cli_dir, "cl-jabber")
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} was not built")
    return client.run([exe] + list(args), user=user)


@pytest.mark.parametrize("user", ["root", "nobody"])
def test_status(world, user):
    # Reading needs no authorization: any user may ask for the state.
    r = cli(world, "status", user=user)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip(), "status printed nothing"


def test_help(world):
    r = cli(world, "--help")
    assert r.returncode == 0, r.stderr
    assert "status" in r.stdout


def test_introspection_lists_interfaces(world):
    r = client.run(["gdbus", "introspect", "--system", "-d", client.SERVICE,
                    "-o", client.MANAGER_PATH, "-r"])
    assert r.returncode == 0, r.stderr
    for iface in INTERFACES:
        assert f"interface {iface}" in r.stdout, (iface, r.stdout)
    assert "node /org/calculate/Jabber/Server" in r.stdout, r.stdout


@pytest.mark.skipif(os.environ.get("CJ_HARNESS_SHARED_CLONE") == "1",
                    reason="CJ_HARNESS_SHARED_CLONE=1: the clone is not hidden")
def test_other_users_need_not_enter_the_clone(world):
    """The harness hides the clone from other users (as a clone in root's 0700 home is):
    the built CLI there is out of their reach, the world's copy is what they run."""
    built = os.path.join(world.built_cli_dir, "cl-jabber")
    r = client.run([built, "--version"], user="nobody")
    assert r.returncode != 0 and "Permission denied" in r.stderr, (r.returncode, r.stderr)
    r = client.run([os.path.join(world.cli_dir, "cl-jabber"), "--version"], user="nobody")
    assert r.returncode == 0, r.stderr
    assert not world.cli_dir.startswith(os.path.realpath(os.environ["SOURCEDIR"]))
