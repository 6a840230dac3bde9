"""A fault-injecting TCP proxy between the daemon and slapd, to break one chosen LDAP
request of a multi-step change — deterministically, where freezing slapd (SIGSTOP) at the
right moment would be a race.

Requests are counted from `arm()` on, on every connection (binds, unbinds and abandons are
not counted: they are not steps of a change). The n-th one meets the fault:
  "hold": it reaches slapd, which makes the change, but the answer (and everything after it
          on that connection) is held back until `release()` — slapd frozen right after it
          took the request (SIGSTOP ... SIGCONT), as seen by the client.
  "lose": it reaches slapd; once slapd answered, the answer is dropped and the connection
          closed — slapd killed after it made the change.
  "cut":  it never reaches slapd; the connection is closed — slapd killed before it read it.
Then the proxy passes everything again."""

import socket
import threading

UNCOUNTED = {0x60: "bind", 0x42: "unbind", 0x50: "abandon"}
KINDS = {0x63: "search", 0x66: "modify", 0x68: "add", 0x4a: "delete", 0x6c: "modrdn",
         0x6e: "compare", 0x77: "extended"}


def _messages(buffer):
    """Splits complete BER LDAPMessages off the front of `buffer` (a bytearray)."""
    out = []
    while len(buffer) >= 2:
        first = buffer[1]
        if first < 0x80:
            header, length = 2, first
        else:
            n = first & 0x7f
            if len(buffer) < 2 + n:
                break
            header, length = 2 + n, int.from_bytes(buffer[2:2 + n], "big")
        if len(buffer) < header + length:
            break
        out.append(bytes(buffer[:header + length]))
        del buffer[:header + length]
    return out


def _op_tag(message):
    """The protocolOp tag of an LDAPMessage: after the header and the messageID."""
    first = message[1]
    pos = 2 if first < 0x80 else 2 + (first & 0x7f)
    id_len = message[pos + 1]            # INTEGER, short form
    return message[pos + 2 + id_len]


class _Link:
    def __init__(self, proxy, client, server):
        self.proxy = proxy
        self.client = client
        self.server = server
        self.holding = False
        self.losing = False
        self.held = []
        self.server_gone = False     # slapd closed its end while answers were held
        self.lock = threading.Lock()
        self.closed = False

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def upstream(self):
        buffer = bytearray()
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                buffer += data
                for message in _messages(buffer):
                    fault = self.proxy._fault_for(_op_tag(message), self)
                    if fault == "cut":
                        self.close()
                        return
                    if fault == "hold":
                        with self.lock:
                            self.holding = True
                    elif fault == "lose":
                        with self.lock:
                            self.losing = True
                    self.server.sendall(message)
        except OSError:
            pass
        with self.lock:
            holding = self.holding
        if not holding:
            self.close()

    def downstream(self):
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                with self.lock:
                    if self.losing:
                        lose = True
                    else:
                        lose = False
                        if self.holding:
                            self.held.append(data)
                            continue
                if lose:
                    self.close()
                    return
                self.client.sendall(data)
        except OSError:
            pass
        with self.lock:
            holding = self.holding
            self.server_gone = True
        if not holding:
            self.close()

    def release(self):
        with self.lock:
            self.holding = False
            held, self.held = self.held, []
            gone = self.server_gone
        try:
            for data in held:
                self.client.sendall(data)
        except OSError:
            gone = True
        if gone:
            self.close()


class LdapProxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.links = []
        self.rule = None            # (nth, mode)
        self.count = 0
        self.seen = []              # kinds of the counted requests since arm()
        self.fired = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()          # slapd is not there: as if refused
                continue
            link = _Link(self, client, server)
            with self.lock:
                self.links.append(link)
            threading.Thread(target=link.upstream, daemon=True).start()
            threading.Thread(target=link.downstream, daemon=True).start()

    def _fault_for(self, tag, link):
        if tag in UNCOUNTED:
            return None
        with self.lock:
            self.count += 1
            self.seen.append(KINDS.get(tag, hex(tag)))
            if self.rule is not None and self.count == self.rule[0]:
                mode = self.rule[1]
                self.rule = None
                self.fired.set()
                return mode
        return None

    def arm(self, nth, mode):
        assert mode in ("hold", "lose", "cut")
        with self.lock:
            self.rule = (nth, mode)
            self.count = 0
            self.seen = []
            self.fired.clear()

    def counting(self):
        """Counts requests from now on without a fault (to learn a change's steps)."""
        with self.lock:
            self.rule = None
            self.count = 0
            self.seen = []

    def release(self):
        """Lets held answers through (slapd thawed)."""
        with self.lock:
            links = list(self.links)
        for link in links:
            link.release()

    def close(self):
        self.listener.close()
        with self.lock:
            links, self.links = self.links, []
        for link in links:
            link.close()
