"""A TCP relay in front of one server, for tests that need to see or shape
what passes between halyard and that server (a userspace stand-in for
`tc netem`, which this machine lacks). Subclasses override `up` (halyard to
the server) and `down` (the server to halyard); each runs in its own thread
per connection and gets every chunk as it arrives."""

import contextlib
import socket
import threading
import time


class TcpRelay:
    def __init__(self, target_port):
        self.target = target_port
        self.open = []  # every socket of every connection through it (cut)
        self.gone = False
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            if self.gone:
                a.close()
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                a.close()
                continue
            self.open += [a, b]
            threading.Thread(target=self._pump, args=(a, b, self.up), daemon=True).start()
            threading.Thread(target=self._pump, args=(b, a, self.down), daemon=True).start()

    def _pump(self, src, dst, hook):
        try:
            while data := src.recv(65536):
                self._send(dst, hook(data), hook)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _send(self, dst, data, hook):
        """Write what `hook` made of a read (a subclass may pace it)."""
        dst.sendall(data)

    def up(self, data):
        return data

    def down(self, data):
        return data

    def close(self):
        self.sock.close()

    def cut(self):
        """The server vanishes for whoever comes through: no new connection
        (the listening socket closed: a connect is refused) and every one
        open closed (shutdown, not close alone: the threads blocked on them
        wake), the monitor's kept one too; the server lives on."""
        self.gone = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        self.close()
        for s in list(self.open):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class DelayRelay(TcpRelay):
    """Every answer of the server arrives `delay_s` late: a server that far
    away, as the monitor's round trip sees it."""

    def __init__(self, target_port, delay_s):
        self.delay_s = delay_s
        super().__init__(target_port)

    def down(self, data):
        time.sleep(self.delay_s)
        return data
