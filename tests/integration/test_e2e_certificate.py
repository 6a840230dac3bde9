"""`cl-setup --certificate FILE jabber`: ejabberd presents the given certificate to clients;
a file that is not a certificate with its key is refused and changes nothing; the
self-signed one made at the first setup is made again when the hosts change."""

import os
import subprocess

import pytest

from harness import e2e, namespace


@pytest.fixture(scope="module")
def setup(make_world):
    return e2e.configured_world(make_world)


def presented_subject(world):
    """The subject of the certificate ejabberd shows after STARTTLS."""
    r = subprocess.run(["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", namespace.HOSTNAME,
                        "-connect", f"127.0.0.1:{e2e.port(world)}", "-showcerts"],
                       input="", capture_output=True, text=True, timeout=30)
    for line in r.stdout.splitlines():
        if line.startswith("subject="):
            return line
    return r.stdout + r.stderr


def presented_names(world):
    """The subjectAltName of the certificate ejabberd shows."""
    r = subprocess.run(["openssl", "s_client", "-starttls", "xmpp", "-xmpphost", namespace.HOSTNAME,
                        "-connect", f"127.0.0.1:{e2e.port(world)}"],
                       input="", capture_output=True, text=True, timeout=30)
    x = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"],
                       input=r.stdout, capture_output=True, text=True)
    return x.stdout


def make_certificate(directory, common_name):
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", f"/CN={common_name}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    both = os.path.join(directory, "both.pem")
    with open(both, "w") as out:
        out.write(open(cert).read() + open(key).read())
    return both


def test_self_signed_by_default(setup):
    world, _ = setup
    assert namespace.HOSTNAME in e2e.poll(lambda: presented_subject(world), "a certificate")


def test_self_signed_follows_the_hosts(setup):
    world, cli = setup
    cli.ok("cl-setup", "--hosts", "extra.example.org", "jabber")
    names = e2e.poll(lambda: "extra.example.org" in presented_names(world) and presented_names(world),
                     "the new host in the certificate")
    assert f"DNS:{namespace.HOSTNAME}" in names


def test_given_certificate_is_presented(setup, tmp_path):
    world, cli = setup
    pem = make_certificate(tmp_path, "given.example.org")
    cli.ok("cl-setup", "--certificate", pem, "jabber")
    assert "given.example.org" in e2e.poll(
        lambda: "given.example.org" in presented_subject(world) and presented_subject(world),
        "the given certificate")
    assert e2e.login(world, "admin", e2e.ADMIN_PASSWORD)


def test_not_a_certificate_changes_nothing(setup, tmp_path):
    world, cli = setup
    config = os.path.join(world.ejabberd.dir, "etc", "ejabberd.yml")
    before = open(config).read()
    bogus = os.path.join(tmp_path, "bogus.pem")
    with open(bogus, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    r = cli.run("cl-setup", "--certificate", bogus, "jabber")
    assert r.returncode == 6, r.stdout + r.stderr          # InvalidArgument
    assert "certificate" in r.stderr.lower(), r.stderr
    assert open(config).read() == before
    assert "given.example.org" in presented_subject(world)
