"""The dependency rule: the core imports with every hardware and I/O library absent, and the
adapters' hardware imports stay lazy."""
import subprocess
import sys
import textwrap

import pytest

BLOCKED = ["evdev", "luma", "escpos", "gpiozero", "serial", "usb", "smbus2", "requests", "sqlite_utils",
           "sqlite3", "PIL", "segno", "socket"]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_core_imports_without_hardware_or_io_libraries():
    code = textwrap.dedent(f"""
        import sys, importlib, pkgutil
        for name in {BLOCKED!r}:
            sys.modules[name] = None   # any import of these now raises ImportError
        import terminal.core
        for m in pkgutil.walk_packages(terminal.core.__path__, "terminal.core."):
            importlib.import_module(m.name)
        print("ok")
    """)
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_the_blocker_itself_can_fail():
    # guard against a blocker that silently allows imports
    r = _run("import sys; sys.modules['sqlite3'] = None; import sqlite3")
    assert r.returncode != 0 and "halted; None in sys.modules" in r.stderr


@pytest.mark.parametrize("lib", ["terminal.core.codes", "terminal.core.mig"])
def test_core_modules_do_not_pull_io_modules(lib):
    r = _run(f"import sys, {lib}; bad = [m for m in {BLOCKED!r} if m in sys.modules]; print(bad)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
