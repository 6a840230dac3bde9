"""Two nodes of one site (docs/scale-out.md): two slapd providers in multi-provider
replication, two daemons (each on its own system bus, with its own polkitd, against its
own provider) and two ejabberd nodes in one cluster, all in the harness's namespaces.

    nodes = TwoNodes(make_world).start()    # make_world: conftest's factory (World kwargs)
    nodes.one, nodes.two                     # the Worlds; nodes.cli[0], nodes.cli[1]

Node 1 is set up as the manual says (`cl-setup ldap`, `cl-setup -P jabber`); node 2 joins
it by the steps of docs/scale-out.md, filling the shipped templates (data/scale-out/*.ldif)
exactly as an administrator would: join() is those steps, in that order.

One network namespace: both nodes on loopback with ports of their own. One mount
namespace: node 2's World is built `beside` node 1's (world.py): it shares /etc/hosts,
/dev/log (one audit trail, both daemons' lines) and polkit's directories, and has its own
bus socket; its Erlang node and node 1's share a cookie and the namespace's epmd.

Each provider reaches its peer through a relay (relay.py): `with nodes.partition():`
holds replication both ways for a moment (the two providers apart, both still answering
their own daemon and ejabberd), as a network partition would. The join steps are the
same; only the peer's address in syncrepl.ldif is the relay's.
"""

import os
import re
import secrets
import shutil
import subprocess
import contextlib
import time

from . import e2e, ldap, relay, waiting

TEMPLATES = os.path.join("data", "scale-out")          # in the source dir
ERLANG_NODES = ("ej1@localhost", "ej2@localhost")
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def fill(sourcedir, name, **values):
    """The template data/scale-out/`name` with @KEY@ replaced by values[KEY]; every
    placeholder outside comments must be given."""
    with open(os.path.join(sourcedir, TEMPLATES, name)) as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
    left = PLACEHOLDER.findall(body)
    if left:
        raise ValueError(f"{name}: no value for {sorted(set(left))}")
    return text


def apply_ldif(slapd, text, add=False):
    """ldapmodify (ldapadd with add=True) as root over ldapi, as the steps say."""
    r = subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", slapd.ldapi_uri]
                       + (["-a"] if add else []), input=text, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ldapmodify on {slapd.uri} failed ({r.returncode}): "
                           f"{r.stderr}\n--- input:\n{text}")
    return r.stdout


def database_dn(slapd):
    """The cn=config DN of the database of the site's base DN (None if there is none)."""
    r = slapd.search_external("cn=config", "-s", "one", f"(olcSuffix={slapd.base_dn})", "1.1")
    m = re.search(r"^dn: (.*)$", r.stdout, re.MULTILINE)
    return m.group(1) if m else None


def overlay_dn(slapd, database, object_class):
    """The DN of the overlay of `database` of that class (no-accesslog.ldif's @SYNCPROV@,
    @ACCESSLOG@)."""
    r = slapd.search_external(database, "-s", "one", f"(objectClass={object_class})", "1.1")
    m = re.search(r"^dn: (.*)$", r.stdout, re.MULTILINE)
    return m.group(1)


def next_database(slapd):
    """The DN a new mdb database gets: the next free number (what the steps tell to look
    up with `ldapsearch ... -s one '(olcDatabase=*)' olcDatabase`)."""
    r = slapd.search_external("cn=config", "-s", "one", "(olcDatabase=*)", "olcDatabase")
    numbers = [int(n) for n in re.findall(r"^olcDatabase: \{(-?\d+)\}", r.stdout, re.MULTILINE)]
    return f"olcDatabase={{{max(numbers) + 1}}}mdb,cn=config"


def context_csns(slapd):
    """The contextCSN values of the base entry (one per server id that wrote), sorted."""
    r = slapd.search_external(slapd.base_dn, "-s", "base", "contextCSN")
    return sorted(re.findall(r"^contextCSN: (\S+)$", r.stdout, re.MULTILINE))


def caught_up(a, b):
    """True when both providers hold the same non-empty set of contextCSNs."""
    ca, cb = context_csns(a), context_csns(b)
    return bool(ca) and ca == cb


