"""Screen models: content, alerts, and the layout budget, without any pixels."""
import pytest

from terminal.core import screens as s
from terminal.core.carriers import Carrier
from terminal.core.errors import ValidationError
from terminal.core.screens import BODY_PX, LARGE, SMALL, Line, Screen

from .catalog import SCREENS


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_every_screen_fits_the_panel(name):
    screen = SCREENS[name]
    assert sum(line.size for line in screen.lines) <= BODY_PX
    assert s.fits(screen.title) and all(s.fits(line.text, line.size) for line in screen.lines)


def test_ready_screen_states_period_numbers_and_days():
    assert SCREENS["ready"].text == "可開立發票\n期別 113年09-10月\n剩餘號碼 1234 張\n約可用 12 天\n請掃描載具或統編"
    assert "可用天數尚無資料" in SCREENS["ready_no_history"].text


def test_ready_screen_with_more_warnings_than_lines_counts_the_rest():
    lines = [line.text for line in SCREENS["ready_warnings"].lines]
    assert lines == ["期別 113年11-12月", "剩48張 約2天", "！下期字軌未匯入", "！另有 2 項警告"]
    assert not SCREENS["ready_warnings"].alert


def test_pending_screen_shows_the_code_big_when_it_fits():
    mobile, citizen = SCREENS["pending_mobile"], SCREENS["pending_citizen"]
    assert mobile.lines[0] == Line("/ABC+123", LARGE, "center") and mobile.title == "手機條碼載具"
    assert citizen.lines[0] == Line("AB12345678901234", SMALL, "center")
    assert SCREENS["pending_donation"].lines[2].text == "5 秒後自動清除"
    assert s.pending_screen(Carrier("3J0002", "/ABC+123"), -3).lines[2].text == "0 秒後自動清除"


@pytest.mark.parametrize("outcome,words", [("printed", ["請取發票"]), ("carrier", ["已存入載具"]),
                                           ("donation", ["已捐贈"]), ("queued", ["印表機未就緒", "恢復後自動列印"])])
def test_issued_screen_says_where_the_invoice_went(outcome, words):
    screen = s.issued_screen("AB12345678", outcome)
    assert screen.lines[0] == Line("AB-12345678", LARGE, "center")
    assert [line.text for line in screen.lines[1:]] == words
    assert screen.alert is (outcome == "queued")


def test_issued_screen_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown issue outcome"):
        s.issued_screen("AB12345678", "emailed")
    with pytest.raises(ValidationError):
        s.issued_screen("AB1234", "printed")


def test_error_screen_breaks_after_the_comma_and_names_the_config_key():
    clock = SCREENS["error_clock"]
    assert [line.text for line in clock.lines] == ["時間未同步，", "暫停開立", "代碼 clock_not_synced"]
    assert clock.alert and clock.title == "錯誤"
    config = SCREENS["error_config"]
    assert [line.text for line in config.lines] == ["設定錯誤：", "數值無效", "printer.baudrate"]


def test_error_screen_cuts_long_detail_with_an_ellipsis():
    screen = s.error_screen("x", "印表機缺紙", "word " * 40)
    texts = [line.text for line in screen.lines]
    assert texts[0] == "印表機缺紙" and texts[-1].endswith("…") and len(texts) == 3


def test_upload_screen_alerts_when_late_or_rejected():
    assert not SCREENS["upload_pending"].alert and not SCREENS["upload_ok"].alert
    assert "全部已上傳" in SCREENS["upload_ok"].text
    assert SCREENS["upload_late"].alert and "請儘快連線上傳" in SCREENS["upload_late"].text
    assert SCREENS["upload_rejected"].alert and "被退回 2 筆" in SCREENS["upload_rejected"].text


def test_scan_rejected_screen_shows_what_was_read_with_control_characters_masked():
    screen = SCREENS["scan_rejected_unknown"]
    assert screen.text.splitlines()[1:] == ["無法辨識的條碼", "讀到 47100884300…", "請重新掃描"]
    assert s.scan_rejected_screen("條碼是空的", "  ").lines[-2].text == "讀到 (空白)"


def test_wrap_prefers_clause_ends_and_spaces_and_never_exceeds_the_width():
    assert s.wrap("時間未同步，暫停開立", LARGE) == ["時間未同步，", "暫停開立"]
    words = "upload backlog of twelve invoices pending"
    lines = s.wrap(words)
    assert " ".join(lines) == words and len(lines) > 1
    for line, following in zip(lines, lines[1:]):  # greedy: the next word would not have fitted
        assert s.fits(line) and not s.fits(line + " " + following.split()[0])
    long = s.wrap("X" * 40)
    assert "".join(long) == "X" * 40 and all(s.fits(t) for t in long)


def test_screen_rejects_a_body_taller_than_the_panel():
    with pytest.raises(ValueError, match="60 px"):
        Screen("x", "t", (Line("a", LARGE), Line("b", LARGE), Line("c", LARGE), Line("d")))
    with pytest.raises(ValueError):
        Line("a", size=14)
