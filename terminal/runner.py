"""The long-running service: API server, scanner thread, periodic work, systemd READY/WATCHDOG, and a
clean stop on SIGTERM (OLED blanked, ledger closed)."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Callable

from terminal import notify
from terminal.api import create_app, serve
from terminal.bootstrap import Built

log = logging.getLogger("receipt_terminal")
TICK_S = 1.0


class Service:
    def __init__(self, built: Built, cfg, *, port: int | None = None, ready_line: Callable[[str], None] = print):
        self.built, self.cfg = built, cfg
        self.port = port if port is not None else cfg.api.port
        self.stop = threading.Event()
        self.ready_line = ready_line
        self.server = None
        self.url = ""

    def start(self) -> str:
        t = self.built.terminal
        app = create_app(t, token=self.cfg.secrets.api_token, max_body=self.cfg.api.max_body_bytes)
        self.server, _ = serve(app, self.cfg.api.bind, self.port)
        host = self.cfg.api.bind if self.cfg.api.bind not in ("0.0.0.0", "::") else "127.0.0.1"
        self.url = f"http://{host}:{self.server.server_port}"
        if self.built.scanner is not None:
            threading.Thread(target=self._scan_loop, name="scanner", daemon=True).start()
        t.recover_interrupted_prints()
        t.tick()
        notify.notify(f"READY=1\nSTATUS=accepting sales at {self.url}")
        self.ready_line(f"READY {self.url}")
        return self.url

    def _scan_loop(self) -> None:
        try:
            self.built.scanner.run(self.stop)
        except Exception:
            log.exception("scanner stopped")

    def loop(self) -> None:
        """Periodic work until stopped. WATCHDOG=1 is sent from here, after the tick succeeded, so a
        stuck loop is restarted by systemd."""
        t = self.built.terminal
        wd = notify.watchdog_interval()
        upload_every = self.cfg.upload.interval_seconds
        last_upload = -1e18
        clock = t.clock
        while not self.stop.wait(min(TICK_S, wd or TICK_S)):
            try:
                t.tick()
                if t.uploader is not None and clock.monotonic() - last_upload >= upload_every:
                    last_upload = clock.monotonic()
                    t.upload_now()
            except Exception:
                log.exception("periodic work failed")
                continue
            if wd:
                notify.notify("WATCHDOG=1")

    def shutdown(self) -> None:
        self.stop.set()
        notify.notify("STOPPING=1")
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        d = self.built.terminal.display
        if d is not None and hasattr(d, "blank"):
            d.blank()
        p = self.built.terminal.panel
        if p is not None:
            p.close()
        self.built.ledger.close()


def run(built: Built, cfg, *, port: int | None = None, on_ready: Callable[[str], None] | None = None) -> int:
    svc = Service(built, cfg, port=port, ready_line=lambda s: (print(s), sys.stdout.flush()))

    def on_term(signum, frame):
        svc.stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    url = svc.start()
    if on_ready is not None:
        on_ready(url)
    try:
        svc.loop()
    finally:
        svc.shutdown()
    return 0
