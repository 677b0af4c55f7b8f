"""The pending buyer data state machine, with ``now`` passed in."""
import threading

import pytest

from terminal.core.carriers import BuyerTaxId, Carrier, Donation
from terminal.core.errors import ConfigError
from terminal.core.pending import PendingBuyerData


def test_a_valid_scan_is_pending_until_it_expires():
    p = PendingBuyerData(hold_s=60)
    out = p.scan("/ABC+123\r\n", now=100.0)
    assert out.accepted and out.error is None
    assert out.pending.choice == Carrier("3J0002", "/ABC+123")
    assert out.pending.expires_at == 160.0 and out.pending.expires_in(100.2) == 60
    assert p.current(159.9) == out.pending
    assert out.pending.expires_in(159.9) == 1
    assert p.current(160.0) is None
    assert p.take(100.0) is None  # expired is gone for good


def test_a_bad_scan_is_reported_and_keeps_the_earlier_choice():
    p = PendingBuyerData(hold_s=30)
    first = p.scan("168001", now=0.0)
    bad = p.scan("/abc+123", now=5.0)
    assert not bad.accepted and bad.pending is None
    assert bad.error.code == "invalid_carrier" and bad.error.message_zh == "手機條碼格式錯誤"
    assert p.current(6.0) == first.pending and first.pending.choice == Donation("168001")


def test_a_new_scan_replaces_the_old_one_with_a_fresh_window():
    p = PendingBuyerData(hold_s=30)
    p.scan("168001", now=0.0)
    second = p.scan("04595257", now=20.0)
    assert p.current(45.0).choice == BuyerTaxId("04595257") and second.pending.expires_at == 50.0


def test_take_hands_the_choice_to_exactly_one_sale():
    p = PendingBuyerData()
    p.scan("/XY.-Z+9", now=0.0)
    results = []
    threads = [threading.Thread(target=lambda: results.append(p.take(1.0))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(results) == 8 and results.count(None) == 7
    assert [r for r in results if r is not None] == [Carrier("3J0002", "/XY.-Z+9")]


def test_clear_drops_and_returns_the_choice():
    p = PendingBuyerData()
    p.scan("AB12345678901234", now=0.0)
    assert p.clear().choice == Carrier("CQ0001", "AB12345678901234")
    assert p.clear() is None and p.current(1.0) is None


@pytest.mark.parametrize("hold", [0, 0.5, 3601, True, "60", None])
def test_hold_time_is_checked(hold):
    with pytest.raises(ConfigError) as e:
        PendingBuyerData(hold_s=hold)
    assert e.value.field == "terminal.pending_seconds"
