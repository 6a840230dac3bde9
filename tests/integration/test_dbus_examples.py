"""Every busctl/gdbus example of docs/dbus-api.md ("Trying it"), run as written, in order,
against the real daemon (root: polkit authorizes without a prompt). `<id>` is the object
id of the last object path an example printed. Keeps the documentation honest."""

import os
import re
import subprocess

import pytest

from conftest import SOURCEDIR
from harness import client


def examples():
    with open(os.path.join(SOURCEDIR, "docs", "dbus-api.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n## Trying it\n", 1)[1].split("\n## ", 1)[0]
    commands, current = [], ""
    for line in section.splitlines():
        if not line.startswith("    "):
            continue
        line = line.strip()
        if not current and line.startswith("#"):
            continue
        current += line
        if current.endswith("\\"):
            current = current[:-1].rstrip() + " "
            continue
        commands.append(current)
        current = ""
    return commands


def test_the_examples_were_found():
    commands = examples()
    assert len(commands) >= 8, commands
    assert all(c.split()[0] in ("busctl", "gdbus") for c in commands), commands
    assert any(" Modify " in c for c in commands)


@pytest.fixture(scope="module")
def world(make_world):
    w = make_world(ldap="database", polkit="real")
    r = client.run([os.path.join(w.cli_dir, "cl-setup"), "ldap"])
    assert r.returncode == 0, r.stderr
    return w


def test_every_example_runs(world):
    last_id = None
    for command in examples():
        if "<id>" in command:
            assert last_id, f"no object id printed before: {command}"
            command = command.replace("<id>", last_id)
        r = subprocess.run(["bash", "-c", command], env=client.env_for(None),
                           capture_output=True, text=True, timeout=60, cwd="/")
        assert r.returncode == 0, f"{command}\n{r.stdout}{r.stderr}"
        found = re.findall(r"/org/calculate/Jabber/Users/([0-9a-f]+)", r.stdout)
        if found:
            last_id = found[-1]
    # The examples did what they say.
    r = client.run([os.path.join(world.cli_dir, "cl-jabber"), "--json", "user", "show", "guest"])
    assert r.returncode == 0, r.stderr
    assert '"nickname":"Гость 2"' in r.stdout and '"locked":false' in r.stdout, r.stdout
