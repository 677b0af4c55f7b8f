"""Importing the peripheral adapters needs none of the hardware libraries (they load on use)."""
import subprocess
import sys


def test_adapters_import_with_hardware_libraries_blocked():
    code = ("import sys\n"
            "for name in ('evdev', 'luma', 'gpiozero', 'serial', 'smbus2'):\n"
            "    sys.modules[name] = None\n"
            "import display, drivers.scanner, drivers.gpio, terminal.core.screens, terminal.core.pending\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_blocking_is_real():
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['evdev'] = None; "
                        "from drivers.scanner import find_input_device; find_input_device({'name': 'x'})"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "evdev" in r.stderr
