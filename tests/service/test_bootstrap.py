"""The composition root in simulate mode: real adapters wired to the terminal, and the GPIO buttons
(gpiozero MockFactory pins) reaching the sale flow."""
from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from terminal import bootstrap, config

from .conftest import TAIPEI, FakeClock

SALE = {"sale_id": "B-1", "items": [{"name": "拿鐵咖啡", "quantity": 1, "unit_price": 65}], "total": 65}


@pytest.fixture()
def built(tmp_path):
    base = bootstrap.simulate_config(tmp_path / "state", None)
    sections = {k: dict(v) for k, v in base.sections.items()}
    sections["gpio"]["hold_seconds"] = 0.0  # any press fires on release: no waiting in the test
    cfg = config.Config(sections, simulate=True)
    clock = FakeClock(dt.datetime(2024, 9, 15, 14, 30, 5, tzinfo=TAIPEI))
    b = bootstrap.build(cfg, simulate=True, clock=clock, rng=random.Random(3), scanner_stream=iter(()))
    yield b
    b.terminal.panel.close()
    b.ledger.close()


def _press(panel, pin: int, done: threading.Event) -> None:
    device_pin = panel.pin_factory.pin(pin)  # mock pins do not bounce: simulate mode sets no debounce
    device_pin.drive_low()
    device_pin.drive_high()
    assert done.wait(10), "the button never reached the terminal"


def test_simulate_build_seeds_a_demo_pool_and_issues(built):
    ranges = built.ledger.list_ranges()
    assert {r.range.track for r in ranges} == {"ZZ"}
    assert {r.range.period.code for r in ranges} == {"11310", "11312"}
    status, body = built.terminal.sale(SALE)
    assert status == 201 and body["invoice_number"] == "ZZ00000000" and body["print_state"] == "printed"


def test_reprint_button_prints_a_copy_marked_reprint(built, monkeypatch):
    t = built.terminal
    t.sale(SALE)
    done = threading.Event()
    original = t.reprint_last
    monkeypatch.setattr(t, "reprint_last", lambda: (original(), done.set()))
    _press(t.panel, 17, done)
    rec = built.ledger.get_invoice("ZZ00000000")
    assert rec.print_count == 2
    assert (t.printer.out_dir / "ZZ00000000-2.png").exists()


def test_clear_button_drops_the_pending_carrier(built, monkeypatch):
    t = built.terminal
    t.handle_scan("/ABC+123")
    assert t.pending.current(t.clock.monotonic()) is not None
    done = threading.Event()
    original = t.clear_pending
    monkeypatch.setattr(t, "clear_pending", lambda: (original(), done.set()))
    _press(t.panel, 27, done)
    assert t.pending.current(t.clock.monotonic()) is None
    _, body = t.sale(SALE)
    assert body["carrier"] is None
