"""Line fitting on the 32-column grid of a 58 mm printer."""
import pytest

from drivers.printer.textfit import TextLine, fit, width, wrap
from terminal.core.receipt import Columns, Text


@pytest.mark.parametrize("text,cols", [("電子發票", 8), ("AB-12345678", 11), ("113年09-10月", 12), ("：", 2), ("", 0)])
def test_cjk_and_fullwidth_characters_take_two_columns(text, cols):
    assert width(text) == cols


def test_wrap_breaks_cjk_anywhere_and_latin_at_spaces():
    assert wrap("手工鳳梨酥禮盒十二入手工鳳梨酥禮盒十二入", 32) == ["手工鳳梨酥禮盒十二入手工鳳梨酥禮", "盒十二入"]
    assert wrap("Earl Grey Tea Latte with Oat Milk and Honey", 32) == ["Earl Grey Tea Latte with Oat", "Milk and Honey"]
    assert wrap("x" * 40, 32) == ["x" * 32, "x" * 8]
    assert wrap("", 32) == [""]


def test_wrap_never_exceeds_the_width_and_keeps_every_visible_character():
    text = "有機綠茶 Espresso Double Shot 冰美式咖啡:大杯 Earl Grey Tea Latte 巧克力可頌" * 3
    lines = wrap(text, 31)
    assert all(width(line) <= 31 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_text_alignment_in_columns():
    assert fit(Text("電子發票證明聯", align="center", tall=True, bold=True), 32) == [
        TextLine(((9, "電子發票證明聯"),), 1, True, True, "center")]
    assert fit(Text("113年09-10月", size=2, align="center"), 32) == [
        TextLine(((2, "113年09-10月"),), 2, align="center")]
    assert fit(Text("總計", align="right"), 32) == [TextLine(((28, "總計"),), align="right")]


def test_columns_put_the_right_text_at_the_right_edge():
    [line] = fit(Columns("隨機碼 5829", "總計 175"), 32)
    assert line.segments == ((0, "隨機碼 5829"), (24, "總計 175"))
    assert line.padded() == "隨機碼 5829" + " " * 13 + "總計 175"
    assert width(line.padded()) == 32


def test_a_long_left_text_wraps_and_the_right_text_ends_its_last_line():
    lines = fit(Columns("手工鳳梨酥禮盒（十二入）加購紀念提袋與賀卡", "1280"), 32)
    assert [seg for line in lines for seg in line.segments] == [
        (0, "手工鳳梨酥禮盒（十二入）加購紀念"), (0, "提袋與賀卡"), (28, "1280")]
    lines = fit(Columns("手工鳳梨酥禮盒（十二入）加購紀念提袋", "1280"), 32)
    assert [line.segments for line in lines] == [((0, "手工鳳梨酥禮盒（十二入）加購紀念"),), ((0, "提袋"), (28, "1280"))]


def test_right_text_gets_its_own_line_when_the_last_line_is_full():
    lines = fit(Columns("手工鳳梨酥禮盒（十二入）加購紀念提袋與賀卡包裝紙盒緞帶卡片吊飾", "1280"), 32)
    assert [line.segments for line in lines][-2:] == [((0, "提袋與賀卡包裝紙盒緞帶卡片吊飾"),), ((28, "1280"),)]
    lines = fit(Columns("x" * 30, "12"), 32)
    assert [line.segments for line in lines] == [((0, "x" * 30),), ((30, "12"),)]