class TwoNodes:
    def __init__(self, make_world, sourcedir=None):
        self.make_world = make_world
        self.sourcedir = sourcedir
        self.one = self.two = None
        self.cli = []
        self.cookie = secrets.token_hex(16)
        # Letters and digits only: it goes into olcSyncrepl between quotes.
        self.replicator_password = secrets.token_hex(24)
        self.joined_in = None          # seconds the join took (steps to a working cluster)
        self.relays = []               # [to provider 1, to provider 2]

    def start(self):
        self.one = self.make_world(ldap="empty", polkit="real",
                                   config={"Directory": {"ServerId": 1}},
                                   ejabberd_node=ERLANG_NODES[0], ejabberd_cookie=self.cookie)
        if self.sourcedir is None:
            self.sourcedir = self.one.sourcedir
        self.cli = [e2e.Cli(self.one)]
        self.cli[0].setup_ldap()
        self.cli[0].setup_jabber("--primary-host", e2e.namespace.HOSTNAME)
        # Node 2: a new machine with slapd, ejabberd and the daemon installed, nothing set
        # up; its daemon starts once the files of step 3 are in place.
        self.two = self.make_world(ldap="empty", polkit="real", daemon=False, beside=self.one,
                                   config={"Directory": {"ServerId": 2}},
                                   ejabberd_node=ERLANG_NODES[1], ejabberd_cookie=self.cookie)
        self.cli.append(e2e.Cli(self.two))
        self.relays = [relay.Relay(w.slapd.port) for w in self.worlds]
        started = time.monotonic()
        self.join()
        self.joined_in = time.monotonic() - started
        return self

    @property
    def worlds(self):
        return (self.one, self.two)

    # The steps of docs/scale-out.md, "Joining a node" ----------------------------------------

    def join(self):
        one, two = self.one, self.two
        s1, s2 = one.slapd, two.slapd
        base = s1.base_dn
        db1 = database_dn(s1)
        # 1. First node, once: the replication identity, its server id and the
        #    replicator's read access.
        apply_ldif(s1, fill(self.sourcedir, "replicator.ldif", BASE_DN=base,
                            REPLICATOR_HASH=ldap.ssha(self.replicator_password)), add=True)
        apply_ldif(s1, fill(self.sourcedir, "provider.ldif", SERVER_ID=1, DATABASE=db1,
                            BASE_DN=base))
        #    and no accesslog session log any more (what cl-setup ldap gave a single
        #    provider), taken away with slapd stopped: removing the overlay live crashed it
        sp1 = overlay_dn(s1, db1, "olcSyncProvConfig")
        al1 = overlay_dn(s1, db1, "olcAccessLogConfig")
        s1.stop()
        r = subprocess.run(["slapmodify", "-F", os.path.join(s1.top, "slapd.d"), "-n0"],
                           input=fill(self.sourcedir, "no-accesslog.ldif", SYNCPROV=sp1,
                                      ACCESSLOG=al1), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"slapmodify failed ({r.returncode}): {r.stderr}")
        s1.start()
        # 2. Joining node: the database as cl-setup ldap makes it, its server id, and
        #    replication from the first node; wait until it has caught up.
        db2 = next_database(s2)
        db_dir = two.daemon_config()["Directory"]["DatabaseDirectory"]
        os.makedirs(db_dir, mode=0o700, exist_ok=True)
        apply_ldif(s2, fill(self.sourcedir, "database.ldif", DATABASE=db2, DATABASE_DIR=db_dir,
                            BASE_DN=base), add=True)
        apply_ldif(s2, fill(self.sourcedir, "provider.ldif", SERVER_ID=2, DATABASE=db2,
                            BASE_DN=base))
        apply_ldif(s2, self.syncrepl(db2, rid=1, peer=self.relays[0]))
        waiting.poll(lambda: caught_up(s1, s2), "node 2's provider caught up with node 1's",
                     timeout=60, interval=0.1)
        # 3. First node: replication from the joining one (only now: an empty peer must
        #    never be the first node's source).
        apply_ldif(s1, self.syncrepl(db1, rid=2, peer=self.relays[1]))
        # 4. The daemon's files from the first node: its state (primary host, hosts,
        #    history) and ejabberd's LDAP password; ejabberd's certificate.
        state1 = one.daemon_config()["Ejabberd"]["StateDirectory"]
        state2 = two.daemon_config()["Ejabberd"]["StateDirectory"]
        os.makedirs(state2, mode=0o755, exist_ok=True)
        for name in ("server.conf", "ejabberd-ldap.secret"):
            shutil.copy2(os.path.join(state1, name), os.path.join(state2, name))
        shutil.copy2(one.ejabberd.certificate_file, two.ejabberd.certificate_file)
        st = os.stat(one.ejabberd.certificate_file)
        os.chown(two.ejabberd.certificate_file, st.st_uid, st.st_gid)
        # (The Erlang cookie: the worlds were made with the same one, as copying
        # /var/lib/ejabberd/.erlang.cookie makes it.)
        two.start_daemon()
        # 5. Joining node: the daemon's setup (finds everything, adds what is local),
        #    ejabberd with this node's configuration, then into the cluster.
        self.cli[1].setup_ldap()
        self.cli[1].setup_jabber(password=None)
        r = two.ejabberd.ctl("join_cluster", ERLANG_NODES[0], timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"join_cluster failed ({r.returncode}): {r.stdout}{r.stderr}\n"
                               + two.ejabberd.log()[-3000:])
        waiting.poll(lambda: all(set(ERLANG_NODES) <= self.cluster_of(w) for w in self.worlds),
                     "both ejabberd nodes list the cluster", timeout=60, interval=0.5)

    def syncrepl(self, database, rid, peer):
        return fill(self.sourcedir, "syncrepl.ldif", DATABASE=database, RID=f"{rid:03d}",
                    PEER_URI=peer.uri + "/", BASE_DN=self.one.slapd.base_dn,
                    REPLICATOR_PASSWORD=self.replicator_password, TLS="")

    @contextlib.contextmanager
    def partition(self):
        """Replication held both ways inside the block, let go at its end."""
        for r in self.relays:
            r.hold()
        try:
            yield
        finally:
            for r in self.relays:
                r.release()

    def close(self):
        for r in self.relays:
            r.close()

    @staticmethod
    def cluster_of(world):
        r = world.ejabberd.ctl("list_cluster")
        return set(re.findall(r"[\w.-]+@[\w.-]+", r.stdout)) if r.returncode == 0 else set()
