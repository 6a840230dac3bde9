"""A real XMPP client for the end-to-end tests: python3-slixmpp 1.8.3 (Debian), driven
synchronously from a test.

    s = xmpp.login("alice@example.org", "secret", port=world.ejabberd.client_port)
    s.roster()                  # {"Отдел продаж": {"alice@example.org", "bob@example.org"}}
    s.vcard("bob@example.org")  # VCard(nickname="Боб", photo=b"\\xff\\xd8...", photo_type=...)
    s.send("bob@example.org", "hello")
    s.wait_disconnected(10)     # True once the server ended the session (kick_user)
    s.close()

    xmpp.try_login(jid, password, port=...)   # "ok", "auth-failed" or "no-connection: ..."

Every client runs on one asyncio loop in a background thread (slixmpp is asyncio-only and
not thread-safe: all its calls are made on that thread). Connections use STARTTLS (required
by the server) with the certificate NOT verified: the daemon's is self-signed.
Only PLAIN is offered with LDAP auth; slixmpp allows it once the stream is encrypted.
"""

import asyncio
import atexit
import base64
import logging
import ssl
import threading
import time
from dataclasses import dataclass

import slixmpp
import slixmpp.exceptions

DEFAULT_TIMEOUT = 15.0

_loop = None
_loop_lock = threading.Lock()


def _the_loop():
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="xmpp-loop", daemon=True).start()
            atexit.register(_shutdown)
        return _loop


def _shutdown():
    """At exit: cancel what slixmpp left running, so no "Task was destroyed" noise."""
    async def cancel():
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    try:
        asyncio.run_coroutine_threadsafe(cancel(), _loop).result(5)
        _loop.call_soon_threadsafe(_loop.stop)
    except Exception:
        pass


def _run(coro, timeout):
    """Runs coro on the client loop, returns its result (raises its exception)."""
    fut = asyncio.run_coroutine_threadsafe(coro, _the_loop())
    return fut.result(timeout)


