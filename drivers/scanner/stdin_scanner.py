"""The scanner of simulate mode: one code per line from a stream (normally stdin).

A stream with a file descriptor is read with ``select`` + ``os.read`` so ``stop`` is honoured while
waiting and no line sits unseen in a Python read-ahead buffer; other streams (``io.StringIO``) are
read line by line."""
from __future__ import annotations

import logging
import os
import select
import threading
from typing import Callable

from terminal.core.scancodes import ScanLineDecoder

log = logging.getLogger(__name__)


class StdinScanner:
    """Calls ``on_scan(line)`` for every non-blank line of ``stream`` until EOF or ``stop``."""

    def __init__(self, stream, *, on_scan: Callable[[str], None], poll_s: float = 0.5) -> None:
        self.stream, self.on_scan, self.poll_s = stream, on_scan, poll_s
        self.scans = 0
        self.eof = False

    def status(self) -> dict:
        return {"type": "stdin", "connected": not self.eof, "device": "stdin", "scans": self.scans}

    def run(self, stop: threading.Event) -> None:
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
            fd = None
        if fd is None:
            self._run_lines(stop)
        else:
            self._run_fd(fd, stop)
        self.eof = True

    def _run_lines(self, stop: threading.Event) -> None:
        decoder = ScanLineDecoder()
        while not stop.is_set():
            line = self.stream.readline()
            if not line:
                return
            self._emit(decoder.feed((line if line.endswith("\n") else line + "\n").encode("utf-8")))

    def _run_fd(self, fd: int, stop: threading.Event) -> None:
        decoder = ScanLineDecoder()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], self.poll_s)
            if not ready:
                continue
            data = os.read(fd, 4096)
            if not data:
                self._emit(decoder.feed(b"\n"))  # a last line without newline still counts
                return
            self._emit(decoder.feed(data))

    def _emit(self, codes: list[str]) -> None:
        for code in codes:
            self.scans += 1
            try:
                self.on_scan(code)
            except Exception:
                log.exception("scan handler failed")
