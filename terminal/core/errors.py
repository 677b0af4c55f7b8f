"""Error types shared by the whole terminal.

Every error carries a stable snake_case ``code`` (used by the LAN API and the CLI's ``--json``), an
English ``message`` for the CLI/log and a Traditional Chinese ``message_zh`` for the OLED. Validation
errors also name the offending ``field`` (a JSON path such as ``items[2].quantity``).
"""
from __future__ import annotations


class TerminalError(Exception):
    """Base class; ``code`` says which, ``message_zh`` is what the counter staff read."""

    code = "terminal_error"
    message_zh = "終端機錯誤"

    def __init__(self, message: str, *, code: str | None = None, message_zh: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if message_zh is not None:
            self.message_zh = message_zh
        self.field = field

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationError(TerminalError, ValueError):
    """Bad input: a scan, a sale, an amount or a range that breaks a rule (HTTP 422/400)."""

    code = "invalid"
    message_zh = "資料格式錯誤"


class ConfigError(TerminalError):
    """A config value is missing or wrong; the message names the section and key."""

    code = "config_error"
    message_zh = "設定錯誤"


class CannotIssue(TerminalError):
    """The terminal may not issue right now (no numbers, clock, ledger): HTTP 503."""

    code = "cannot_issue"
    message_zh = "目前無法開立發票"