class LoginFailed(Exception):
    """kind: "auth-failed" (the server refused the credentials), "no-connection" (TCP or
    TLS failed) or "timeout"."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass
class VCard:
    nickname: str
    full_name: str
    family: str
    photo: bytes
    photo_type: str


class _Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        # The daemon's certificate is self-signed: accept it.
        self.ssl_context = ssl.create_default_context()
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0054")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0060")
        self.presences = []              # (from JID, type, XEP-0153 photo hash or None)
        self.add_event_handler("presence", self._on_presence)
        self.outcome = None              # a Future: "ok" or a LoginFailed
        self.disconnected = None         # a Future done when the connection is lost
        self.disconnected_at = None      # time.monotonic() when it was (for bench/)
        self.messages = []
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_all_auth", self._on_failed_auth)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.ended_at = None             # when the server ended the stream (stream error)
        self.add_event_handler("stream_error", self._on_stream_error)
        self.roster_pushes = []          # (time.monotonic(), the push's iq), type=set only
        self.add_event_handler("roster_update", self._on_roster_update)
        self.add_event_handler("message", lambda m: self.messages.append(m))

    def _settle(self, value):
        if self.outcome is not None and not self.outcome.done():
            self.outcome.set_result(value)

    def _on_session_start(self, _event):
        self.send_presence()
        self._settle("ok")

    def _on_failed_auth(self, _event):
        self._settle(LoginFailed("auth-failed"))

    def _on_connection_failed(self, error):
        # slixmpp would retry for ever with back-off: stop it, report.
        self.cancel_connection_attempt()
        self._settle(LoginFailed("no-connection", str(error)))

    def _on_presence(self, presence):
        photo = presence.xml.find("{vcard-temp:x:update}x/{vcard-temp:x:update}photo")
        self.presences.append((str(presence["from"]), presence["type"],
                               None if photo is None else (photo.text or "")))

    def _on_roster_update(self, iq):
        if iq["type"] == "set":
            self.roster_pushes.append((time.monotonic(), iq))

    def _on_stream_error(self, _error):
        if self.ended_at is None:
            self.ended_at = time.monotonic()

    def _on_disconnected(self, reason):
        self._settle(LoginFailed("no-connection", f"disconnected before the session: {reason}"))
        if self.disconnected is not None and not self.disconnected.done():
            self.disconnected_at = time.monotonic()
            self.disconnected.set_result(reason)


async def _teardown(c, timeout=3):
    """Ends the client's connection whatever state it is in, then cancels the
    outgoing-filter task slixmpp leaves pending (else asyncio complains "Task was destroyed
    but it is pending" when the client is freed)."""
    c.cancel_connection_attempt()
    if not c.disconnected.done() and c.transport is not None:
        try:
            c.disconnect(wait=1)
            await asyncio.wait_for(asyncio.shield(c.disconnected), timeout)
        except Exception:                 # timeout, or a transport already half closed
            try:
                c.abort()
            except Exception:
                pass
    task = getattr(c, "_run_out_filters", None)
    if task is not None and not task.done():
        task.cancel()


class Session:
    """One logged-in client. Methods block the calling thread."""

    def __init__(self, client, jid):
        self._c = client
        self.jid = jid

    # Roster ----------------------------------------------------------------------------

    def roster(self, timeout=DEFAULT_TIMEOUT):
        """{group name: set of bare JIDs}; contacts without a group under ""."""
        async def get():
            await self._c.get_roster(timeout=timeout)
            groups = {}
            roster = self._c.client_roster
            own = self._c.boundjid.bare
            for jid in roster:
                if str(jid) == own:       # slixmpp keeps an entry for itself
                    continue
                item = roster[jid]
                names = item["groups"] or [""]
                for g in names:
                    groups.setdefault(g, set()).add(str(jid))
            return groups
        return _run(get(), timeout + 5)

    def _local_roster(self):
        groups = {}
        roster = self._c.client_roster
        own = self._c.boundjid.bare
        for jid in roster:
            if str(jid) == own:
                continue
            for g in roster[jid]["groups"] or [""]:
                groups.setdefault(g, set()).add(str(jid))
        return groups

    def local_roster(self):
        """The roster as the client holds it now, without asking the server: what roster
        pushes made of the last fetch. {group name: set of bare JIDs}."""
        async def get():
            return self._local_roster()
        return _run(get(), 5)

    def local_names(self):
        """{bare JID: name} as the client holds it now (no fetch)."""
        async def get():
            roster = self._c.client_roster
            own = self._c.boundjid.bare
            return {str(j): roster[j]["name"] for j in roster if str(j) != own}
        return _run(get(), 5)

    def wait_roster(self, predicate, timeout=DEFAULT_TIMEOUT):
        """time.monotonic() when predicate(local roster) first held, waiting up to `timeout`
        seconds for roster pushes (the roster is never fetched here); None if it never did."""
        async def wait():
            deadline = time.monotonic() + timeout
            while True:
                now = time.monotonic()
                if predicate(self._local_roster()):
                    return now
                if now > deadline:
                    return None
                await asyncio.sleep(0.01)
        return _run(wait(), timeout + 5)

    def pushes(self):
        """How many roster pushes (iq type=set) the client received."""
        async def get():
            return len(self._c.roster_pushes)
        return _run(get(), 5)

    def pep_items(self, jid, node, timeout=DEFAULT_TIMEOUT):
        """The items of PEP node `node` of `jid` as [(id, payload Element or None)]; [] when
        the node does not exist."""
        async def get():
            try:
                iq = await self._c.plugin["xep_0060"].get_items(jid, node, timeout=timeout)
            except slixmpp.exceptions.IqError as e:
                if e.condition == "item-not-found":
                    return []
                raise
            return [(item["id"], item.get_payload()) for item in iq["pubsub"]["items"]]
        return _run(get(), timeout + 5)

    def presences(self):
        """Every presence received so far: (from full JID, type, XEP-0153 photo hash or
        None)."""
        async def get():
            return list(self._c.presences)
        return _run(get(), 5)

    def roster_names(self, timeout=DEFAULT_TIMEOUT):
        """{bare JID: the name the roster gives it}."""
        async def get():
            await self._c.get_roster(timeout=timeout)
            roster = self._c.client_roster
            own = self._c.boundjid.bare
            return {str(j): roster[j]["name"] for j in roster if str(j) != own}
        return _run(get(), timeout + 5)

    # vCard -----------------------------------------------------------------------------

    def vcard(self, jid=None, timeout=DEFAULT_TIMEOUT):
        async def get():
            iq = await self._c.plugin["xep_0054"].get_vcard(jid or self.jid, cached=False,
                                                            timeout=timeout)
            v = iq["vcard_temp"]
            photo = v["PHOTO"]
            data = photo["BINVAL"] if photo is not None else b""
            if isinstance(data, str):
                data = base64.b64decode(data) if data else b""
            nickname = v["NICKNAME"]            # a list: NICKNAME may repeat
            if isinstance(nickname, (list, tuple)):
                nickname = nickname[0] if nickname else ""
            return VCard(nickname=nickname or "", full_name=v["FN"] or "",
                         family=v["N"]["FAMILY"] or "", photo=data or b"",
                         photo_type=(photo["TYPE"] if photo is not None else "") or "")
        return _run(get(), timeout + 5)

    # Messages --------------------------------------------------------------------------

    def send(self, to, body, timeout=DEFAULT_TIMEOUT):
        async def send():
            self._c.send_message(mto=to, mbody=body, mtype="chat")
        _run(send(), timeout)

    def received(self):
        """Bodies of the chat messages received so far, as (from bare JID, body)."""
        async def get():
            return [(str(m["from"].bare), m["body"]) for m in self._c.messages
                    if m["type"] in ("chat", "normal") and m["body"]]
        return _run(get(), 5)

    def ping(self, timeout=5):
        """True when the server still answers this session."""
        async def ping():
            try:
                await self._c.plugin["xep_0199"].ping(timeout=timeout)
                return True
            except Exception:
                return False
        try:
            return _run(ping(), timeout + 5)
        except Exception:
            return False

    # The connection --------------------------------------------------------------------

    def sasl_mechanisms(self):
        """The SASL mechanisms the server offered in its stream features (after STARTTLS),
        sorted."""
        async def get():
            return sorted(self._c.plugin["feature_mechanisms"].mech_list)
        return _run(get(), 5)

    def connected(self):
        return not self._c.disconnected.done()

    @property
    def disconnected_at(self):
        """time.monotonic() when the connection was lost, or None."""
        return self._c.disconnected_at

    @property
    def ended_at(self):
        """time.monotonic() when the server's stream error arrived (a kick sends one before
        closing), or None."""
        return self._c.ended_at

    def wait_disconnected(self, timeout=DEFAULT_TIMEOUT):
        """True once the server has closed the connection within `timeout` seconds."""
        async def wait():
            try:
                await asyncio.wait_for(asyncio.shield(self._c.disconnected), timeout)
                return True
            except asyncio.TimeoutError:
                return False
        return _run(wait(), timeout + 5)

    def close(self, timeout=5):
        async def close():
            await _teardown(self._c, timeout)
        try:
            _run(close(), timeout + 5)
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def login(jid, password, port, address="127.0.0.1", timeout=DEFAULT_TIMEOUT):
    """A Session, or LoginFailed (kind "auth-failed", "no-connection" or "timeout")."""
    async def connect():
        c = _Client(jid, password)
        loop = asyncio.get_running_loop()
        c.outcome = loop.create_future()
        c.disconnected = loop.create_future()
        c.connect(address=(address, port), force_starttls=True, disable_starttls=False)
        try:
            result = await asyncio.wait_for(asyncio.shield(c.outcome), timeout)
        except asyncio.TimeoutError:
            result = LoginFailed("timeout", f"no session within {timeout}s")
        if isinstance(result, LoginFailed):
            await _teardown(c)
            return result
        return c
    c = _run(connect(), timeout + 10)
    if isinstance(c, LoginFailed):
        raise c
    return Session(c, jid)


def try_login(jid, password, port, address="127.0.0.1", timeout=DEFAULT_TIMEOUT):
    """"ok" (and logs out at once), "auth-failed", "timeout" or "no-connection: ..."."""
    try:
        login(jid, password, port, address, timeout).close()
        return "ok"
    except LoginFailed as e:
        return e.kind if e.kind != "no-connection" else f"no-connection: {e.detail}"


def quiet():
    """slixmpp logs a lot at WARNING for expected failures (auth refused): keep tests' output
    readable."""
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)
