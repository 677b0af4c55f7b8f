"""EvdevScanner on evdev's real read path (pipes carrying struct input_event), including unplug and
replug, partial-scan timeouts, grabbing, and device discovery."""
import errno
import functools
import queue
import threading
from types import SimpleNamespace

import pytest
from evdev import ecodes

from drivers.scanner import EvdevScanner, find_input_device, open_scanner
from drivers.scanner.evdev_scanner import check_match
from terminal.core.errors import ConfigError

from .helpers import PipeInputDevice

WAIT = 5.0
Scanner = functools.partial(EvdevScanner, idle_poll_s=0.02)  # so stopping takes 20 ms


class Devices:
    """Hands out the given devices one per call, then None (scanner absent)."""

    def __init__(self, *devices):
        self.devices = list(devices)
        self.calls = 0
        self.opened = queue.Queue()

    def __call__(self):
        self.calls += 1
        if not self.devices:
            return None
        dev = self.devices.pop(0)
        self.opened.put(dev)
        return dev


@pytest.fixture
def run_scanner():
    threads = []

    def start(scanner):
        stop = threading.Event()
        t = threading.Thread(target=scanner.run, args=(stop,), daemon=True)
        t.start()
        threads.append((stop, t))
        return stop, t

    yield start
    for stop, t in threads:
        stop.set()
        t.join(WAIT)
        assert not t.is_alive()


def test_codes_arrive_through_evdevs_reader_and_the_device_is_grabbed(run_scanner):
    dev = PipeInputDevice()
    scans = queue.Queue()
    scanner = Scanner(match={}, on_scan=scans.put, open_device=Devices(dev), retry_s=0.01)
    run_scanner(scanner)
    dev.type("/ABC+123")
    dev.type("/XY.-Z+9", t0=2000.0)
    assert [scans.get(timeout=WAIT), scans.get(timeout=WAIT)] == ["/ABC+123", "/XY.-Z+9"]
    assert dev.calls == ["grab"] and scanner.status()["connected"] and scanner.status()["scans"] == 2


def test_unplug_and_replug_without_a_restart(run_scanner):
    first, second = PipeInputDevice(), PipeInputDevice()
    opener = Devices(first, second)
    scans = queue.Queue()
    scanner = Scanner(match={}, on_scan=scans.put, open_device=opener, retry_s=0.01)
    run_scanner(scanner)
    first.type("/ABC+123")
    assert scans.get(timeout=WAIT) == "/ABC+123"
    first.type("/DEF", enter=False)  # cut off mid-code by the unplug
    first.unplug()
    assert opener.opened.get(timeout=WAIT) is first and opener.opened.get(timeout=WAIT) is second
    second.type("/XY.-Z+9", t0=3000.0)
    assert scans.get(timeout=WAIT) == "/XY.-Z+9"
    assert first.calls == ["grab", "ungrab", "close"] and scanner.reconnects == 1


def test_enodev_from_the_kernel_is_an_unplug(run_scanner):
    gone = PipeInputDevice(fail_errno=errno.ENODEV)
    back = PipeInputDevice()
    scans = queue.Queue()
    scanner = Scanner(match={}, on_scan=scans.put, open_device=Devices(gone, back), retry_s=0.01)
    run_scanner(scanner)
    gone.type("168001")  # readable, but read() fails like an unplugged event device
    back.type("168001")
    assert scans.get(timeout=WAIT) == "168001"
    assert gone.calls[-1] == "close" and scanner.reconnects == 1


def test_other_os_errors_are_not_mistaken_for_an_unplug():
    dev = PipeInputDevice(fail_errno=errno.EINVAL)
    scanner = Scanner(match={}, on_scan=lambda c: None, open_device=Devices(dev), retry_s=0.01)
    dev.type("1")
    with pytest.raises(OSError) as e:
        scanner.run(threading.Event())
    assert e.value.errno == errno.EINVAL and dev.calls == ["grab", "ungrab", "close"]


def test_a_partial_scan_times_out_when_the_scanner_goes_quiet(run_scanner):
    dev = PipeInputDevice()
    scans, drops = queue.Queue(), queue.Queue()
    scanner = Scanner(match={}, on_scan=scans.put, on_drop=drops.put, open_device=Devices(dev),
                           timeout_s=0.05, retry_s=0.01)
    run_scanner(scanner)
    dev.type("/ABC", enter=False)
    assert drops.get(timeout=WAIT) == "/ABC"
    # event timestamps continue as if no time had passed: only the idle timeout can have dropped it
    dev.type("/XY.-Z+9", t0=1000.1)
    assert scans.get(timeout=WAIT) == "/XY.-Z+9" and scanner.status()["dropped"] == 1


def test_a_failing_handler_does_not_stop_the_scanner(run_scanner, caplog):
    dev = PipeInputDevice()
    got = queue.Queue()

    def handler(code):
        got.put(code)
        if code == "168001":
            raise RuntimeError("boom")

    run_scanner(Scanner(match={}, on_scan=handler, open_device=Devices(dev), retry_s=0.01))
    dev.type("168001")
    dev.type("04595257", t0=2000.0)
    assert [got.get(timeout=WAIT), got.get(timeout=WAIT)] == ["168001", "04595257"]
    assert "scan handler failed" in caplog.text and "168001" not in caplog.text  # codes stay out of logs


