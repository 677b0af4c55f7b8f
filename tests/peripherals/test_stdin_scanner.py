"""StdinScanner: one code per line, from a text stream or a real file descriptor."""
import io
import os
import queue
import threading

from drivers.scanner import StdinScanner


def test_lines_from_a_text_stream_skip_blanks_and_keep_a_last_unterminated_line():
    got = []
    scanner = StdinScanner(io.StringIO("/ABC+123\n\n   \n 168001 \r\n04595257"), on_scan=got.append)
    scanner.run(threading.Event())
    assert got == ["/ABC+123", "168001", "04595257"] and scanner.status()["connected"] is False


def test_lines_from_a_pipe_arrive_as_written_and_eof_ends_the_run():
    r, w = os.pipe()
    got = queue.Queue()
    with os.fdopen(r, "r") as stream:
        scanner = StdinScanner(stream, on_scan=got.put, poll_s=0.02)
        t = threading.Thread(target=scanner.run, args=(threading.Event(),), daemon=True)
        t.start()
        os.write(w, b"/XY.-Z+9\n168")
        assert got.get(timeout=5) == "/XY.-Z+9"
        os.write(w, b"001\n")
        assert got.get(timeout=5) == "168001"
        os.close(w)
        t.join(5)
        assert not t.is_alive() and scanner.scans == 2


def test_stop_ends_a_run_that_waits_for_input():
    r, w = os.pipe()
    try:
        with os.fdopen(r, "r") as stream:
            stop = threading.Event()
            t = threading.Thread(target=StdinScanner(stream, on_scan=print, poll_s=0.02).run, args=(stop,))
            t.start()
            stop.set()
            t.join(5)
            assert not t.is_alive()
    finally:
        os.close(w)


def test_a_failing_handler_is_logged_and_reading_goes_on(caplog):
    got = []

    def handler(code):
        got.append(code)
        raise ValueError("nope")

    StdinScanner(io.StringIO("1\n2\n"), on_scan=handler).run(threading.Event())
    assert got == ["1", "2"] and caplog.text.count("scan handler failed") == 2
