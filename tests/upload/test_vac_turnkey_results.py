"""Reading ProcessResult/SummaryResult files: records, tolerance of namespaces, refusal of nonsense."""
import pytest

from drivers.vac.turnkey_results import NotAResult, ResultFileError, ResultRecord, parse_results
from vac_fake_turnkey import process_result, summary_result


def test_one_process_result():
    assert parse_results(process_result("F0401", "AB12345678")) == [ResultRecord("F0401", "AB12345678", True, "0", "Success")]
    assert parse_results(process_result("F0501", "AB12345678", "2005", "發票已作廢不能再次作廢")) == \
        [ResultRecord("F0501", "AB12345678", False, "2005", "發票已作廢不能再次作廢")]


def test_several_records_without_namespace_and_with_the_type_from_the_directory():
    xml = """<ProcessResult><Result><InvoiceNumber>AB00000001</InvoiceNumber><Status>OK</Status></Result>
              <Result><InvoiceNumber>AB00000002</InvoiceNumber><Status>WARNING</Status>
                      <ResultMessage>carrier checked later</ResultMessage></Result>
              <Result><InvoiceNumber>AB00000003</InvoiceNumber><Status>ERROR</Status>
                      <ErrorCode>3002</ErrorCode><ErrorMessage>重複上傳同一張發票</ErrorMessage></Result>
              <ResultCode>0</ResultCode></ProcessResult>""".encode()
    assert parse_results(xml, type_hint="F0401") == [
        ResultRecord("F0401", "AB00000001", True, "OK", ""),
        ResultRecord("F0401", "AB00000002", True, "WARNING", "carrier checked later"),
        ResultRecord("F0401", "AB00000003", False, "3002", "重複上傳同一張發票")]


def test_summary_and_e0402_references():
    assert parse_results(summary_result("E0402", ["11504:AB"], ["11504:CD"])) == [
        ResultRecord("E0402", "11504:AB", True, "", ""),
        ResultRecord("E0402", "11504:CD", False, "Failed", "listed as failed in the SummaryResult")]


@pytest.mark.parametrize("data, error, words", [
    (b"<InvoiceAssignNo/>", NotAResult, "InvoiceAssignNo is not a result message"),
    (b"<ProcessResult><ResultCode>0</ResultCode></ProcessResult>", ResultFileError, "without any message reference"),
    (b"<ProcessResult><InvoiceNumber>AB00000001</InvoiceNumber><ResultCode>0</ResultCode></ProcessResult>",
     ResultFileError, "no known MessageType (None)"),
    (b"<ProcessResult", ResultFileError, "unreadable XML"),
    (b'<!DOCTYPE ProcessResult SYSTEM "http://example.com/x.dtd"><ProcessResult/>', ResultFileError, "DTDForbidden"),
    (b"<ProcessResult>" + b" " * (16 << 20) + b"</ProcessResult>", ResultFileError, "larger than"),
])
def test_what_is_refused(data, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_results(data, source="Unpack/x.xml")
