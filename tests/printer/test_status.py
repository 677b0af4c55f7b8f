"""Printer status over USB, serial and network, against fake printers on real transports."""
import socket

import pytest
from escpos.printer import Dummy, File, Network, Serial, Usb
from fake_printers import COVER_OPEN, NEAR_END, OK, PAPER_OUT, SILENT, PtyPrinter, TcpPrinter

from drivers.printer import ReceiptPrinter
from drivers.printer.status import interpret

STATES = [(OK, "ok"), (NEAR_END, "paper_near_end"), (PAPER_OUT, "paper_out"), (COVER_OPEN, "cover_open"),
          ({1: 0x1E, 2: 0x12, 4: 0x12}, "offline"), (SILENT, "unknown")]


@pytest.mark.parametrize("replies,state", [
    ({1: 0x16, 4: 0x12}, "ok"),
    ({1: 0x12, 4: 0x12}, "ok"),
    ({1: 0x16, 4: 0x1E}, "paper_near_end"),
    ({1: 0x16, 4: 0x72}, "paper_out"),  # some printers stay "online" without paper
    ({1: 0x1E, 2: 0x32, 4: 0x72}, "paper_out"),
    ({1: 0x1E, 2: 0x16, 4: 0x12}, "cover_open"),
    ({1: 0x1E, 2: 0x52, 4: 0x12}, "offline"),  # error occurred
    ({1: 0x1E, 2: None, 4: None}, "offline"),
    ({1: None}, "unknown"),  # silence is never ok (python-escpos says "plenty of paper")
    ({1: 0xFF, 4: 0x12}, "unknown"),  # not a DLE EOT reply: fixed bits wrong
    ({1: 0x00, 4: 0x12}, "unknown"),
    ({1: 0x16, 4: None}, "unknown"),  # online, but the paper sensor did not answer
])
def test_interpret_reply_bytes(replies, state):
    assert interpret(replies).state == state


def test_every_state_has_both_messages():
    st = interpret({1: 0x1E, 2: 0x16, 4: 0x12})
    assert (st.state, st.message_zh, st.message_en) == ("cover_open", "印表機上蓋未關", "printer cover is open")
    assert not st.ready and interpret({1: 0x16, 4: 0x1E}).ready


@pytest.fixture
def pty_printer():
    made = []

    def make(replies, **kw):
        fake = PtyPrinter(replies, **kw)
        escpos = Serial(devfile=fake.port, baudrate=115200, timeout=1, dsrdtr=False, profile="POS-5890")
        made.append((fake, escpos))
        return fake, escpos

    yield make
    for fake, escpos in made:
        escpos.close()
        fake.close()


@pytest.fixture
def tcp_printer():
    made = []

    def make(replies, **kw):
        fake = TcpPrinter(replies, **kw)
        escpos = Network("127.0.0.1", port=fake.port, timeout=5, profile="POS-5890")
        made.append((fake, escpos))
        return fake, escpos

    yield make
    for fake, escpos in made:
        escpos.close()
        fake.close()


@pytest.mark.parametrize("replies,state", STATES)
def test_serial_status(pty_printer, replies, state):
    fake, escpos = pty_printer(replies)
    st = ReceiptPrinter(escpos, status_timeout=0.2).status()
    assert st.state == state
    assert fake.replier.queries[0] == 1 and set(fake.replier.queries) <= {1, 2, 4}


@pytest.mark.parametrize("replies,state", STATES)
def test_network_status(tcp_printer, replies, state):
    fake, escpos = tcp_printer(replies)
    assert ReceiptPrinter(escpos, status_timeout=0.2).status().state == state


def test_python_escpos_alone_blocks_on_a_silent_network_printer(tcp_printer):
    _, escpos = tcp_printer(SILENT)
    escpos.open()
    escpos.device.settimeout(0.2)  # its own default would wait 60 s
    with pytest.raises(socket.timeout):
        escpos.paper_status()


def test_python_escpos_serial_reports_plenty_of_paper_on_silence(pty_printer):
    _, escpos = pty_printer(SILENT)
    escpos.timeout = 0.2
    assert escpos.paper_status() == 2  # "paper adequate" from a printer that said nothing
    assert ReceiptPrinter(escpos, status_timeout=0.2).status().state == "unknown"


