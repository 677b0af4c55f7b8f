"""Turn a barcode scanner's output into scanned codes: Linux key events from a USB HID
"keyboard wedge" scanner (``ScanDecoder``) or bytes from a scanner in serial/CDC-ACM mode
(``ScanLineDecoder``).

Pure: the caller passes the events, bytes and event timestamps in. Key codes are the Linux input ABI
numbers from ``linux/input-event-codes.h`` (stable kernel ABI; the tests check them against
``evdev.ecodes``), so this module needs no evdev. The scanner must be set to a US keyboard layout
with Enter as suffix (see hardware.md §3.1).
"""
from __future__ import annotations

from string import ascii_lowercase

EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2

KEY_TAB, KEY_ENTER, KEY_KPENTER = 15, 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58

# QWERTY rows: the letters' codes run along the keyboard, not the alphabet.
_LETTER_CODES = dict(zip("qwertyuiop", range(16, 26))) | dict(zip("asdfghjkl", range(30, 39))) \
    | dict(zip("zxcvbnm", range(44, 51)))
assert sorted(_LETTER_CODES) == list(ascii_lowercase)

# code -> (unshifted, shifted)
KEYMAP: dict[int, tuple[str, str]] = {
    **{code: (c, c.upper()) for c, code in _LETTER_CODES.items()},
    **{n + 1: (str(n % 10), "!@#$%^&*()"[n - 1]) for n in range(1, 11)},  # KEY_1=2 .. KEY_0=11
    12: ("-", "_"), 13: ("=", "+"), 26: ("[", "{"), 27: ("]", "}"), 39: (";", ":"), 40: ("'", '"'),
    41: ("`", "~"), 43: ("\\", "|"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " "),
    # keypad: the same character with or without shift (NumLock is assumed on, as scanners send it)
    55: ("*", "*"), 74: ("-", "-"), 78: ("+", "+"), 83: (".", "."), 98: ("/", "/"), 117: ("=", "="),
    **{code: (d, d) for d, code in zip("789456123", (71, 72, 73, 75, 76, 77, 79, 80, 81))}, 82: ("0", "0"),
}
TERMINATORS = frozenset({KEY_ENTER, KEY_KPENTER, KEY_TAB})
SHIFTS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})

MAX_CODE_LEN = 128  # longer than any carrier / BAN / donation code; anything longer is noise


class ScanDecoder:
    """Key events in, complete codes out.

    * Only ``EV_KEY`` matters; presses (value 1) make characters, autorepeat (2) is ignored, shift
      state follows press/release of either shift key, Caps Lock flips letters only.
    * Enter, keypad Enter or Tab end a code. An empty code (a lone Enter) yields nothing.
    * A partial code is dropped when the next key comes more than ``gap_s`` after the previous one
      (timestamps from the events), when :meth:`expire` is called (the caller's idle timeout) or
      when it grows past ``max_len``. ``dropped`` counts these.
    """

    def __init__(self, *, gap_s: float = 0.3, max_len: int = MAX_CODE_LEN) -> None:
        if gap_s <= 0 or max_len < 1:
            raise ValueError("gap_s must be > 0 and max_len >= 1")
        self.gap_s = gap_s
        self.max_len = max_len
        self.dropped = 0
        self._buf: list[str] = []
        self._shift: set[int] = set()
        self._caps = False
        self._last_t: float | None = None
        self._overflow = False

    @property
    def has_partial(self) -> bool:
        return bool(self._buf) or self._overflow

    def feed(self, ev_type: int, code: int, value: int, t: float) -> str | None:
        """Process one event stamped ``t`` seconds; return the finished code, if this completed one."""
        if ev_type != EV_KEY:
            return None
        if code in SHIFTS:
            if value == KEY_PRESS:
                self._shift.add(code)
            elif value == KEY_RELEASE:
                self._shift.discard(code)
            return None
        if value != KEY_PRESS:
            return None
        if self.has_partial and self._last_t is not None and t - self._last_t > self.gap_s:
            self.expire()
        self._last_t = t
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in TERMINATORS:
            text, overflow = "".join(self._buf), self._overflow
            self._buf, self._overflow = [], False
            return text if text and not overflow else None
        chars = KEYMAP.get(code)
        if chars is None or self._overflow:
            return None  # a key no barcode produces (F-keys, Ctrl...) or already too long
        ch = chars[1] if self._shift else chars[0]
        if self._caps and ch.isalpha():
            ch = ch.swapcase()
        if len(self._buf) >= self.max_len:
            self._buf, self._overflow = [], True
            self.dropped += 1
            return None
        self._buf.append(ch)
        return None

    def expire(self) -> str | None:
        """Drop the partial code (the scanner went quiet without Enter); return what was dropped."""
        if not self.has_partial:
            return None
        text = "".join(self._buf)
        if not self._overflow:
            self.dropped += 1
        self._buf, self._overflow = [], False
        return text


class ScanLineDecoder:
    """Bytes in, codes out, for scanners that send ``code`` + CR, LF or CRLF (serial/CDC-ACM mode,
    or one code per line on stdin). Blank lines are skipped; bytes that are not ASCII become U+FFFD
    so the classifier rejects them with a clear message. Over-long lines are dropped."""

    def __init__(self, *, max_len: int = MAX_CODE_LEN) -> None:
        self.max_len = max_len
        self.dropped = 0
        self._buf = bytearray()
        self._overflow = False

    @property
    def has_partial(self) -> bool:
        return bool(self._buf) or self._overflow

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            if b in (0x0D, 0x0A):
                if self._buf and not self._overflow:
                    out.append(self._buf.decode("ascii", errors="replace").strip())
                self._buf.clear()
                self._overflow = False
            elif not self._overflow:
                if len(self._buf) >= self.max_len:
                    self._buf.clear()
                    self._overflow = True
                    self.dropped += 1
                else:
                    self._buf.append(b)
        return [code for code in out if code]

    def expire(self) -> str | None:
        if not self.has_partial:
            return None
        text = self._buf.decode("ascii", errors="replace")
        if not self._overflow:
            self.dropped += 1
        self._buf.clear()
        self._overflow = False
        return text
