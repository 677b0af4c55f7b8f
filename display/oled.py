"""The counter OLED: shows ``Screen``s on a luma device, redrawing only on change, and protects the
panel against burn-in (dim when idle, optionally switch off, orbit the frame by 1 px).

``OledDisplay`` takes any luma device (``ssd1306``/``sh1106`` on I2C in production, ``dummy`` in
tests); ``open_oled`` builds the real one from config. luma is imported only there.
"""
from __future__ import annotations

import errno
import logging
import os
import threading
import time
from typing import Callable, Mapping

from PIL import Image, ImageChops

from terminal.core.errors import ConfigError, TerminalError
from terminal.core.screens import Screen

from .render import render_screen

log = logging.getLogger(__name__)

# The frame walks this 1 px orbit, one step per ``orbit_s``; the renderer keeps a blank 1 px border.
ORBIT = ((0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
CONTRAST_NORMAL = 0xCF
CONTRAST_DIM = 0x10


class DisplayError(TerminalError):
    code = "oled_unavailable"
    message_zh = "顯示器無法使用"


class OledDisplay:
    """A luma device showing terminal screens.

    :param device: a luma device (``device.display(image)``, ``contrast``, ``hide``, ``show``).
    :param font_path: the CJK font (``path`` or ``path#face``); default WenQuanYi Zen Hei Sharp.
    :param clock: monotonic seconds, for idle timing (default ``time.monotonic``); ``tick(now)``
        must be given times from the same clock.
    :param dim_after_s: idle seconds before the contrast drops (None: never).
    :param off_after_s: idle seconds before the panel is switched off (None: never; a counter
        usually wants the status visible).
    :param orbit_s: seconds between 1 px shifts of the whole frame (None: no shift).

    Activity is a new screen or :meth:`wake`; it restores contrast and switches the panel back on.
    Alert screens (errors) are never dimmed or switched off.
    :meth:`show` also runs the idle housekeeping, so a caller that re-shows its screen every second
    need not call :meth:`tick` itself. Thread-safe.
    """

    def __init__(self, device, *, font_path: str | None = None, clock: Callable[[], float] | None = None,
                 dim_after_s: float | None = 60.0, off_after_s: float | None = None,
                 orbit_s: float | None = 120.0, contrast: int = CONTRAST_NORMAL,
                 dim_contrast: int = CONTRAST_DIM) -> None:
        self.device = device
        self.font_path = font_path
        self._clock = clock or time.monotonic
        self.dim_after_s, self.off_after_s, self.orbit_s = dim_after_s, off_after_s, orbit_s
        self.contrast, self.dim_contrast = contrast, dim_contrast
        self._lock = threading.RLock()
        self._screen: Screen | None = None
        self._frame: Image.Image | None = None  # the unshifted frame of _screen
        self._offset = (0, 0)
        self._since = self._clock()  # start of the orbit schedule
        self._last_activity = self._since
        self._dimmed = self._off = False
        self._pushed: Image.Image | None = None
        self.frames_pushed = 0
        self.failed: str | None = None  # the last write error, until a write succeeds

    @property
    def screen(self) -> Screen | None:
        return self._screen

    @property
    def image(self) -> Image.Image | None:
        """The last frame sent to the device (shifted as sent), or None after ``blank``."""
        return self._pushed

    def show(self, screen: Screen) -> bool:
        """Show ``screen``; True if it was drawn, False if it was already showing or the panel
        could not be written (see ``failed``; the next call tries again)."""
        with self._lock:
            now = self._clock()
            if screen == self._screen:
                self.tick(now)
                return False
            self._screen = screen
            self._frame = render_screen(screen, font_path=self.font_path)
            try:
                self._activity(now)
                self._offset = self._orbit_offset(now)
                self._push()
            except OSError as e:
                self._write_failed(e)
                return False
            return True

    def wake(self) -> None:
        """Activity without a new screen (a button press): full contrast, panel on."""
        with self._lock:
            now = self._clock()
            try:
                self._activity(now)
            except OSError as e:
                self._write_failed(e)
            self.tick(now)

    def tick(self, now: float) -> None:
        """Idle housekeeping at ``now``: dim, switch off, or move the frame one orbit step."""
        with self._lock:
            # an alert (error) stays bright for as long as it is shown; only the orbit continues
            idle = 0.0 if self._screen is not None and self._screen.alert else now - self._last_activity
            try:
                if self.off_after_s is not None and idle >= self.off_after_s and not self._off:
                    self.device.hide()
                    self._off = True
                if self.dim_after_s is not None and idle >= self.dim_after_s and not self._dimmed:
                    self.device.contrast(self.dim_contrast)
                    self._dimmed = True
                offset = self._orbit_offset(now)
                if self._frame is not None and offset != self._offset and not self._off:
                    self._offset = offset
                    self._push()
            except OSError as e:
                self._write_failed(e)

    def blank(self) -> None:
        """Clear the panel and switch it off (service stop); the next ``show`` switches it on."""
        with self._lock:
            self._screen = self._frame = self._pushed = None
            try:
                self.device.clear()
                self.device.hide()
            except OSError as e:  # the panel may already be gone; stopping must not fail
                log.warning("could not blank the OLED: %s", e)
            self._off = True

    def close(self) -> None:
        """Blank and release the bus."""
        with self._lock:
            self.blank()
            self.device.persist = True  # already blank; luma's own cleanup must not redraw
            try:
                self.device.cleanup()
            except OSError as e:
                log.warning("could not release the OLED bus: %s", e)

    def status(self) -> dict:
        return {"screen": self._screen.kind if self._screen else None, "dimmed": self._dimmed,
                "off": self._off, "offset": list(self._offset), "frames": self.frames_pushed, "error": self.failed}

    def _activity(self, now: float) -> None:
        self._last_activity = now
        if self._off:
            self.device.show()
            self._off = False
        if self._dimmed or self.frames_pushed == 0:
            self.device.contrast(self.contrast)
            self._dimmed = False

    def _orbit_offset(self, now: float) -> tuple[int, int]:
        if not self.orbit_s:
            return (0, 0)
        return ORBIT[int((now - self._since) // self.orbit_s) % len(ORBIT)]

    def _push(self) -> None:
        frame = self._frame
        if self._offset != (0, 0):
            frame = ImageChops.offset(frame, *self._offset)
        self._output(frame)
        if self.failed is not None:
            log.info("OLED writes work again")
            self.failed = None
        self._pushed = frame
        self.frames_pushed += 1

    def _write_failed(self, e: OSError) -> None:
        # An I2C error (loose cable, panel gone) must never fail a sale: log it once per outage
        # and forget the screen so that the next show() draws it again.
        if self.failed is None:
            log.warning("OLED write failed: %s; retrying with the next screen", e)
        self.failed = str(e)
        self._screen = None

    def _output(self, frame: Image.Image) -> None:
        """Send one frame to the device (subclasses also record it)."""
        self.device.display(frame)


# ---------------------------------------------------------------------------------------------- factory
_OLED_KEYS = {"enabled", "driver", "i2c_bus", "address", "rotate", "font", "dim_after_s", "off_after_s",
              "orbit_s"}


def open_oled(cfg: Mapping, *, interface=None, sysfs_root: str = "/") -> OledDisplay:
    """Open the SSD1306/SH1106 panel described by the ``[oled]`` config section.

    Keys: ``driver`` ("ssd1306" | "sh1106"), ``i2c_bus`` (int; None or -1: the bus the device tree
    names ``i2c_arm``/``i2c1``, else 1), ``address`` (default 0x3C), ``rotate`` (0-3), ``font``,
    ``dim_after_s``, ``off_after_s``, ``orbit_s``. ``interface`` replaces the I2C interface (tests).

    :raises ConfigError: a key is unknown or has a bad value (the message names ``oled.<key>``).
    :raises DisplayError: the bus or the panel cannot be opened.
    """
    unknown = sorted(set(cfg) - _OLED_KEYS)
    if unknown:
        raise ConfigError(f"unknown key oled.{unknown[0]} (known: {', '.join(sorted(_OLED_KEYS))})",
                          field=f"oled.{unknown[0]}")
    driver = cfg.get("driver", "ssd1306")
    if driver not in ("ssd1306", "sh1106"):
        raise ConfigError(f"oled.driver must be ssd1306 or sh1106, got {driver!r}", field="oled.driver")
    address = _int_key(cfg, "address", 0x3C, 0x03, 0x77)
    rotate = _int_key(cfg, "rotate", 0, 0, 3)
    bus = cfg.get("i2c_bus")
    if bus is None or bus == -1:
        bus = find_i2c_bus(sysfs_root)
    else:
        bus = _int_key(cfg, "i2c_bus", 1, 0, 255)
    timing = {k: _seconds_key(cfg, k) for k in ("dim_after_s", "off_after_s", "orbit_s") if k in cfg}

    from luma.core.error import DeviceNotFoundError, DevicePermissionError
    from luma.core.interface.serial import i2c
    from luma.oled.device import sh1106, ssd1306

    try:
        serial = interface if interface is not None else i2c(port=bus, address=address)
        device = (ssd1306 if driver == "ssd1306" else sh1106)(serial_interface=serial, width=128, height=64,
                                                                rotate=rotate)
    except DevicePermissionError as e:
        raise DisplayError(f"no permission for /dev/i2c-{bus}: add the service user to group i2c ({e})",
                           code="oled_permission") from e
    except (DeviceNotFoundError, OSError) as e:
        raise DisplayError(f"no {driver} OLED at I2C bus {bus} address 0x{address:02X}: {e}",
                           code="oled_not_found") from e
    log.info("OLED %s on I2C bus %d at 0x%02X", driver, bus, address)
    return OledDisplay(device, font_path=cfg.get("font") or None, **timing)


def _int_key(cfg: Mapping, key: str, default: int, lo: int, hi: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"oled.{key} must be an integer from {lo} to {hi}, got {value!r}", field=f"oled.{key}")
    return value


def _seconds_key(cfg: Mapping, key: str) -> float | None:
    value = cfg[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"oled.{key} must be a positive number of seconds, got {value!r}", field=f"oled.{key}")
    return float(value)


def find_i2c_bus(sysfs_root: str = "/") -> int:
    """The number of the I2C adapter on the header pins: the adapter whose device-tree node is the
    one the ``i2c_arm`` (or ``i2c1``) alias names (Raspberry Pi device trees); 1 if none matches."""
    aliases = os.path.join(sysfs_root, "proc/device-tree/aliases")
    base = os.path.join(sysfs_root, "sys/firmware/devicetree/base")
    adapters = os.path.join(sysfs_root, "sys/class/i2c-adapter")
    for alias in ("i2c_arm", "i2c1"):
        try:
            with open(os.path.join(aliases, alias), "rb") as fh:
                node = fh.read().rstrip(b"\0").decode()
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                log.warning("cannot read device-tree alias %s: %s", alias, e)
            continue
        target = os.path.realpath(os.path.join(base, node.lstrip("/")))
        try:
            names = sorted(os.listdir(adapters))
        except OSError:
            break
        for name in names:
            of_node = os.path.join(adapters, name, "of_node")
            if name.startswith("i2c-") and os.path.realpath(of_node) == target:
                return int(name[4:])
    return 1
