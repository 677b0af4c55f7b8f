"""A stand-in for the Turnkey program around its directories: it picks files up from SRC like Turnkey
(MIG check → BAK, or ERR), and plays the platform by writing ProcessResult / SummaryResult files into
Unpack. The result XML follows the shape ``drivers.vac.turnkey_results`` documents."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from terminal.core import mig

CATEGORY = {"F0401": "B2SSTORAGE", "F0501": "B2SSTORAGE", "F0701": "B2SSTORAGE", "G0401": "B2SSTORAGE",
            "G0501": "B2SSTORAGE", "E0402": "B2PMESSAGE"}
NS = "urn:GEINV:eInvoiceMessage:ProcessResult:4.1"


def reference_xml(message_type: str, reference: str) -> str:
    if message_type == "E0402":
        year_month, track = reference.split(":")
        return f"<YearMonth>{year_month}</YearMonth><InvoiceTrack>{track}</InvoiceTrack>"
    return f"<InvoiceNumber>{escape(reference)}</InvoiceNumber>"


def process_result(message_type: str, reference: str, code: str = "0", message: str = "Success") -> bytes:
    error = "" if code == "0" else f"<ErrorCode>{code}</ErrorCode><ErrorMessage>{escape(message)}</ErrorMessage>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ProcessResult xmlns="{NS}">'
            f"<RoutingInfo><From><PartyId>EINV</PartyId></From></RoutingInfo>"
            f"<MessageType>{message_type}</MessageType>{reference_xml(message_type, reference)}"
            f"<ResultCode>{code}</ResultCode><ResultMessage>{'Success' if code == '0' else 'Error'}</ResultMessage>"
            f"{error}</ProcessResult>").encode()


def summary_result(message_type: str, good: list[str], failed: list[str]) -> bytes:
    def refs(items):
        if message_type == "E0402":  # a track has two fields: one element per track
            return "".join(f"<Blank>{reference_xml(message_type, r)}</Blank>" for r in items)
        return "".join(reference_xml(message_type, r) for r in items)

    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<SummaryResult xmlns="urn:GEINV:eInvoiceMessage:SummaryResult:4.1">'
            f"<DetailList><Message><Info><MessageType>{message_type}</MessageType></Info><ResultType>"
            f"<Good><Count>{len(good)}</Count>{refs(good)}</Good>"
            f"<Failed><Count>{len(failed)}</Count>{refs(failed)}</Failed>"
            f"</ResultType></Message></DetailList></SummaryResult>").encode()


class FakeTurnkey:
    def __init__(self, root: Path) -> None:
        self.root = root
        for kind, cat in CATEGORY.items():
            for sub in ("SRC", "BAK", "ERR"):
                (root / "UpCast" / cat / kind / sub).mkdir(parents=True, exist_ok=True)
        (root / "Unpack").mkdir(exist_ok=True)

    def src_files(self) -> list[Path]:
        return sorted(self.root.glob("UpCast/*/*/SRC/*.xml"))

    def all_files(self, name_part: str = "") -> list[Path]:
        return sorted(p for p in self.root.glob("UpCast/*/*/*/**/*.xml") if name_part in p.name)

    def pump(self, when: dt.datetime, *, refuse_locally=(), refuse: dict[str, tuple[str, str]] | None = None,
             results: bool = True) -> list[str]:
        """Take every SRC file: MIG-check it into BAK (or ERR) and, with ``results``, answer for it."""
        refuse = refuse or {}
        taken = []
        for path in self.src_files():
            kind = path.parent.parent.name
            try:
                msg = mig.parse(path.read_bytes())
                ok = path.name not in refuse_locally
            except Exception:
                ok = False
            day = when.strftime("%Y%m%d")
            dest = path.parent.parent / ("BAK" if ok else "ERR") / day / when.strftime("%H")
            dest.mkdir(parents=True, exist_ok=True)
            shutil.move(path, dest / path.name)
            taken.append(path.name)
            if ok and results:
                from drivers.vac.turnkey import reference_of

                ref = reference_of(msg)
                code, text = refuse.get(ref, ("0", "Success"))
                out = self.root / "Unpack" / CATEGORY[kind] / kind / "ProcessResult" / day
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{path.stem}.xml").write_bytes(process_result(kind, ref, code, text))
        return taken

    def write_result(self, relative: str, data: bytes) -> Path:
        path = self.root / "Unpack" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