def test_without_grab_the_device_is_only_read(run_scanner):
    dev = PipeInputDevice()
    scans = queue.Queue()
    run_scanner(Scanner(match={}, on_scan=scans.put, open_device=Devices(dev), grab=False))
    dev.type("168001")
    assert scans.get(timeout=WAIT) == "168001" and dev.calls == []


def _fake_input(name, vendor, product, keys):
    closed = []
    return SimpleNamespace(name=name, info=SimpleNamespace(vendor=vendor, product=product),
                           capabilities=lambda: {ecodes.EV_KEY: keys}, close=lambda: closed.append(1), closed=closed)


KEYBOARD = [ecodes.KEY_A, ecodes.KEY_Z, ecodes.KEY_ENTER, ecodes.KEY_SLASH]


def test_discovery_by_name_and_usb_ids_skips_the_consumer_control_interface():
    devs = {"/dev/input/event0": _fake_input("AT Translated Set 2 keyboard", 0x0001, 0x0001, KEYBOARD),
            "/dev/input/event3": _fake_input("Honeywell Barcode Scanner Consumer Control", 0x0C2E, 0x0B61,
                                             [ecodes.KEY_VOLUMEUP]),
            "/dev/input/event4": _fake_input("Honeywell Barcode Scanner", 0x0C2E, 0x0B61, KEYBOARD)}
    found = find_input_device(check_match({"vendor": "0c2e", "product": 0x0B61}),
                              list_devices=lambda: sorted(devs), open_device=devs.__getitem__)
    assert found is devs["/dev/input/event4"]
    assert devs["/dev/input/event3"].closed and devs["/dev/input/event0"].closed
    assert find_input_device({"name": "barcode"}, list_devices=lambda: sorted(devs),
                             open_device=devs.__getitem__) is devs["/dev/input/event4"]
    assert find_input_device({"name": "zebra"}, list_devices=lambda: sorted(devs),
                             open_device=devs.__getitem__) is None


def test_discovery_by_path_glob(tmp_path):
    (tmp_path / "usb-Honeywell_Scanner-event-kbd").touch()
    (tmp_path / "usb-Logitech_Mouse-event-mouse").touch()
    opened = []

    def open_device(path):
        opened.append(path)
        return _fake_input("scanner", 1, 2, KEYBOARD)

    dev = find_input_device({"path": str(tmp_path / "*Scanner*-event-kbd")}, open_device=open_device)
    assert dev is not None and opened == [str(tmp_path / "usb-Honeywell_Scanner-event-kbd")]


@pytest.mark.parametrize("match,field", [({}, "scanner.name"), ({"vendor": "xyz"}, "scanner.vendor_id"),
                                         ({"product": 0x10000}, "scanner.product_id"), ({"serial": "1"}, "scanner.serial")])
def test_bad_matches_name_the_config_key(match, field):
    with pytest.raises(ConfigError) as e:
        check_match(match)
    assert e.value.field == field


def test_open_scanner_builds_each_kind_and_checks_its_keys():
    evdev_scanner = open_scanner({"type": "evdev", "name": "Barcode", "vendor_id": 0, "product_id": 0,
                                  "by_id": "", "device": "", "baudrate": 9600, "timeout_ms": 250}, print)
    assert isinstance(evdev_scanner, EvdevScanner) and evdev_scanner.match == {"name": "Barcode"}
    assert evdev_scanner.timeout_s == 0.25
    by_id = open_scanner({"type": "evdev", "by_id": "/dev/input/by-id/usb-Scanner-event-kbd", "vendor_id": 0x0C2E}, print)
    assert by_id.match == {"path": "/dev/input/by-id/usb-Scanner-event-kbd", "vendor": 0x0C2E}
    assert open_scanner({"type": "none"}, print) is None
    for cfg, field in [({"type": "usb"}, "scanner.type"), ({"type": "serial"}, "scanner.device"),
                       ({"type": "evdev", "name": "x", "timeout_ms": 5}, "scanner.timeout_ms"),
                       ({"type": "serial", "device": "/dev/ttyACM0", "baudrate": 7}, "scanner.baudrate"),
                       ({"type": "evdev", "name": "x", "grab": "yes"}, "scanner.grab"),
                       ({"type": "evdev", "colour": "x"}, "scanner.colour"), ({"type": "evdev"}, "scanner.name"),
                       ({"type": "stdin", "retry_s": "soon"}, "scanner.retry_s")]:
        with pytest.raises(ConfigError) as e:
            open_scanner(cfg, print)
        assert e.value.field == field, cfg


def test_discovery_reports_devices_it_may_not_read(tmp_path):
    for name in ("event0", "event5", "mouse0"):
        (tmp_path / name).touch()

    def open_device(path):
        if path.endswith("event5"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return _fake_input("AT keyboard", 1, 1, KEYBOARD)

    with pytest.raises(PermissionError, match="group input") as e:
        find_input_device({"name": "barcode"}, open_device=open_device, input_dir=str(tmp_path))
    assert e.value.filename == str(tmp_path / "event5")


def test_an_absent_scanner_is_logged_once_while_retrying(caplog):
    attempts = []
    stop = threading.Event()

    def opener():
        attempts.append(1)
        if len(attempts) == 5:
            stop.set()
        if len(attempts) >= 3:
            raise PermissionError(errno.EACCES, "no permission to read /dev/input/event5")
        return None

    Scanner(match={}, on_scan=print, open_device=opener, retry_s=0.001).run(stop)
    assert len(attempts) == 5
    assert caplog.text.count("scanner not found") == 1 and caplog.text.count("no permission") == 1
