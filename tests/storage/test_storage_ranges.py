"""Importing number ranges from the value-added center and from CSV / E0401 / E0501 files: whole
booklets of 50, no overlaps, no past periods, all or nothing, and every error naming its line."""
import pytest

from ledger_helpers import P11310, at
from terminal.core.errors import ValidationError
from terminal.core.numbers import NumberRange

NOW = at(2024, 9, 10, 9)
P11312 = P11310.next()


def rng(track="AB", start=0, end=49, period=P11310):
    return NumberRange(period, track, start, end)


def test_import_from_the_center_counts_new_numbers(ledger):
    added = ledger.import_ranges([rng(), rng("AB", 1000, 1499), rng("CD", 0, 99, P11312)], source="vac", now=NOW)
    assert added == 50 + 500 + 100
    assert [(str(r.range), r.used, r.left, r.closed) for r in ledger.list_ranges()] == [
        ("11310 AB00000000-00000049", 0, 50, False), ("11310 AB00001000-00001499", 0, 500, False),
        ("11312 CD00000000-00000099", 0, 100, False)]


def test_the_same_range_listed_again_is_skipped(ledger):
    ledger.import_ranges([rng()], source="vac", now=NOW)
    assert ledger.import_ranges([rng(), rng("AB", 50, 99)], source="vac", now=NOW) == 50
    assert len(ledger.list_ranges()) == 2


@pytest.mark.parametrize("bad, code, words", [
    ([rng("AB", 0, 48)], "range_not_booklets", "ranges[1] (11310 AB00000000-00000048)"),
    ([rng("AB", 25, 74)], "range_not_booklets", "booklets of 50"),
    ([rng(), rng("AB", 0, 99)], "range_overlap", "ranges[2] (11310 AB00000000-00000099): range"),
    ([rng(), rng()], "range_overlap", "overlaps ranges[1]"),
    ([rng(period=P11310.previous())], "range_period_past", "period 11308 ended on 2024-08-31"),
])
def test_bad_ranges_are_refused_by_name_and_nothing_is_imported(ledger, bad, code, words):
    with pytest.raises(ValidationError) as err:
        ledger.import_ranges([rng("ZZ", 0, 49), *bad], source="vac", now=NOW)
    assert err.value.code == code
    assert words in err.value.message
    assert ledger.list_ranges() == []


def test_an_overlap_with_a_range_already_in_the_ledger(ledger):
    ledger.import_ranges([rng("AB", 0, 99)], source="vac", now=NOW)
    with pytest.raises(ValidationError) as err:
        ledger.import_ranges([rng("AB", 50, 149)], source="vac", now=NOW)
    assert err.value.code == "range_overlap" and "overlaps 11310 AB00000000-00000099 already in the ledger" in \
        err.value.message
    assert ledger.import_ranges([rng("AB", 100, 149)], source="vac", now=NOW) == 50


def test_the_same_letters_in_another_period_do_not_overlap(ledger):
    assert ledger.import_ranges([rng("AB", 0, 49), rng("AB", 0, 49, P11312)], source="vac", now=NOW) == 100


def test_csv_file(ledger, tmp_path):
    f = tmp_path / "tracks.csv"
    f.write_text("period,track,start,end,booklets\n"
                 "# comment lines and blank lines are skipped\n\n"
                 "11310,AB,00000000,00000099,2\n"
                 "202412,CD,CD00000050,00000099,1\n", encoding="utf-8")
    assert ledger.import_file(f, now=NOW) == 150
    assert [str(r.range) for r in ledger.list_ranges()] == ["11310 AB00000000-00000099", "11312 CD00000050-00000099"]
    assert ledger.events()[-1]["subject"] == "file:tracks.csv"


def test_csv_with_chinese_headers_in_big5(ledger, tmp_path):
    f = tmp_path / "配號.csv"
    f.write_bytes("期別,字軌,起號,迄號\r\n11310,AB,00000000,00000049\r\n".encode("cp950"))
    assert ledger.import_file(f, now=NOW) == 50


@pytest.mark.parametrize("content, line, words", [
    ("period,track,start,end\n11310,AB,00000000,00000099\n11310,ab,00000100,00000149\n", 3, "track 'ab'"),
    ("period,track,start,end\n11310,AB,0000000,00000049\n", 2, "start '0000000' must be 8 digits"),
    ("period,track,start,end\n11311,AB,00000000,00000049\n", 2, "invalid period code '11311'"),
    ("period,track,start,end\n11310,AB,00000100,00000049\n", 2, "start must not exceed end"),
    ("period,track,start,end,booklets\n11310,AB,00000000,00000099,3\n", 2, "booklets '3' does not match"),
    ("period,track,start,end,invoice_type\n11310,AB,00000000,00000049,08\n", 2, "type 07 only"),
    ("period,track,start\n11310,AB,00000000\n", 1, "missing: end"),
    ("period,track,start,end\n11310,AB,00000000\n", 2, "expected 4 columns"),
    ("period,track,start,end\n11310,AB,XY00000000,00000049\n", 2, "start 'XY00000000'"),
])
def test_csv_errors_name_the_line(ledger, tmp_path, content, line, words):
    f = tmp_path / "tracks.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(f, now=NOW)
    assert f"tracks.csv line {line}: " in err.value.message and words in err.value.message, err.value.message
    assert err.value.field == f"tracks.csv line {line}"
    assert ledger.list_ranges() == []


