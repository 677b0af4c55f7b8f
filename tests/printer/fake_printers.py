"""Fake ESC/POS printers on real transports: a pty for escpos ``Serial`` and a loopback TCP server for
``Network``. Both answer ``DLE EOT n`` from a table of reply bytes, keep every byte they receive and
can change their state once a job's data arrives, as a printer running out of paper mid-receipt would."""
from __future__ import annotations

import os
import socket
import threading

OK = {1: 0x16, 2: 0x12, 4: 0x12}
NEAR_END = {1: 0x16, 2: 0x12, 4: 0x1E}
PAPER_OUT = {1: 0x1E, 2: 0x32, 4: 0x72}
COVER_OPEN = {1: 0x1E, 2: 0x16, 4: 0x12}
SILENT: dict[int, int] = {}
QUERY = b"\x10\x04"


def status_queries(*ns: int) -> bytes:
    return b"".join(QUERY + bytes((n,)) for n in ns)


class _Replier:
    """Answers ``DLE EOT n`` wherever it appears, even inside the data of another command, as real
    printers do (real-time commands); ``stream`` keeps every byte received. ``after_job`` replaces the
    replies once data other than status queries has arrived (the printer changed while printing)."""

    def __init__(self, replies: dict[int, int], after_job: dict[int, int] | None) -> None:
        self.replies = dict(replies)
        self.after_job = after_job
        self.stream = bytearray()
        self.queries: list[int] = []
        self.lock = threading.Lock()
        self._scanned = 0
        self._data_seen = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        with self.lock:
            self.stream += data
            buf, i = self.stream, self._scanned
            while i < len(buf):
                if buf[i:i + 2] == QUERY and (i + 2 >= len(buf) or 1 <= buf[i + 2] <= 4):
                    if i + 2 >= len(buf):
                        break  # the rest of the query comes with the next read
                    n = buf[i + 2]
                    if self._data_seen and self.after_job is not None:
                        self.replies = dict(self.after_job)
                    self.queries.append(n)
                    if n in self.replies:
                        out.append(self.replies[n])
                    i += 3
                else:
                    self._data_seen = True
                    i += 1
            self._scanned = i
        return bytes(out)


class PtyPrinter:
    """The slave end is the printer's serial port (``self.port``) for escpos ``Serial``."""

    def __init__(self, replies: dict[int, int], *, after_job: dict[int, int] | None = None) -> None:
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.replier = _Replier(replies, after_job)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            reply = self.replier.feed(data)
            if reply:
                os.write(self.master, reply)

    @property
    def stream(self) -> bytes:
        return bytes(self.replier.stream)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self.slave)


class TcpPrinter:
    """A printer on 127.0.0.1:``self.port`` (escpos ``Network``), one connection at a time."""

    def __init__(self, replies: dict[int, int], *, after_job: dict[int, int] | None = None,
                 unsolicited: bytes = b"") -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.replier = _Replier(replies, after_job)
        self.unsolicited = unsolicited
        self.connections = 0
        self._conn: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            self._conn = conn
            with conn:
                if self.unsolicited:
                    conn.sendall(self.unsolicited)
                while True:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        break
                    if not data:
                        break
                    reply = self.replier.feed(data)
                    if reply:
                        conn.sendall(reply)

    @property
    def stream(self) -> bytes:
        return bytes(self.replier.stream)

    def close(self) -> None:
        for sock in (self.server, self._conn):  # wake the accept() and the recv()
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server.close()
        self._thread.join(timeout=5)
