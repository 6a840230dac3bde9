"""A TCP relay that can hold its traffic: the replication link between two providers in
the two-node world (twonodes.py), so that a test can keep the providers apart for a
moment (a network partition) and let them meet again, deterministically.

    relay = Relay(target_port)       # listens on 127.0.0.1:relay.port
    relay.hold()                     # bytes are kept, in both directions, not passed
    relay.release()                  # what was kept goes on, in order; then pass again
    relay.close()

Connections come and go as the peers make them; a peer that closes closes the other side.
"""

import socket
import threading


class _Pipe:
    def __init__(self, relay, client, server):
        self.relay = relay
        self.ends = (client, server)
        self.closed = False
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.relay.cond:
                    while self.relay.holding and not self.relay.closed:
                        self.relay.cond.wait()
                dst.sendall(data)
        except OSError:
            pass
        self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in self.ends:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class Relay:
    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self.cond = threading.Condition()
        self.holding = False
        self.closed = False
        self.pipes = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self):
        return f"ldap://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()           # the peer is down: as if refused
                continue
            self.pipes = [p for p in self.pipes if not p.closed] + [_Pipe(self, client, server)]

    def hold(self):
        """From now on, data read on either side waits (a pump holds at most one chunk;
        TCP keeps the rest)."""
        with self.cond:
            self.holding = True

    def release(self):
        with self.cond:
            self.holding = False
            self.cond.notify_all()

    def close(self):
        self.closed = True
        self.release()
        self.sock.close()
        for p in self.pipes:
            p.close()
