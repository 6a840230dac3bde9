"""Helpers shared by test_users.py, test_groups.py and test_follow_directory.py: a D-Bus
client that records the order in which messages arrive, a view of the private slapd
(ldapsearch/ldapmodify/ldapwhoami over the world's sockets), and polling with a deadline.

The tests run as root inside the harness's namespaces: root is authorized by polkitd before
any rule runs, so the calls made here pass the gate; unauthorized callers go through
harness.client.call(user=...)."""

import base64
import os
import re
import secrets
import subprocess
import tempfile
import threading

from gi.repository import Gio, GLib

from harness import bus, client, waiting

SERVICE = client.SERVICE
MANAGER_PATH = client.MANAGER_PATH
SERVER_PATH = client.SERVER_PATH
MANAGER = client.MANAGER_IFACE
SERVER = client.SERVER_IFACE
USER = "org.calculate.Jabber.User"
GROUP = "org.calculate.Jabber.Group"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
ERROR = client.ERROR
NO_OBJECT = "/"

# ejabberd's login filter (docs/ldap-layout.md, ../shared/notes/ejabberd-ldap.md).
LOGIN_FILTER = "(&(objectClass=inetOrgPerson)(!(shadowExpire=*)))"

DEADLINE = 10.0     # seconds: how long a change made beside the daemon may take to show


class DBusError(Exception):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def poll(predicate, what, timeout=DEADLINE, interval=0.05):
    return waiting.poll(predicate, what, timeout, interval)


# D-Bus ----------------------------------------------------------------------------------

