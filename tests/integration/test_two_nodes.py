"""Two nodes of one site (issue 14, docs/scale-out.md): two slapd providers in
multi-provider replication, two daemons (each on its own private bus with its own polkitd,
against its own provider) and two ejabberd nodes in one cluster, joined by the steps of
docs/scale-out.md (harness/twonodes.py fills the shipped templates). Through the real CLI
and a real XMPP client.

Delays are polled with generous deadlines, never asserted; the figures printed here
(`-s` or the log) are the ones in docs/scale-out.md."""

import statistics
import threading
import time

import pytest

from harness import e2e, namespace, xmpp
from harness.twonodes import TwoNodes, caught_up
from helpers_directory import Bus, Directory, GROUP, USER

HOST = namespace.HOSTNAME
DEADLINE = 30.0       # replication and following: generous on a loaded 2-core machine


@pytest.fixture(scope="module")
def nodes(make_world):
    xmpp.quiet()
    n = TwoNodes(make_world).start()
    print(f"joining node 2 took {n.joined_in:.1f} s")
    n.bus = [Bus(), Bus(n.two.bus_address)]
    n.dir = [Directory(n.one.slapd), Directory(n.two.slapd)]
    yield n
    for b in n.bus:
        b.close()


def login(world, name, password):
    return xmpp.login(e2e.jid(name), password, world.ejabberd.client_port)


def try_login(world, name, password):
    return xmpp.try_login(e2e.jid(name), password, world.ejabberd.client_port)


def test_a_user_added_through_node_1_logs_in_on_node_2(nodes):
    nodes.cli[0].useradd("anna", "Anna-pass-1")
    assert e2e.poll(lambda: try_login(nodes.two, "anna", "Anna-pass-1") == "ok",
                    "anna logs in on node 2", timeout=DEADLINE)
    assert try_login(nodes.one, "anna", "Anna-pass-1") == "ok"