def test_rule_errors_from_a_file_name_the_line_too(ledger, tmp_path):
    f = tmp_path / "tracks.csv"
    f.write_text("period,track,start,end\n11310,AB,00000000,00000099\n\n11310,AB,00000050,00000149\n")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(f, now=NOW)
    assert err.value.code == "range_overlap"
    assert err.value.message.startswith("tracks.csv line 4: range 11310 AB00000050-00000149 overlaps "
                                        "tracks.csv line 2")
    f.write_text("period,track,start,end\n11308,AB,00000000,00000049\n")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(f, now=NOW)
    assert err.value.code == "range_period_past" and err.value.field == "tracks.csv line 2"


E0501 = """<?xml version="1.0" encoding="UTF-8"?>
<InvoiceAssignNo xmlns="urn:GEINV:eInvoiceMessage:E0501:4.1">
  <Ban>04595257</Ban>
  <InvoiceType>07</InvoiceType>
  <YearMonth>11310</YearMonth>
  <InvoiceTrack>AB</InvoiceTrack>
  <InvoiceBeginNo>00001000</InvoiceBeginNo>
  <InvoiceEndNo>00001999</InvoiceEndNo>
  <InvoiceBooklet>20</InvoiceBooklet>
</InvoiceAssignNo>
"""

E0401 = """<?xml version="1.0" encoding="UTF-8"?>
<BranchTrack xmlns="urn:GEINV:eInvoiceMessage:E0401:4.1">
  <Main>
    <HeadBan>04595257</HeadBan>
    <BranchBan>04595257</BranchBan>
    <InvoiceType>07</InvoiceType>
    <YearMonth>202412</YearMonth>
    <InvoiceTrack>CD</InvoiceTrack>
    <InvoiceBeginNo>00001000</InvoiceBeginNo>
    <InvoiceEndNo>00001999</InvoiceEndNo>
  </Main>
  <Details>
    <BranchTrackItem>
      <InvoiceBeginNo>00001000</InvoiceBeginNo>
      <InvoiceEndNo>00001499</InvoiceEndNo>
      <InvoiceBooklet>10</InvoiceBooklet>
    </BranchTrackItem>
    <BranchTrackItem>
      <InvoiceBeginNo>00001500</InvoiceBeginNo>
      <InvoiceEndNo>00001549</InvoiceEndNo>
      <InvoiceBooklet>1</InvoiceBooklet>
    </BranchTrackItem>
  </Details>
</BranchTrack>
"""


def test_e0501_and_e0401_files(ledger, tmp_path):
    (tmp_path / "e0501.xml").write_text(E0501, encoding="utf-8")
    (tmp_path / "e0401.xml").write_text(E0401, encoding="utf-8")
    assert ledger.import_file(tmp_path / "e0501.xml", now=NOW) == 1000
    assert ledger.import_file(tmp_path / "e0401.xml", now=NOW) == 550
    assert [str(r.range) for r in ledger.list_ranges()] == [
        "11310 AB00001000-00001999", "11312 CD00001000-00001499", "11312 CD00001500-00001549"]


@pytest.mark.parametrize("xml, line, words", [
    (E0501.replace("00001999", "00001998"), 2, "booklets '20' does not match"),
    (E0501.replace("<InvoiceTrack>AB</InvoiceTrack>", ""), 2, "<InvoiceAssignNo> has no <InvoiceTrack>"),
    (E0401.replace("<InvoiceEndNo>00001549</InvoiceEndNo>", "<InvoiceEndNo>00001548</InvoiceEndNo>"), 18,
     "does not match the range"),
    (E0401.replace("<InvoiceType>07</InvoiceType>", "<InvoiceType>08</InvoiceType>"), 13, "type 07 only"),
    (E0501.replace("</InvoiceTrack>", "</InvoiceTrak>"), 6, "not well-formed XML"),
    ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x/>', 2, "DOCTYPE"),
    ('<?xml version="1.0"?>\n<Something><Else/></Something>', 2, "holds no E0501"),
])
def test_xml_errors_name_the_line(ledger, tmp_path, xml, line, words):
    f = tmp_path / "alloc.xml"
    f.write_text(xml, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(f, now=NOW)
    assert err.value.message.startswith(f"alloc.xml line {line}: ") and words in err.value.message, err.value.message
    assert ledger.list_ranges() == []


def test_unreadable_or_empty_files(ledger, tmp_path):
    with pytest.raises(ValidationError) as err:
        ledger.import_file(tmp_path / "missing.csv", now=NOW)
    assert err.value.code == "range_file_unreadable"
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(tmp_path / "empty.csv", now=NOW)
    assert "no ranges" in err.value.message
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x81\x00")
    with pytest.raises(ValidationError) as err:
        ledger.import_file(tmp_path / "bin.csv", now=NOW)
    assert "neither UTF-8 nor Big5" in err.value.message
