"""The wall clock in Asia/Taipei and whether the kernel says it is synchronised.

A Raspberry Pi has no RTC: after boot the clock may be months behind until NTP sets it, so the terminal
asks the kernel (adjtimex(2) with modes=0, no privileges needed) before issuing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import functools
import time
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")
_TIME_ERROR = 5
_STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; the trailing padding covers the reserved ints on 32 and 64 bit
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_reserved", ctypes.c_int * 11)]


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    # find_library runs `ldconfig -p` in a subprocess: once per process, not once per clock check
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def kernel_clock_synchronized() -> bool:
    """True when the kernel's NTP state says the clock is synchronised."""
    libc = _libc()
    tx = _Timex()
    state = libc.adjtimex(ctypes.byref(tx))
    if state < 0:
        return False
    return state != _TIME_ERROR and not (tx.status & _STA_UNSYNC)


class SystemClock:
    """Real time for the service; tests pass their own object with the same two methods."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(TAIPEI)

    def monotonic(self) -> float:
        return time.monotonic()

    def synchronized(self) -> bool:
        return kernel_clock_synchronized()