class Bus:
    """A private connection to the world's system bus. Every incoming message is recorded
    in arrival order (a filter runs in GDBus's worker thread, before any dispatch), so a
    test can tell whether a signal came before the reply of a call."""

    def __init__(self, address=None):
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address or bus.ADDRESS, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self._lock = threading.Lock()
        self._log = []
        self.conn.add_filter(self._filter)
        # A match rule for every signal of the service: the bus then routes them to us.
        self._sub = self.conn.signal_subscribe(SERVICE, None, None, None, None,
                                               Gio.DBusSignalFlags.NONE, _ignore)

    def _filter(self, conn, message, incoming):
        if incoming:
            with self._lock:
                self._log.append(message)
        return message

    def close(self):
        self.conn.signal_unsubscribe(self._sub)
        self.conn.close_sync(None)

    def mark(self):
        """A position in the message log."""
        with self._lock:
            return len(self._log)

    def messages(self, since=0):
        with self._lock:
            return list(self._log[since:])

    def send(self, path, interface, method, signature="", args=(), timeout=60):
        """One call; returns (unpacked reply tuple, serial of the call). Raises DBusError."""
        msg = Gio.DBusMessage.new_method_call(SERVICE, path, interface, method)
        if signature:
            msg.set_body(GLib.Variant(f"({signature})", tuple(args)))
        reply, serial = self.conn.send_message_with_reply_sync(
            msg, Gio.DBusSendMessageFlags.NONE, timeout * 1000, None)
        if reply.get_message_type() == Gio.DBusMessageType.ERROR:
            body = reply.get_body()
            raise DBusError(reply.get_error_name(), body.unpack()[0] if body else "")
        body = reply.get_body()
        return (body.unpack() if body is not None else ()), serial

    def call(self, path, interface, method, signature="", *args, timeout=60):
        """One call; returns the single out value, a tuple of several, or None."""
        out, _ = self.send(path, interface, method, signature, args, timeout)
        return out[0] if len(out) == 1 else (out or None)

    def call_observed(self, path, interface, method, signature="", *args):
        """A call and the signals of the service that arrived before its reply:
        returns (result, [(member, path, body) ...])."""
        start = self.mark()
        out, serial = self.send(path, interface, method, signature, args)
        before = []
        for m in self.messages(start):
            if (m.get_message_type() in (Gio.DBusMessageType.METHOD_RETURN,
                                         Gio.DBusMessageType.ERROR)
                    and m.get_reply_serial() == serial):
                break
            if m.get_message_type() == Gio.DBusMessageType.SIGNAL:
                body = m.get_body()
                before.append((m.get_member(), m.get_path(),
                               body.unpack() if body is not None else ()))
        else:
            raise AssertionError("the reply was not seen by the message filter")
        result = out[0] if len(out) == 1 else (out or None)
        return result, before

    def signals(self, since=0):
        """The signals received since a mark(): [(member, path, body)]."""
        out = []
        for m in self.messages(since):
            if m.get_message_type() == Gio.DBusMessageType.SIGNAL:
                body = m.get_body()
                out.append((m.get_member(), m.get_path(),
                            body.unpack() if body is not None else ()))
        return out

    def wait_changed(self, since, path, interface, expected):
        """Waits for PropertiesChanged on `path` (received after the mark `since`) to have
        announced every property of `expected` with its value; returns what was announced."""
        def seen():
            changed = properties_changed(self.signals(since), path, interface)
            return changed if all(changed.get(k) == v for k, v in expected.items()) else None
        return poll(seen, f"PropertiesChanged {expected} on {path}")

    def error_of(self, path, interface, method, signature="", *args):
        """The D-Bus error name a call fails with (the test fails if it succeeds)."""
        try:
            result = self.call(path, interface, method, signature, *args)
        except DBusError as e:
            return e.name
        raise AssertionError(f"{interface}.{method}{args} succeeded ({result!r}), "
                             "an error was expected")

    # The API, spelled out --------------------------------------------------------------

    def setup_ldap(self):
        return self.call(SERVER_PATH, SERVER, "SetupLdap", "a{sv}", {})

    def add_user(self, name, nickname="", password=None, group=None):
        options = {}
        if password is not None:
            options["password"] = GLib.Variant("s", password)
        if group is not None:
            options["group"] = GLib.Variant("o", group)
        return self.call(MANAGER_PATH, MANAGER, "AddUser", "ssa{sv}", name, nickname, options)

    def add_group(self, name, members=None):
        options = {} if members is None else {"members": GLib.Variant("ao", list(members))}
        return self.call(MANAGER_PATH, MANAGER, "AddGroup", "sa{sv}", name, options)

    def find_user(self, name):
        return self.call(MANAGER_PATH, MANAGER, "FindUserByName", "s", name)

    def find_group(self, name):
        return self.call(MANAGER_PATH, MANAGER, "FindGroupByName", "s", name)

    def list_users(self):
        return list(self.call(MANAGER_PATH, MANAGER, "ListUsers"))

    def list_groups(self):
        return list(self.call(MANAGER_PATH, MANAGER, "ListGroups"))

    def managed_objects(self):
        return self.call(MANAGER_PATH, OBJECT_MANAGER, "GetManagedObjects")

    def props(self, path, interface):
        return self.call(path, PROPERTIES, "GetAll", "s", interface)

    def prop(self, path, interface, name):
        return self.call(path, PROPERTIES, "Get", "ss", interface, name)

    def user_props(self, path):
        return self.props(path, USER)

    def group_props(self, path):
        return self.props(path, GROUP)

    def server_props(self):
        return self.props(SERVER_PATH, SERVER)


def _ignore(*args):
    pass


def properties_changed(signals, path, interface):
    """The properties changed on `path` according to the recorded signals: {name: value}."""
    changed = {}
    for member, spath, body in signals:
        if member == "PropertiesChanged" and spath == path and body[0] == interface:
            changed.update(body[1])
    return changed


# LDAP -----------------------------------------------------------------------------------

