"""Fixtures of the printer tests; the invoices are in printer_cases.py."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helper modules next to the tests

from printer_cases import FONT  # noqa: E402


@pytest.fixture(scope="session")
def font() -> str:
    if not Path(FONT).is_file():
        pytest.fail(f"{FONT} missing: run scripts/setup.sh (fonts-wqy-zenhei)")
    return FONT
