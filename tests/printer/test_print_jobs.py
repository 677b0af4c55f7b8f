"""ReceiptPrinter.print_receipt against fake printers: what is sent, when it refuses, which error code
and whether anything went out, so the service can leave the invoice issued and queue the print."""
import pytest
from printer_cases import KEY, vector_c, vector_d
from escpos.printer import Dummy, File, Network, Serial
from escpos_decode import decode
from fake_printers import COVER_OPEN, NEAR_END, OK, PAPER_OUT, SILENT, PtyPrinter, TcpPrinter, status_queries

from drivers.printer import PrinterError, ReceiptPrinter
from terminal.core.errors import TerminalError
from terminal.core.receipt import Logo, proof_layout


def _receipt(inv=None, **kw):
    inv = inv or vector_c()
    return proof_layout(inv, inv.qr_codes(KEY), store_name="範例咖啡", reprint=False, **kw)


@pytest.fixture
def network():
    made = []

    def make(replies, *, mode="raster", **kw):
        fake = TcpPrinter(replies, **kw)
        escpos = Network("127.0.0.1", port=fake.port, timeout=5, profile="POS-5890")
        made.append((fake, escpos))
        return fake, ReceiptPrinter(escpos, mode=mode, status_timeout=0.2)

    yield make
    for fake, escpos in made:
        escpos.close()
        fake.close()


@pytest.mark.parametrize("mode", ["raster", "big5"])
def test_a_good_print_sends_exactly_the_encoded_job(network, mode, font):
    fake, printer = network(OK, mode=mode)
    receipt = _receipt(vector_d())
    printer.print_receipt(receipt)
    before = after = status_queries(1, 4)  # printer state, paper sensor
    assert fake.stream == before + printer.encode(receipt) + after
    assert printer.last_status.state == "ok"


def test_replies_to_status_patterns_inside_raster_data_are_drained(network, tmp_path, font):
    # a logo whose raster row is the bytes 10 04 01: the printer answers it as DLE EOT 1 mid-job
    from PIL import Image

    logo = tmp_path / "logo.png"
    bits = int.from_bytes(bytes((0x10, 0x04, 0x01, 0x00)), "big")
    Image.frombytes("L", (32, 1), bytes(0 if bits >> (31 - x) & 1 else 255 for x in range(32))).save(logo)
    fake, printer = network(OK)
    receipt = _receipt(logo=str(logo))
    assert printer.encode(receipt).startswith(b"\x1b@\x1dv0\x00\x19\x00\x01\x00" + bytes(22) + b"\x10\x04\x01")
    printer.print_receipt(receipt)
    assert fake.replier.queries == [1, 4, 1, 1, 4]  # one came from the logo's pixels
    assert printer.last_status.state == "ok"  # the stray 0x16 did not answer the paper query


def test_paper_near_end_still_prints(network, font):
    fake, printer = network(NEAR_END)
    receipt = _receipt()
    printer.print_receipt(receipt)
    assert fake.stream == status_queries(1, 4) + printer.encode(receipt) + status_queries(1, 4)
    assert decode(printer.encode(receipt)).commands[-1] == ("ESC J", 96)


@pytest.mark.parametrize("replies,code", [(PAPER_OUT, "paper_out"), (COVER_OPEN, "cover_open"),
                                          ({1: 0x1E, 2: 0x12, 4: 0x12}, "offline")])
def test_a_printer_not_ready_gets_nothing_and_the_error_says_why(network, replies, code, font):
    fake, printer = network(replies)
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt())
    assert err.value.code == code and err.value.sent is False
    assert fake.stream == status_queries(1, 4, 2)  # offline: the cause asked, no job
    assert isinstance(err.value, TerminalError) and err.value.as_dict()["code"] == code


def test_paper_running_out_during_the_job_is_reported_as_sent(network, font):
    fake, printer = network(OK, after_job=PAPER_OUT)
    receipt = _receipt()
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(receipt)
    assert (err.value.code, err.value.sent, err.value.message_zh) == ("paper_out", True, "印表機缺紙")
    assert fake.stream == status_queries(1, 4) + printer.encode(receipt) + status_queries(1, 4, 2)


