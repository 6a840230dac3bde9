"""cl-jabber verify [--repair] (issue 12): each inconsistency made with ldapmodify (or a
hand edit) behind the daemon's back is found, and repaired where it has one deterministic
fix, audited; what needs a person stays reported."""

import base64
import os
import re
import subprocess

import pytest

from harness import e2e


@pytest.fixture(scope="module")
def world(make_world):
    # What verify finds must still be there when it looks: the daemon's own repair of a user
    # in several groups (cj-converge.c) is off here; test_converge.py tests it.
    return e2e.cli_world(make_world, config={"Directory": {"AutoRepair": "false"}})


@pytest.fixture(scope="module")
def cli(world):
    return world.cli


def jabber_base(world):
    return f"ou=Jabber,ou=Services,{world.slapd.base_dn}"


def ldapmodify(world, ldif, add=False):
    r = subprocess.run(["ldapadd" if add else "ldapmodify", "-Q", "-Y", "EXTERNAL", "-H",
                        world.slapd.ldapi_uri], input=ldif, text=True, capture_output=True)
    assert r.returncode == 0, r.stderr


def group_dn(world, name):
    r = world.slapd.search_external(f"ou=Groups,{jabber_base(world)}", "-o", "ldif-wrap=no",
                                    "(objectClass=posixGroup)", "description")
    dn = None
    for line in r.stdout.splitlines():
        if line.startswith("dn: "):
            dn = line[4:]
        elif line.startswith("description:: ") and base64.b64decode(line[14:]).decode() == name:
            return dn
        elif line.startswith("description: ") and line[13:] == name:
            return dn
    raise AssertionError(f"no group {name}: {r.stdout}")


def members(world, name):
    r = world.slapd.search_external(group_dn(world, name), "-s", "base", "(objectClass=*)", "memberUid")
    return sorted(l.split(": ", 1)[1] for l in r.stdout.splitlines() if l.startswith("memberUid: "))


def run_verify(cli, *args):
    """cl-jabber [--json] verify, again while the daemon says Busy: after a check, the next
    Verify waits as long as that check took (2 s at least; service/cj-verify.c)."""
    import time
    deadline = time.monotonic() + 60
    while True:
        r = cli.run("cl-jabber", *args)
        busy = "Busy" in r.stderr or "a moment ago" in r.stderr or "moment ago" in r.stdout
        if not busy or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def verify(cli, *args):
    import json
    r = run_verify(cli, "--json", "verify", *args)
    out = json.loads(r.stdout)
    return r.returncode, out


def kinds(findings):
    return {(f["kind"], f["subject"]) for f in findings}


def test_a_fresh_setup_verifies_clean(world, cli):
    r = run_verify(cli, "verify")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "No inconsistencies found" in r.stdout