class Directory:
    """The world's slapd seen from outside the daemon: root over ldapi (SASL EXTERNAL,
    `manage` on the database), and simple binds over TCP as ejabberd would do."""

    def __init__(self, slapd):
        self.slapd = slapd
        self.base = slapd.base_dn
        self.jabber_dn = "ou=Jabber,ou=Services," + self.base
        self.users_dn = "ou=Users," + self.jabber_dn
        self.groups_dn = "ou=Groups," + self.jabber_dn

    def user_dn(self, name):
        return f"uid={name},{self.users_dn}"

    def group_dn(self, name):
        """The DN of the group named `name` (its RDN is an identifier, not the name)."""
        for dn, attrs in self.search(self.groups_dn, "(objectClass=posixGroup)", "cn",
                                     "description", scope="one").items():
            if group_name(attrs) == name:
                return dn
        raise KeyError(f"no group named {name!r}")

    def old_group_dn(self, name):
        """The DN a group named `name` had in the first layout (cn=<name>)."""
        return f"cn={_escape_dn_value(name)},{self.groups_dn}"

    def search(self, base, filt="(objectClass=*)", *attrs, scope="sub"):
        """Entries as {dn: {attribute (lower case): [values]}}; values are str when they
        are UTF-8, bytes otherwise. A missing base gives {}."""
        r = subprocess.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H",
                            self.slapd.ldapi_uri, "-o", "ldif-wrap=no", "-s", scope,
                            "-b", base, filt] + list(attrs), capture_output=True)
        if r.returncode == 32:      # noSuchObject
            return {}
        if r.returncode != 0:
            raise RuntimeError(f"ldapsearch {base} {filt} failed ({r.returncode}): "
                               f"{r.stderr.decode(errors='replace')}")
        return parse_ldif(r.stdout)

    def dump(self):
        """The whole Jabber subtree with operational attributes (entryCSN, modifyTimestamp
        change with any write): equal dumps mean nothing was written."""
        return self.search(self.jabber_dn, "(objectClass=*)", "*", "+")

    def users(self):
        """{uid: attributes} of every inetOrgPerson below ou=Users."""
        out = {}
        for dn, attrs in self.search(self.users_dn, "(objectClass=inetOrgPerson)", "*",
                                     "entryUUID", scope="one").items():
            out[attrs["uid"][0]] = attrs
        return out

    def user(self, name):
        found = self.search(self.users_dn, f"(uid={_escape_filter(name)})", "*",
                            "entryUUID", scope="one")
        return next(iter(found.values()), None)

    def groups(self):
        """{name: attributes} of every posixGroup below ou=Groups (the name is the
        description; the cn of a group of the first layout); attributes carry "dn"."""
        out = {}
        for dn, attrs in self.search(self.groups_dn, "(objectClass=posixGroup)", "*",
                                     "entryUUID", scope="one").items():
            attrs["dn"] = [dn]
            out[group_name(attrs)] = attrs
        return out

    def group(self, name):
        return self.groups().get(name)

    def members(self, name):
        group = self.group(name)
        return sorted(group.get("memberuid", [])) if group else None

    def memberships(self):
        """{user name: [group names listing it]} for every memberUid in the directory."""
        out = {}
        for cn, attrs in self.groups().items():
            for uid in attrs.get("memberuid", []):
                out.setdefault(uid, []).append(cn)
        return out

    def matches_login_filter(self, name):
        filt = f"(&{LOGIN_FILTER}(uid={_escape_filter(name)}))"
        return bool(self.search(self.users_dn, filt, "1.1", scope="one"))

    def bind(self, dn, password):
        """A simple bind over TCP as ejabberd does: True when the password works."""
        fd, path = tempfile.mkstemp(prefix="cj-bind-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(password.encode())      # -y takes the file's content as it is
            r = subprocess.run(["ldapwhoami", "-x", "-H", self.slapd.uri, "-D", dn,
                                "-y", path], capture_output=True, text=True)
        finally:
            os.unlink(path)
        if r.returncode not in (0, 49):         # 49: invalidCredentials
            raise RuntimeError(f"ldapwhoami {dn} failed ({r.returncode}): {r.stderr}")
        return r.returncode == 0

    def _tool(self, tool, ldif=None, args=()):
        r = subprocess.run([tool, "-Q", "-Y", "EXTERNAL", "-H", self.slapd.ldapi_uri]
                           + list(args), input=ldif.encode() if ldif else None,
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"{tool} failed ({r.returncode}): "
                               f"{r.stderr.decode(errors='replace')}\n{ldif or ''}")

    def add(self, ldif):
        self._tool("ldapadd", ldif)

    def modify(self, ldif):
        self._tool("ldapmodify", ldif)

    def delete(self, dn):
        self._tool("ldapdelete", args=[dn])

    def modrdn(self, dn, new_rdn):
        self._tool("ldapmodrdn", args=["-r", dn, new_rdn])


def parse_ldif(data):
    """ldapsearch -LLL -o ldif-wrap=no output to {dn: {attr lower: [values]}}."""
    entries = {}
    for block in data.split(b"\n\n"):
        dn, attrs = None, {}
        for line in block.splitlines():
            if not line or line.startswith(b"#"):
                continue
            colon = line.index(b":")
            name, value = line[:colon], line[colon + 1:]
            if value.startswith(b":"):          # "attr:: base64"
                value = base64.b64decode(value[1:].strip())
            else:
                value = value[1:] if value.startswith(b" ") else value
            try:
                value = value.decode()
            except UnicodeDecodeError:
                pass
            name = name.decode().lower()
            if name == "dn":
                dn = value
            else:
                attrs.setdefault(name, []).append(value)
        if dn is not None:
            entries[dn] = attrs
    return entries


def _escape_filter(value):
    out = []
    for ch in value:
        out.append("\\%02x" % ord(ch) if ch in "*()\\\0" else ch)
    return "".join(out)


def _escape_dn_value(value):
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (i == 0 and ch in " #") or (i == len(value) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def user_ldif(directory, name, nickname=None, extra=""):
    """An account as another LDAP writer would add it (the daemon's shape, written by hand)."""
    nick = nickname or name
    return (f"dn: {directory.user_dn(name)}\n"
            "objectClass: inetOrgPerson\n"
            f"uid: {name}\ncn: {name}\n"
            f"sn:: {_b64(nick)}\ndisplayName:: {_b64(nick)}\n"
            f"mail: {name}@example.org\n{extra}")


GROUP_ID = re.compile(r"^g[0-9a-f]{16}$")


def group_name(attrs):
    """A group entry's name as the daemon reads it."""
    return attrs.get("description", attrs.get("cn"))[0]


def new_group_id():
    """A group identifier as the daemon makes them: g and 16 hex digits."""
    return "g" + secrets.token_hex(8)


def group_ldif(directory, name, gid, members=()):
    """A group as another LDAP writer would add it (the daemon's shape, by hand)."""
    gid_cn = new_group_id()
    lines = [f"dn: cn={gid_cn},{directory.groups_dn}", "objectClass: posixGroup",
             f"cn: {gid_cn}", f"description:: {_b64(name)}", f"gidNumber: {gid}"]
    lines += [f"memberUid: {m}" for m in members]
    return "\n".join(lines) + "\n"


def old_group_ldif(directory, name, gid, members=(), extra=""):
    """A group of the first layout: the name as the cn and the RDN."""
    lines = [f"dn:: {_b64(directory.old_group_dn(name))}", "objectClass: posixGroup",
             f"cn:: {_b64(name)}", f"gidNumber: {gid}"]
    lines += [f"memberUid: {m}" for m in members]
    return "\n".join(lines) + "\n" + extra


def _b64(text):
    return base64.b64encode(text.encode()).decode()


# The world ------------------------------------------------------------------------------

class Env:
    """One module's world: the harness World, a Bus, a Directory, and what was seen while
    setting the directory up (for the SetupLdap test)."""

    def __init__(self, world, dbus, ldap, before_setup, first_report, second_report):
        self.world = world
        self.bus = dbus
        self.ldap = ldap
        self.before_setup = before_setup
        self.first_report = first_report
        self.second_report = second_report
        self._serial = 0

    def unique(self, prefix):
        """A fresh name for this module's world."""
        self._serial += 1
        return f"{prefix}{self._serial}"

    def primary_host(self):
        return self.bus.prop(SERVER_PATH, SERVER, "PrimaryHost")


def start_directory_world(make_world):
    """A world with the real polkitd and a database, the Jabber subtree set up through the
    daemon (SetupLdap twice: the reports and the state before are kept for the tests)."""
    world = make_world(ldap="database", polkit="real")
    dbus = Bus()
    ldap = Directory(world.slapd)
    before = {"LdapConfigured": dbus.prop(SERVER_PATH, SERVER, "LdapConfigured"),
              "AddUser": _error_name(lambda: dbus.add_user("early", "", "pw")),
              "dump": ldap.dump()}
    first = dbus.setup_ldap()
    after_first = ldap.dump()
    second = dbus.setup_ldap()
    before["dump_after_first"] = after_first
    before["dump_after_second"] = ldap.dump()
    return Env(world, dbus, ldap, before, first, second)


def _error_name(fn):
    try:
        fn()
    except DBusError as e:
        return e.name
    return None


def daemon_criticals(world):
    """GLib criticals and warnings the daemon logged (programming errors)."""
    return [line for line in world.daemon.log().splitlines()
            if "CRITICAL **" in line or "WARNING **" in line]
