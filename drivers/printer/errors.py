"""The printer's one error type, with the stable codes the service and the LAN API rely on."""
from __future__ import annotations

from terminal.core.errors import TerminalError

# code -> (English, Traditional Chinese for the OLED)
MESSAGES = {
    "paper_out": ("the printer is out of paper", "印表機缺紙"),
    "cover_open": ("the printer cover is open", "印表機上蓋未關"),
    "offline": ("the printer is offline or not connected", "印表機離線"),
    "unknown": ("the printer did not answer a status query", "印表機狀態不明"),
    "render_failed": ("the receipt cannot be rendered for this printer", "收據無法排版"),
    "font_missing": ("the CJK font for the receipt is missing", "缺少中文字型"),
}


class PrinterError(TerminalError):
    """A print that did not (or may not have) come out.

    ``code`` is one of ``paper_out``, ``cover_open``, ``offline``, ``unknown``, ``render_failed``,
    ``font_missing``. ``sent`` says whether bytes of the job may have reached the printer: when False
    nothing was printed and the original can simply be printed again; when True part of it may be on
    paper (keep exactly one original: the service decides between the original and a 補印).
    """

    code = "printer_error"
    message_zh = "印表機錯誤"

    def __init__(self, code: str, message: str | None = None, *, sent: bool = False, status=None) -> None:
        en, zh = MESSAGES.get(code, (code.replace("_", " "), self.message_zh))
        super().__init__(message or en, code=code, message_zh=zh)
        self.sent = sent
        self.status = status
