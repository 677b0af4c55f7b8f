"""Benchmark the counter peripherals: scan-to-screen latency and the CPU the idle loop costs.

* Scan to screen: key events written into a pipe are read by ``EvdevScanner`` through evdev's own
  reader, decoded, classified into pending buyer data, rendered and pushed to an SSD1306 driver
  (luma, on a no-op bus). Measured from the write of a whole scan to the frame being sent.
  Baselines from the same run: the same handler called directly (no scanner thread, no pipe), and
  the render alone.
* Idle CPU: everything the service keeps running while nobody is at the counter — the evdev
  scanner waiting on its device, a serial scanner waiting on loop://, the GPIO panel (mock pins,
  steady LED) and the OLED re-shown once a second as the service loop does — as process CPU time
  over wall time. Baselines: the bare process, and the panel built from gpiozero ``Button``s (one
  10 Hz hold thread each) instead of ``DigitalInputDevice``.

Usage: .venv/bin/python bench/peripherals.py [--scans N] [--idle-seconds S] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import struct
import sys
import threading
import time
import warnings
from pathlib import Path

from evdev import ecodes
from evdev.eventio import EventIO

from display import OledDisplay, render_screen
from drivers.gpio import CounterPanel
from drivers.scanner import EvdevScanner, SerialScanner
from terminal.core import screens
from terminal.core.carriers import Carrier
from terminal.core.pending import PendingBuyerData

warnings.filterwarnings("ignore", "Image.Image.getdata is deprecated", DeprecationWarning)  # luma.oled 3.16
EVENT = struct.Struct("llHHi")
CODES = ["/ABC+123", "/XY.-Z+9", "168001", "04595257", "AB12345678901234", "/abc+123"]
PINS = {"reprint": 17, "clear": 27, "test_print": 22, "upload": 23, "led_ok": 5, "led_error": 6, "buzzer": 13}


class PipeDevice(EventIO):
    """An input device whose fd is a pipe (evdev parses what is written into it)."""

    def __init__(self) -> None:
        self.fd, self.w = os.pipe()
        os.set_blocking(self.fd, False)
        self.name = "bench scanner"

    def grab(self) -> None: ...

    def ungrab(self) -> None: ...

    def close(self) -> None:
        os.close(self.fd)


def scan_bytes(code: str, t0: float) -> bytes:
    keys = {"/": ("KEY_SLASH", 0), "+": ("KEY_EQUAL", 1), "-": ("KEY_MINUS", 0), ".": ("KEY_DOT", 0)}
    out, t = [], t0
    for ch in code + "\n":
        name, shift = ("KEY_ENTER", 0) if ch == "\n" else keys.get(ch) or (f"KEY_{ch.upper()}", int(ch.isupper()))
        code_ = ecodes.ecodes[name]
        seq = [(ecodes.KEY_LEFTSHIFT, 1)] * shift + [(code_, 1), (code_, 0)] + [(ecodes.KEY_LEFTSHIFT, 0)] * shift
        for key, value in seq:
            out.append(EVENT.pack(int(t), int((t % 1) * 1e6), ecodes.EV_KEY, key, value))
            t += 0.002
        out.append(EVENT.pack(int(t), int((t % 1) * 1e6), ecodes.EV_SYN, 0, 0))
    return b"".join(out)


def make_oled():
    from luma.core.interface.serial import noop
    from luma.oled.device import ssd1306

    return OledDisplay(ssd1306(serial_interface=noop()), orbit_s=None, dim_after_s=None)


def make_handler(oled, pending, done: threading.Event | None):
    def on_scan(raw: str) -> None:
        now = time.monotonic()
        outcome = pending.scan(raw, now)
        if outcome.accepted:
            screen = screens.pending_screen(outcome.pending.choice, outcome.pending.expires_in(now))
        else:
            screen = screens.scan_rejected_screen(outcome.error.message_zh, raw)
        oled.show(screen)
        if done is not None:
            done.set()
    return on_scan


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_latency(n: int) -> dict:
    oled, pending = make_oled(), PendingBuyerData(hold_s=60)
    done = threading.Event()
    dev = PipeDevice()
    stop = threading.Event()
    scanner = EvdevScanner(match={}, on_scan=make_handler(oled, pending, done), open_device=lambda: dev)
    thread = threading.Thread(target=scanner.run, args=(stop,), daemon=True)
    thread.start()
    # vary the countdown so every scan is a real redraw
    payloads = [scan_bytes(CODES[i % len(CODES)], 1000.0 + i) for i in range(n)]
    via_scanner = []
    for i, payload in enumerate(payloads):
        pending.hold_s = 30.0 + i % 20
        done.clear()
        t0 = time.perf_counter()
        os.write(dev.w, payload)
        if not done.wait(5):
            raise RuntimeError("scan did not reach the screen")
        via_scanner.append(time.perf_counter() - t0)
    stop.set()
    thread.join(5)

    direct_handler = make_handler(make_oled(), PendingBuyerData(hold_s=60), None)
    direct, render_only = [], []
    for i in range(n):
        t0 = time.perf_counter()
        direct_handler(CODES[i % len(CODES)])
        direct.append(time.perf_counter() - t0)
        screen = screens.pending_screen(Carrier("3J0002", "/ABC+123"), i)
        t0 = time.perf_counter()
        render_screen(screen)
        render_only.append(time.perf_counter() - t0)
    ms = lambda v: round(v * 1000, 3)  # noqa: E731
    return {
        "scans": n,
        "scan_to_screen_ms": {"median": ms(statistics.median(via_scanner)), "p95": ms(pct(via_scanner, 0.95)),
                              "max": ms(max(via_scanner))},
        "direct_handler_ms": {"median": ms(statistics.median(direct)), "p95": ms(pct(direct, 0.95))},
        "render_only_ms": {"median": ms(statistics.median(render_only)), "p95": ms(pct(render_only, 0.95))},
        "scanner_overhead_ratio": round(statistics.median(via_scanner) / statistics.median(direct), 2),
    }


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure_idle(seconds: float, setup) -> float:
    """Percent of one core used by this process for ``seconds`` of wall time after ``setup()``."""
    teardown = setup()
    stop = threading.Event()
    stop.wait(0.3)  # let threads settle into their idle waits
    c0, w0 = cpu_seconds(), time.monotonic()
    stop.wait(seconds)
    c1, w1 = cpu_seconds(), time.monotonic()
    teardown()
    return round(100 * (c1 - c0) / (w1 - w0), 3)


def idle_system(use_buttons: bool = False):
    from gpiozero import Button
    from gpiozero.pins.mock import MockFactory

    def setup():
        stop = threading.Event()
        dev = PipeDevice()
        evdev_scanner = EvdevScanner(match={}, on_scan=lambda c: None, open_device=lambda: dev)
        serial_scanner = SerialScanner("loop://", on_scan=lambda c: None)
        threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in (evdev_scanner, serial_scanner)]
        factory = MockFactory()
        if use_buttons:
            panel = [Button(PINS[n], pin_factory=factory, hold_time=2) for n in ("reprint", "clear", "test_print",
                                                                                 "upload")]
        else:
            panel = CounterPanel(PINS, pin_factory=factory)
            panel.led("ok")
        oled = make_oled()
        screen = screens.ready_screen("113年09-10月", 1234, 12)

        def refresh():  # the service loop: re-show the current screen once a second
            while not stop.wait(1.0):
                oled.show(screen)

        threads.append(threading.Thread(target=refresh, daemon=True))
        oled.show(screen)
        for t in threads:
            t.start()

        def teardown():
            stop.set()
            for t in threads:
                t.join(5)
            for p in (panel if isinstance(panel, list) else [panel]):
                p.close()
            factory.reset()
        return teardown
    return setup


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=300)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "peripherals.json"))
    args = ap.parse_args(argv)

    latency = bench_latency(args.scans)
    idle = {
        "bare_process_pct": measure_idle(args.idle_seconds, lambda: (lambda: None)),
        "peripherals_idle_pct": measure_idle(args.idle_seconds, idle_system()),
        "with_gpiozero_buttons_pct": measure_idle(args.idle_seconds, idle_system(use_buttons=True)),
    }
    result = {"machine": {"python": platform.python_version(), "cpu": platform.machine(),
                          "cores": os.cpu_count()},
              "latency": latency, "idle_seconds": args.idle_seconds, "idle_cpu": idle,
              "idle_target_pct": 1.0, "idle_target_met": idle["peripherals_idle_pct"] < 1.0}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    lat = latency
    rows = [
        ("scan → screen (evdev pipe, thread)", f"{lat['scan_to_screen_ms']['median']:.2f} ms",
         f"{lat['scan_to_screen_ms']['p95']:.2f} ms"),
        ("handler called directly (baseline)", f"{lat['direct_handler_ms']['median']:.2f} ms",
         f"{lat['direct_handler_ms']['p95']:.2f} ms"),
        ("render only", f"{lat['render_only_ms']['median']:.2f} ms", f"{lat['render_only_ms']['p95']:.2f} ms"),
        ("ratio scan→screen / direct", f"{lat['scanner_overhead_ratio']:.2f}x", ""),
        ("idle CPU, bare process (floor)", f"{idle['bare_process_pct']:.3f} %", ""),
        ("idle CPU, peripherals", f"{idle['peripherals_idle_pct']:.3f} %", "target < 1 %"),
        ("idle CPU, with gpiozero Buttons x4", f"{idle['with_gpiozero_buttons_pct']:.3f} %", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'median':>10}  {'p95':>12}")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>10}  {b:>12}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
