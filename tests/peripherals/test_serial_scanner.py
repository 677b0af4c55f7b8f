"""SerialScanner on pyserial's loop:// and on a real pseudo-terminal: line framing, partial-code
timeouts, and reopening a lost port."""
import functools
import os
import queue
import threading

import pytest
import serial

from drivers.scanner import SerialScanner, StdinScanner, open_scanner

WAIT = 5.0
Scanner = functools.partial(SerialScanner, idle_poll_s=0.02, retry_s=0.01)


class LoopPorts:
    """Opens a fresh loop:// port per call; the test writes into the port the scanner reads."""

    def __init__(self, count=2):
        self.ports = queue.Queue()
        self.left = count
        self.refused = 0
        self.retried = threading.Event()

    def __call__(self):
        if self.left == 0:
            self.refused += 1
            if self.refused == 2:
                self.retried.set()
            raise serial.SerialException("could not open port /dev/ttyACM0: No such file or directory")
        self.left -= 1
        port = serial.serial_for_url("loop://", timeout=0.02)
        self.ports.put(port)
        return port


@pytest.fixture
def run():
    running = []

    def start(scanner):
        stop = threading.Event()
        t = threading.Thread(target=scanner.run, args=(stop,), daemon=True)
        t.start()
        running.append((stop, t))
        return stop, t

    yield start
    for stop, t in running:
        stop.set()
        t.join(WAIT)
        assert not t.is_alive()


def test_codes_end_with_cr_lf_or_crlf_and_may_arrive_in_pieces(run):
    ports, scans = LoopPorts(1), queue.Queue()
    run(Scanner("loop://", on_scan=scans.put, open_port=ports))
    port = ports.ports.get(timeout=WAIT)
    port.write(b"/ABC+123\r\n168001\n")
    port.write(b"/XY.")
    port.write(b"-Z+9\r")
    assert [scans.get(timeout=WAIT) for _ in range(3)] == ["/ABC+123", "168001", "/XY.-Z+9"]


def test_a_partial_code_is_dropped_after_the_timeout(run):
    ports, scans, drops = LoopPorts(1), queue.Queue(), queue.Queue()
    scanner = Scanner("loop://", on_scan=scans.put, on_drop=drops.put, open_port=ports, timeout_s=0.05)
    run(scanner)
    port = ports.ports.get(timeout=WAIT)
    port.write(b"/ABC")
    assert drops.get(timeout=WAIT) == "/ABC"
    port.write(b"04595257\r\n")
    assert scans.get(timeout=WAIT) == "04595257" and scanner.status()["dropped"] == 1


def test_a_lost_port_is_reopened_and_an_absent_one_retried(run):
    ports, scans, states = LoopPorts(2), queue.Queue(), queue.Queue()
    scanner = Scanner("loop://", on_scan=scans.put, open_port=ports, on_connect=states.put)
    run(scanner)
    first = ports.ports.get(timeout=WAIT)
    first.write(b"168001\r")
    assert scans.get(timeout=WAIT) == "168001"
    first.close()  # the scanner's next read now fails as if the USB cable was pulled
    second = ports.ports.get(timeout=WAIT)
    second.write(b"/ABC+123\r")
    assert scans.get(timeout=WAIT) == "/ABC+123" and scanner.reconnects == 1
    second.close()
    assert ports.retried.wait(WAIT)  # the port stays absent: the scanner keeps looking for it
    assert [states.get(timeout=WAIT) for _ in range(4)] == [True, False, True, False]
    assert not scanner.status()["connected"] and scanner.reconnects == 2


def test_a_real_tty_through_the_default_opener(run):
    master, slave = os.openpty()
    scans, connected = queue.Queue(), threading.Event()
    try:
        run(Scanner(os.ttyname(slave), on_scan=scans.put, baudrate=115200,
                    on_connect=lambda up: up and connected.set()))
        assert connected.wait(WAIT)  # pyserial flushes input when it opens the port
        os.write(master, b"/XY.-Z+9\r\n")
        assert scans.get(timeout=WAIT) == "/XY.-Z+9"
    finally:
        os.close(master)
        os.close(slave)


def test_open_scanner_serial_and_stdin():
    s = open_scanner({"type": "serial", "device": "/dev/serial/by-id/usb-scanner-if00", "baudrate": 115200,
                      "timeout_ms": 100}, print)
    assert isinstance(s, SerialScanner) and s.baudrate == 115200 and s.timeout_s == 0.1
    assert isinstance(open_scanner({"type": "stdin"}, print), StdinScanner)
