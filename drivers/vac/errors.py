"""Errors of the value-added center drivers (the ``send`` path never raises them: it returns an Ack)."""
from __future__ import annotations

from terminal.core.errors import TerminalError


class CenterError(TerminalError):
    """The center refused a request or could not be asked. ``retryable``: asking again later may work;
    ``outage``: the center is unreachable or broken, not just this request."""

    code = "center_error"
    message_zh = "加值中心錯誤"

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True, outage: bool = False,
                 retry_after_s: float | None = None, message_zh: str | None = None) -> None:
        super().__init__(message, code=code, message_zh=message_zh)
        self.retryable = retryable
        self.outage = outage
        self.retry_after_s = retry_after_s


class CenterUnreachable(CenterError):
    """No usable answer: connection refused or dropped, timeout, TLS failure, HTTP error status."""

    code = "center_unreachable"
    message_zh = "無法連線加值中心"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message, retryable=True, outage=True, retry_after_s=retry_after_s)
