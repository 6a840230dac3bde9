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