def test_each_inconsistency_is_found_then_repaired(world, cli):
    cli.groupadd("Alpha")
    cli.groupadd("Beta")
    cli.useradd("vuser1", "Vuser-pw-1", "-g", "Alpha")
    cli.useradd("vuser2", "Vuser-pw-2")
    users = f"ou=Users,{jabber_base(world)}"
    ldapmodify(world, f"dn: {group_dn(world, 'Beta')}\nchangetype: modify\nadd: memberUid\n"
                      "memberUid: vuser1\n")
    ldapmodify(world, f"dn: {group_dn(world, 'Alpha')}\nchangetype: modify\nadd: memberUid\n"
                      "memberUid: ghost\n")
    ldapmodify(world, f"dn: cn=stray,{users}\nobjectClass: organizationalRole\ncn: stray\n", add=True)
    ldapmodify(world, f"dn: uid=vuser2,{users}\nchangetype: modify\nreplace: mail\n"
                      "mail: vuser2@elsewhere.example\n")
    with open(world.ejabberd.config_file, "a") as f:
        f.write("\n# a hand edit\n")

    status, out = verify(cli)
    assert status == 1
    found = kinds(out["findings"])
    for want in [("several-groups", "vuser1"), ("dangling-member", "ghost"),
                 ("unreadable-entry", f"cn=stray,{users}"), ("foreign-host", "vuser2"),
                 ("config-differs", world.ejabberd.config_file)]:
        assert want in found, (want, out)

    status, out = verify(cli, "--repair")
    repaired = kinds(out["repaired"])
    for want in [("several-groups", "vuser1"), ("dangling-member", "ghost"),
                 ("foreign-host", "vuser2"), ("config-differs", world.ejabberd.config_file)]:
        assert want in repaired, (want, out)
    # The user stays in the group whose entry is newest (Alpha, written last); the ghost is gone.
    assert members(world, "Alpha") == ["vuser1"]
    assert members(world, "Beta") == []
    assert e2e.ldap_attribute(world, "vuser2", "mail") == [f"vuser2@{e2e.namespace.HOSTNAME}".encode()]
    # The configuration was rendered again and ejabberd restarted with it.
    e2e.poll(lambda: "# a hand edit" not in open(world.ejabberd.config_file).read(),
             "the configuration rendered again", timeout=60)
    e2e.poll(lambda: e2e.try_login(world, "vuser1", "Vuser-pw-1") == "ok", "ejabberd back", timeout=90)
    # What needs a person is still reported, and nothing else.
    # (ejabberd restarts in the background after the repair: it may be down a moment.)
    last = {}

    def only_the_stray_left():
        nonlocal last
        status, last = verify(cli)
        return status == 1 and kinds(last["findings"]) == {("unreadable-entry", f"cn=stray,{users}")}
    try:
        e2e.poll(only_the_stray_left, "only the unreadable entry left", timeout=90, interval=1)
    except AssertionError as e:
        raise AssertionError(f"{e}: {last}") from None
    # The repair was audited.
    # (syslog, copied into the daemon's own log under --debug)
    with open(os.path.join(world.top, "calculate-jabberd.log"), "rb") as f:
        log = f.read().decode(errors="replace")
    assert re.search(r'org\.calculate\.jabber\.setup org\.calculate\.Jabber\.Server\.Repair '
                     r'target="repair: \d+ fixed": ok', log), log[-2000:]
    ldapmodify(world, f"dn: cn=stray,{users}\nchangetype: delete\n")
    # ejabberd restarts in the background after the repair: clean once it is back.
    e2e.poll(lambda: run_verify(cli, "verify").returncode == 0, "a clean verify", timeout=90,
             interval=1)


def test_repair_needs_the_setup_authorization(world):
    from harness import client
    r = client.call(client.SERVER_PATH, client.SERVER_IFACE, "Repair", "a{sv}", "({},)", user="nobody")
    assert r.error == client.ERROR + "PermissionDenied", r


def test_ejabberd_not_answering_is_found(world, cli):
    world.ejabberd.stop()
    status, out = verify(cli)
    assert status == 1
    assert "ejabberd-down" in {f["kind"] for f in out["findings"]}, out


def test_a_certificate_near_its_end_is_found(world, cli, tmp_path):
    """A certificate given with cl-setup --certificate that ends in a day is reported."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", f"/CN={e2e.namespace.HOSTNAME}", "-keyout", str(key),
                        "-out", str(cert)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pem = tmp_path / "both.pem"
    pem.write_text(cert.read_text() + key.read_text())
    # (a setup still running, e.g. the repair's restart of ejabberd, makes this one Busy)
    e2e.poll(lambda: cli.run("cl-setup", "--certificate", str(pem), "jabber").returncode == 0,
             "cl-setup --certificate", timeout=120, interval=2)
    status, out = verify(cli)
    assert status == 1
    assert "certificate-expiry" in {f["kind"] for f in out["findings"]}, out


def test_the_directory_not_answering_is_found(world, cli):
    world.slapd.stop()
    try:
        status, out = verify(cli)
        assert status == 1
        assert "directory-down" in {f["kind"] for f in out["findings"]}, out
    finally:
        world.slapd.start(timeout=60)