def test_a_late_extra_reply_does_not_answer_the_next_query(tcp_printer):
    # the printer answers DLE EOT 1 twice; the leftover byte would read as "paper near end"
    fake, escpos = tcp_printer({1: 0x16, 2: 0x12, 4: 0x12})
    orig = fake.replier.feed

    def double(data):
        out = orig(data)
        return out + out if out == b"\x16" else out

    fake.replier.feed = double
    assert ReceiptPrinter(escpos, status_timeout=0.2).status().state == "ok"


def test_network_printer_down_is_offline_and_reconnects_when_it_is_back():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    printer = ReceiptPrinter(Network("127.0.0.1", port=port, timeout=2), status_timeout=0.2)
    down = printer.status()
    assert down.state == "offline" and "DeviceNotFoundError" in down.message_en
    fake = TcpPrinter(OK)
    try:
        printer.escpos.port = fake.port
        assert printer.status().state == "ok"
    finally:
        printer.escpos.close()
        fake.close()


def test_network_printer_that_drops_the_connection_is_offline_then_recovers(tcp_printer):
    fake, escpos = tcp_printer(OK)
    printer = ReceiptPrinter(escpos, status_timeout=0.2)
    assert printer.status().state == "ok"
    escpos.device.close()  # the link breaks under us
    assert printer.status().state == "offline"
    assert printer.status().state == "ok" and fake.connections == 2


class FakeUsbDevice:
    """A pyusb device as escpos.printer.Usb uses it: write(ep, data, timeout) and read(ep, size, timeout)."""

    def __init__(self, replies):
        self.replies, self.pending, self.written = replies, [], bytearray()

    def write(self, ep, data, timeout=None):
        self.written += data
        if data[:2] == b"\x10\x04" and data[2] in self.replies:
            self.pending.append(self.replies[data[2]])
        return len(data)

    def read(self, ep, size, timeout=None):
        import array

        import usb.core

        if not self.pending:
            raise usb.core.USBTimeoutError("Operation timed out", errno=110)
        return array.array("B", [self.pending.pop(0)])


@pytest.mark.parametrize("replies,state", STATES)
def test_usb_status_through_the_in_endpoint(replies, state):
    escpos = Usb(0x0416, 0x5011, profile="POS-5890")
    escpos.device = FakeUsbDevice(replies)  # the transport swapped in; escpos's own _raw path
    try:
        assert ReceiptPrinter(escpos).status().state == state
    finally:
        escpos.device = False  # nothing for pyusb to dispose of


def test_usb_printer_without_a_working_in_endpoint_is_unknown_and_still_prints():
    import usb.core

    class NoInEndpoint(FakeUsbDevice):
        def read(self, ep, size, timeout=None):
            raise usb.core.USBError("Pipe error", errno=32)

    escpos = Usb(0x0416, 0x5011, in_ep=0x82, profile="POS-5890")
    fake = escpos.device = NoInEndpoint(OK)
    try:
        printer = ReceiptPrinter(escpos)
        assert printer.status().state == "unknown"
        printer.print_receipt(_proof())
        assert fake.written.endswith(printer.encode(_proof()) + b"\x10\x04\x01")
    finally:
        escpos.device = False


def _proof():
    from printer_cases import vector_c

    from terminal.core.receipt import proof_layout

    inv = vector_c()
    return proof_layout(inv, inv.qr_codes("FE0F50D87215F625D1248F5FDAEBA37F"), store_name="", reprint=False)


def test_usb_printer_not_plugged_in_is_offline():
    st = ReceiptPrinter(Usb(0x0416, 0x5011, profile="POS-5890")).status()
    assert st.state == "offline" and st.message_zh == "印表機離線"


def test_file_and_dummy_connections_cannot_report_and_say_so(tmp_path):
    for escpos in (File(devfile=str(tmp_path / "lp0")), Dummy()):
        st = ReceiptPrinter(escpos).status()
        assert st.state == "unknown" and "cannot report status" in st.message_en