def test_a_printer_that_stops_answering_after_the_job_is_unknown_not_ok(network, font):
    fake, printer = network(OK, after_job=SILENT)
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt())
    assert (err.value.code, err.value.sent) == ("unknown", True)


def test_a_printer_that_never_answers_prints_blind_unless_status_is_required(network, font):
    fake, printer = network(SILENT)
    receipt = _receipt()
    printer.print_receipt(receipt)  # e.g. a one-way link: the job goes out, the status stays unknown
    assert fake.stream == status_queries(1) + printer.encode(receipt) + status_queries(1)
    assert printer.last_status.state == "unknown"
    strict_fake, strict = network(SILENT)
    strict.require_status = True
    with pytest.raises(PrinterError) as err:
        strict.print_receipt(receipt)
    assert (err.value.code, err.value.sent, strict_fake.stream) == ("unknown", False, status_queries(1))


def test_an_unreachable_network_printer_is_offline_and_nothing_was_sent():
    printer = ReceiptPrinter(Network("127.0.0.1", port=9, timeout=1), status_timeout=0.2)
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt())
    assert (err.value.code, err.value.sent) == ("offline", False)


def test_a_link_that_breaks_while_sending_is_offline_and_maybe_sent(network, font):
    fake, printer = network(OK)
    printer.status()
    sock = printer.escpos.device
    real = sock.sendall
    calls = []

    def breaking(data):
        calls.append(len(data))
        if len(calls) > 2:  # status query, then the first chunk goes out, then the link dies
            raise BrokenPipeError(32, "Broken pipe")
        return real(data)

    printer.escpos.device = type("Sock", (), {"sendall": staticmethod(breaking), "recv": sock.recv,
                                              "settimeout": sock.settimeout, "gettimeout": sock.gettimeout,
                                              "close": sock.close, "shutdown": sock.shutdown})()
    printer.status = lambda: printer.last_status  # keep the "before" answer of the real query above
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt())
    assert (err.value.code, err.value.sent) == ("offline", True)
    assert printer.escpos._device is False  # the next job opens a fresh connection


def test_serial_printer_receives_the_whole_job_over_a_pty(font):
    fake = PtyPrinter(OK)
    escpos = Serial(devfile=fake.port, baudrate=115200, timeout=1, dsrdtr=False, profile="POS-5890")
    try:
        printer = ReceiptPrinter(escpos, mode="big5", status_timeout=0.5)
        receipt = _receipt(vector_d())
        printer.print_receipt(receipt)
        assert fake.stream == status_queries(1, 4) + printer.encode(receipt) + status_queries(1, 4)
        assert escpos.device.write_timeout == 30.0  # a stalled printer cannot hang the service
    finally:
        escpos.close()
        fake.close()


def test_file_printer_prints_blind(tmp_path, font):
    lp = tmp_path / "lp0"
    printer = ReceiptPrinter(File(devfile=str(lp)))
    receipt = _receipt()
    printer.print_receipt(receipt)
    printer.escpos.close()
    # the status queries it sent but could not read an answer to, and the job
    assert lp.read_bytes() == status_queries(1) + printer.encode(receipt) + status_queries(1)


def test_a_receipt_that_cannot_be_drawn_never_reaches_the_printer(network, tmp_path, font):
    fake, printer = network(OK)
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt(logo=str(tmp_path / "missing.png")))
    assert err.value.code == "render_failed" and err.value.sent is False
    assert fake.stream == b""
    assert isinstance(_receipt(logo="x").ops[0], Logo)


def test_a_missing_font_is_its_own_error_before_anything_is_sent(tmp_path):
    printer = ReceiptPrinter(Dummy(), font_path=str(tmp_path / "none.ttc"))
    with pytest.raises(PrinterError) as err:
        printer.print_receipt(_receipt())
    assert err.value.code == "font_missing" and str(tmp_path / "none.ttc") in err.value.message
    assert printer.escpos.output == b""


def test_big5_mode_needs_no_font_for_big5_text(tmp_path):
    printer = ReceiptPrinter(Dummy(), mode="big5", font_path=str(tmp_path / "none.ttc"))
    printer.print_receipt(_receipt())
    assert "電子發票證明聯".encode("cp950") in printer.escpos.output
