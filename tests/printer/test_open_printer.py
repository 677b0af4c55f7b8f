"""open_printer: the [printer] config section to a python-escpos connection, opened lazily."""
import subprocess
import sys

import pytest
from escpos.printer import File, Network, Serial, Usb

from drivers.printer import ReceiptPrinter, open_printer
from terminal.core.errors import ConfigError


def test_usb_from_the_lead_config_section():
    p = open_printer({"connection": "usb", "vendor_id": 0x0416, "product_id": 0x5011, "in_ep": 0x81,
                      "out_ep": 0x03, "device": "", "baudrate": 115200, "host": "", "port": 9100,
                      "profile": "POS-5890", "mode": "big5", "font": "", "detail_slip": True})
    assert isinstance(p, ReceiptPrinter) and isinstance(p.escpos, Usb)
    assert p.escpos.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
    assert (p.escpos.in_ep, p.escpos.out_ep, p.escpos.timeout) == (0x81, 0x03, 20_000)
    assert p.escpos._device is False  # nothing opened: the service starts with the printer off
    assert p.mode == "big5" and p.encoder.renderer.width == 384


def test_hex_strings_are_accepted_for_usb_ids():
    p = open_printer({"connection": "usb", "vendor_id": "0x04b8", "product_id": "0x0e15"})
    assert p.escpos.usb_args == {"idVendor": 0x04B8, "idProduct": 0x0E15}


def test_serial_network_and_file(tmp_path):
    s = open_printer({"connection": "serial", "device": "/dev/ttyUSB0", "baudrate": 19200, "dsrdtr": False})
    assert isinstance(s.escpos, Serial) and (s.escpos.devfile, s.escpos.baudrate, s.escpos.dsrdtr) == (
        "/dev/ttyUSB0", 19200, False)
    n = open_printer({"connection": "network", "host": "192.0.2.10", "port": 9100, "mode": "raster"})
    assert isinstance(n.escpos, Network)
    assert (n.escpos.host, n.escpos.port, n.escpos.timeout) == ("192.0.2.10", 9100, 10)
    f = open_printer({"connection": "file", "device": str(tmp_path / "lp0")})
    assert isinstance(f.escpos, File) and f.escpos.devfile == str(tmp_path / "lp0")
    assert open_printer({"connection": "file"}).escpos.devfile == "/dev/usb/lp0"


def test_qr_quiet_edge_from_config():
    assert open_printer({"connection": "file"}).encoder.renderer.edge_quiet == 16
    assert open_printer({"connection": "file", "qr_quiet_edge_mm": 1.5}).encoder.renderer.edge_quiet == 12
    for bad in (3, "1.5", True):
        with pytest.raises(ConfigError, match="qr_quiet_edge_mm"):
            open_printer({"connection": "file", "qr_quiet_edge_mm": bad})


def test_paper_width_comes_from_the_profile():
    assert open_printer({"connection": "file", "profile": "TM-T20II"}).encoder.renderer.width == 576
    assert open_printer({"connection": "file", "profile": "default"}).encoder.renderer.width == 384


@pytest.mark.parametrize("cfg,field,message", [
    ({"connection": "bluetooth"}, "printer.connection", "usb, serial, network or file"),
    ({"connection": "serial"}, "printer.device", "device is required"),
    ({"connection": "network", "host": ""}, "printer.host", "host is required"),
    ({"connection": "usb", "vendor_id": "acme"}, "printer.vendor_id", "must be an integer"),
    ({"connection": "usb", "profile": "NoSuchPrinter"}, "printer.profile", "unknown python-escpos profile"),
    ({"connection": "usb", "mode": "utf8"}, "printer.mode", "raster, big5, gb18030"),
])
def test_config_mistakes_name_the_key(cfg, field, message):
    with pytest.raises(ConfigError, match=message) as err:
        open_printer(cfg)
    assert err.value.field == field and err.value.code == "config_error"


def test_importing_the_package_needs_neither_escpos_nor_a_printer():
    code = ("import sys; sys.modules['escpos'] = None; sys.modules['usb'] = None; sys.modules['serial'] = None\n"
            "import drivers.printer as p\n"
            "from printer_cases import vector_c, KEY\n"
            "from terminal.core.receipt import proof_layout\n"
            "inv = vector_c(); img = p.render_png(proof_layout(inv, inv.qr_codes(KEY), store_name='', reprint=False))\n"
            "print(img.size[0], 'escpos' in sys.modules and sys.modules['escpos'] is not None)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=__file__.rsplit("/", 1)[0])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["384", "False"]
