"""End to end, `cl-setup jabber` and its options (issue 6): the default primary host (the
machine's name: the world's is namespace.HOSTNAME), `--hosts`, `--history on`, `--listen`,
re-running to reconfigure, and a failed reconfiguration that keeps the previous one — each
proved with a real XMPP client against the ejabberd the daemon (re)started.

One world for the file; the tests run in order and reconfigure it step by step."""

import os
import socket

import pytest

from harness import e2e, namespace, xmpp

HOST = namespace.HOSTNAME
EXTRA = "jabber.myhost.ru"


@pytest.fixture(scope="module")
def world(make_world):
    xmpp.quiet()
    # No --primary-host: the machine's host name, as the manual has it.
    w, cli = e2e.configured_world(make_world, primary_host=None)
    w.cli = cli
    cli.groupadd("Склад")
    cli.useradd("ivan", "Ivan-pw-1", "-g", "Склад", "-c", "Иван")
    cli.useradd("olga", "Olga-pw-1", "-g", "Склад", "-c", "Ольга")
    return w


def accepts(address, port):
    try:
        socket.create_connection((address, port), timeout=3).close()
        return True
    except OSError:
        return False


def test_primary_host_is_the_machine_name(world):
    st = world.cli.status()
    assert st["primary_host"] == HOST == socket.gethostname(), st
    assert e2e.try_login(world, "ivan", "Ivan-pw-1") == "ok"
    # A host this server does not serve is refused (issue 6, item 4).
    assert e2e.try_login(world, "ivan", "Ivan-pw-1", host="other.example.net") != "ok"


def test_extra_host(world):
    out = world.cli.setup_jabber("--hosts", EXTRA, password=None)
    assert out.strip(), "cl-setup jabber reported nothing"
    st = world.cli.status()
    assert st["hosts"][0] == HOST and EXTRA in st["hosts"], st
    assert e2e.try_login(world, "ivan", "Ivan-pw-1", host=EXTRA) == "ok"
    assert e2e.try_login(world, "ivan", "Ivan-pw-2", host=EXTRA) == "auth-failed"
    # The primary host still works.
    assert e2e.try_login(world, "ivan", "Ivan-pw-1") == "ok"


def test_history_on_logs_a_message(world):
    world.cli.setup_jabber("--hosts", EXTRA, "--history", "on", password=None)
    st = world.cli.status()
    assert st["history"] is True, st
    assert st["history_directory"] == world.ejabberd.history, st
    body = "история: сообщение для Ольги"
    with e2e.login(world, "ivan", "Ivan-pw-1") as a, e2e.login(world, "olga", "Olga-pw-1") as b:
        a.send(e2e.jid("olga"), body)
        e2e.poll(lambda: (e2e.jid("ivan"), body) in b.received(), "olga receives the message")

    def logged():
        for name in world.ejabberd.history_files():
            with open(os.path.join(world.ejabberd.history, name), errors="replace") as f:
                if body in f.read():
                    return name
        return None
    name = e2e.poll(logged, "the message under the history directory")
    assert e2e.jid("ivan") in name and e2e.jid("olga") in name, name


def test_listen_on_one_address(world):
    port = e2e.port(world)
    assert accepts("127.0.0.1", port)
    world.cli.setup_jabber("--listen", "127.0.0.2", password=None)
    assert world.cli.status()["listen_address"] == "127.0.0.2"
    assert accepts("127.0.0.2", port)
    assert not accepts("127.0.0.1", port), "ejabberd still accepts on 127.0.0.1"
    assert e2e.try_login(world, "ivan", "Ivan-pw-1", address="127.0.0.2") == "ok"


def test_failed_reconfiguration_keeps_the_previous_one(world):
    before = open(world.ejabberd.config_file).read()
    # An address this machine does not have: refused before ejabberd is touched, in one line.
    r = world.cli.run("cl-setup", "--listen", "192.0.2.1", "jabber")
    assert r.returncode == 6, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "192.0.2.1" in r.stderr, r.stderr
    assert open(world.ejabberd.config_file).read() == before
    # An address it has, whose port another program holds: ejabberd fails to start, the
    # previous configuration comes back, and the reason is one line naming the cause.
    blocker = socket.create_server(("127.0.0.3", e2e.port(world)))
    try:
        r = world.cli.run("cl-setup", "--listen", "127.0.0.3", "jabber")
    finally:
        blocker.close()
    assert r.returncode != 0, r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "another program uses its port" in r.stderr, r.stderr
    assert open(world.ejabberd.config_file).read() == before
    e2e.poll(lambda: accepts("127.0.0.2", e2e.port(world)), "ejabberd back on 127.0.0.2")
    assert e2e.try_login(world, "ivan", "Ivan-pw-1", address="127.0.0.2") == "ok"
    assert world.cli.status()["listen_address"] == "127.0.0.2"


def test_listen_everywhere_again(world):
    world.cli.setup_jabber("--listen", "", password=None)
    assert world.cli.status()["listen_address"] == ""
    assert accepts("127.0.0.1", e2e.port(world))
    assert accepts("127.0.0.2", e2e.port(world))
    assert e2e.try_login(world, "olga", "Olga-pw-1") == "ok"


def test_rerun_is_safe(world):
    # `cl-setup ldap` again: idempotent, says what it found.
    out = world.cli.setup_ldap()
    assert out.strip()
    assert e2e.try_login(world, "olga", "Olga-pw-1") == "ok"


def test_reload_renders_the_same_configuration_and_restarts(world):
    config = os.path.join(world.ejabberd.dir, "etc", "ejabberd.yml")
    before = open(config).read()
    out = world.cli.ok("cl-jabber", "reload")
    assert "reloaded" in out, out
    assert open(config).read() == before
    assert e2e.try_login(world, "olga", "Olga-pw-1") == "ok"


def test_setup_reports_in_the_callers_language(world):
    """The daemon reports in English on the bus; a Russian caller reads every line in
    Russian (the CLI translates with the catalog), ejabberd restarted for real."""
    import re
    import subprocess
    from harness import client
    env = client.env_for(None)
    env.update(LC_ALL="ru_RU.UTF-8",
               CJ_LOCALEDIR=os.path.join(os.path.dirname(world.cli_dir), "po"))
    r = subprocess.run([os.path.join(world.cli_dir, "cl-setup"), "jabber"], env=env, input="",
                       capture_output=True, text=True, timeout=180, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines, r.stdout
    for line in lines:
        assert re.search("[А-Яа-я]", line), r.stdout
    assert e2e.try_login(world, "olga", "Olga-pw-1") == "ok"
