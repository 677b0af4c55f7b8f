"""The ``receipt-terminal`` command line (see README and shared interfaces)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from terminal import __version__

    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["version"]):
        print(__version__)
        return 0
    print("usage: receipt-terminal {run,status,tracks,invoice,upload,selftest,config,preview} ...",
          file=sys.stderr)
    return 2
