"""Fake ESC/POS printers on real transports: a pty for escpos ``Serial`` and a loopback TCP server for
``Network``. Both answer ``DLE EOT n`` from a table of reply bytes, keep every other byte they receive
(the jobs) and can change their state once a job's cut arrives, as a printer running out of paper
mid-receipt would."""
from __future__ import annotations

import os
import socket
import threading

OK = {1: 0x16, 2: 0x12, 4: 0x12}
NEAR_END = {1: 0x16, 2: 0x12, 4: 0x1E}
PAPER_OUT = {1: 0x1E, 2: 0x32, 4: 0x72}
COVER_OPEN = {1: 0x1E, 2: 0x16, 4: 0x12}
SILENT: dict[int, int] = {}
CUT = b"\x1dV"


class _Replier:
    """Splits the incoming stream into status queries (answered) and job bytes (kept)."""

    def __init__(self, replies: dict[int, int], after_cut: dict[int, int] | None) -> None:
        self.replies = dict(replies)
        self.after_cut = after_cut
        self.job = bytearray()
        self.queries: list[int] = []
        self.lock = threading.Lock()
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        with self.lock:
            buf = self._pending + data
            self._pending = b""
            i = 0
            while i < len(buf):
                if buf[i:i + 2] == b"\x10\x04":
                    if i + 2 >= len(buf):
                        self._pending = buf[i:]
                        break
                    n = buf[i + 2]
                    self.queries.append(n)
                    if n in self.replies:
                        out.append(self.replies[n])
                    i += 3
                else:
                    self.job.append(buf[i])
                    i += 1
            if self.after_cut is not None and CUT in self.job:
                self.replies = dict(self.after_cut)
        return bytes(out)


class PtyPrinter:
    """The slave end is the printer's serial port (``self.port``) for escpos ``Serial``."""

    def __init__(self, replies: dict[int, int], *, after_cut: dict[int, int] | None = None) -> None:
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.replier = _Replier(replies, after_cut)
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
    def job(self) -> bytes:
        return bytes(self.replier.job)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self.slave)


class TcpPrinter:
    """A printer on 127.0.0.1:``self.port`` (escpos ``Network``), one connection at a time."""

    def __init__(self, replies: dict[int, int], *, after_cut: dict[int, int] | None = None,
                 unsolicited: bytes = b"") -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.replier = _Replier(replies, after_cut)
        self.unsolicited = unsolicited
        self.connections = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
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
    def job(self) -> bytes:
        return bytes(self.replier.job)

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        except OSError:
            pass
        self.server.close()
        self._thread.join(timeout=5)
