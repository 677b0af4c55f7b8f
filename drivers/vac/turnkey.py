"""MIG 4.1 files for the tax authority's Turnkey program, as a ``CenterClient``.

``send`` writes the message's XML (the outbox payload, checked against the MIG 4.1 field rules) into
Turnkey's pick-up directory, atomically: ``<root>/UpCast/B2SSTORAGE/<type>/SRC`` for F0401, F0501,
F0701, G0401, G0501 and ``<root>/UpCast/B2PMESSAGE/E0402/SRC`` for blank-number reports. The Ack is
*pending*: the platform's verdict arrives later. ``collect_results`` reads it back — a file Turnkey moved
to ``ERR`` (its local check refused it) is a rejection; ProcessResult/SummaryResult files under
``<root>/Unpack`` acknowledge or reject each message. A message is never handed over twice: the
hand-over journal (``turnkey_journal``) survives restarts and power cuts.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Callable

from terminal.core import mig
from terminal.core.errors import ConfigError, ValidationError
from terminal.core.numbers import NumberRange
from terminal.core.period import Period
from terminal.core.ports import Outbox, OutboxMessage

from .center import Ack, UploadResult
from .files import write_atomic
from .turnkey_journal import HANDED, WRITING, HandOver, Journal
from .turnkey_results import NotAResult, ResultFileError, parse_results

log = logging.getLogger(__name__)

CATEGORY = {"F0401": "B2SSTORAGE", "F0501": "B2SSTORAGE", "F0701": "B2SSTORAGE", "G0401": "B2SSTORAGE",
            "G0501": "B2SSTORAGE", "E0402": "B2PMESSAGE"}
_UNSAFE = re.compile(r"[^0-9A-Za-z.-]+", re.ASCII)


def reference_of(message) -> str:
    """The number the platform's answers use for a parsed MIG message."""
    if isinstance(message, mig.F0401):
        return message.main.invoice_number
    if isinstance(message, mig.F0501):
        return message.cancel_invoice_number
    if isinstance(message, mig.F0701):
        return message.void_invoice_number
    if isinstance(message, mig.G0401):
        return message.main.allowance_number
    if isinstance(message, mig.G0501):
        return message.cancel_allowance_number
    if isinstance(message, mig.E0402):
        return f"{message.main.year_month}:{message.main.invoice_track}"
    raise TypeError(f"not a MIG message: {type(message).__name__}")


class TurnkeyClient:
    """:param root: Turnkey's data directory (the one holding ``UpCast`` and ``Unpack``).
    :param clock: aware ``datetime`` now.
    :param state_dir: where the hand-over journal lives (default ``<root>/.receipt-terminal``).
    :param durable: fsync files and directories (tests and benchmarks may switch it off).
    """

    def __init__(self, *, root: str | Path, clock: Callable[[], dt.datetime], state_dir: str | Path | None = None,
                 durable: bool = True) -> None:
        if not root:
            raise ConfigError("upload.turnkey_root is empty", field="upload.turnkey_root")
        self.root = Path(root)
        if not (self.root / "UpCast").is_dir():
            raise ConfigError(f"upload.turnkey_root: {self.root} has no UpCast directory (is Turnkey installed "
                              "and configured there?)", field="upload.turnkey_root")
        self._clock = clock
        self._durable = durable
        self._staging = self.root / ".receipt-terminal-staging"
        self.journal = Journal(Path(state_dir) if state_dir else self.root / ".receipt-terminal", durable=durable)

    def __repr__(self) -> str:
        return f"TurnkeyClient(root={str(self.root)!r})"

    def src_dir(self, message_type: str) -> Path:
        return self.root / "UpCast" / CATEGORY[message_type] / message_type / "SRC"

    # ------------------------------------------------------------------ hand-over
    def send(self, message: OutboxMessage) -> Ack:
        kind = message.message_type
        if kind not in CATEGORY:
            return Ack(False, reason=f"not handed to Turnkey: unknown message type {kind!r}")
        try:
            parsed = mig.parse(message.payload)
        except ValidationError as exc:
            return Ack(False, reason=f"not handed to Turnkey: the payload breaks a MIG 4.1 rule: {exc.message}")
        if mig.message_code(parsed) != kind:
            return Ack(False, reason=f"not handed to Turnkey: the payload is {mig.message_code(parsed)}, "
                                     f"the message says {kind}")
        target = self.src_dir(kind)
        if not (self.root / "UpCast").is_dir():  # an unmounted disk: never build a tree nobody reads
            return Ack(False, reason=f"Turnkey's {self.root / 'UpCast'} is missing", retryable=True, outage=True)
        try:
            entry = self.journal.get(message.id)
            if entry is not None and entry.state == HANDED:
                return self._waiting(entry)
            if entry is None:
                reference = reference_of(parsed)
                entry = HandOver(message.id, kind, reference,
                                 f"{kind}_{_UNSAFE.sub('-', reference)}_{message.id}_{message.attempts}.xml",
                                 CATEGORY[kind], WRITING, self._clock().isoformat())
                self.journal.put(entry)
            elif self._in_turnkey(entry):  # a crash came between the rename and the journal update
                return self._handed(entry)
            target.mkdir(parents=True, exist_ok=True)
            write_atomic(target / entry.name, message.payload, staging=self._staging, durable=self._durable)
            log.info("handed %s %s (message %d) to Turnkey as %s", kind, entry.reference, message.id, entry.name)
            return self._handed(entry)
        except OSError as exc:
            return Ack(False, reason=f"cannot write into Turnkey's {target}: {exc.strerror or exc}",
                       retryable=True, outage=True)

    def _handed(self, entry: HandOver) -> Ack:
        entry = HandOver(**{**entry.__dict__, "state": HANDED})
        self.journal.put(entry)
        return Ack(False, center_ref=entry.name, pending=True, retryable=True,
                   reason=f"handed to Turnkey as {entry.name}; waiting for the platform's ProcessResult")

    def _waiting(self, entry: HandOver) -> Ack:
        where = "still in SRC: is Turnkey running?" if (self.src_dir(entry.message_type) / entry.name).exists() \
            else "picked up by Turnkey"
        return Ack(False, center_ref=entry.name, pending=True, retryable=True,
                   reason=f"handed to Turnkey as {entry.name} at {entry.handed_at} ({where}); "
                          "waiting for the platform's ProcessResult")

    def _in_turnkey(self, entry: HandOver) -> bool:
        base = self.root / "UpCast" / entry.category / entry.message_type
        if (base / "SRC" / entry.name).exists():
            return True
        return any(True for sub in ("BAK", "ERR") if (base / sub).is_dir()
                   for _ in (base / sub).rglob(entry.name))

    def fetch_tracks(self, period: Period) -> list[NumberRange]:
        raise NotImplementedError("Turnkey does not hand out numbers: import the platform's allocation "
                                  "(配號) for this terminal into the ledger")

    # ------------------------------------------------------------------ answers
    def collect_results(self, outbox: Outbox, now: dt.datetime) -> UploadResult:
        """Record the verdicts that arrived for handed-over messages in ``outbox``."""
        waiting = self.journal.waiting()
        if not waiting:
            return UploadResult()
        by_name = {e.name: e for e in waiting}
        by_ref: dict[tuple[str, str], list[HandOver]] = {}
        for e in waiting:
            by_ref.setdefault((e.message_type, e.reference), []).append(e)
        acked = rejected = 0

        for err in sorted(self.root.glob("UpCast/*/*/ERR")):
            for path in err.rglob("*.xml"):
                entry = by_name.pop(path.name, None)
                if entry is None or entry.state != HANDED:
                    continue
                outbox.mark_rejected(entry.id, now, f"Turnkey's local check refused the file "
                                                    f"({path.relative_to(self.root)})")
                by_ref[(entry.message_type, entry.reference)].remove(entry)
                self.journal.remove(entry.id)
                rejected += 1

        unpack = self.root / "Unpack"
        seen = self.journal.seen_results()
        present: set[str] = set()
        newly_seen: list[str] = []
        for path in sorted(unpack.rglob("*.xml")) if unpack.is_dir() else ():
            rel = path.relative_to(self.root).as_posix()
            present.add(rel)
            if rel in seen:
                continue
            hint = next((p for p in path.relative_to(unpack).parts if p in CATEGORY), None)
            try:
                records = parse_results(path.read_bytes(), type_hint=hint, source=rel)
            except NotAResult:
                newly_seen.append(rel)
                continue
            except (ResultFileError, OSError) as exc:
                log.warning("Turnkey result %s not read (its messages stay pending): %s", rel, exc)
                continue
            for rec in records:
                queue = by_ref.get((rec.message_type, rec.reference))
                if not queue:
                    continue  # another system's message, or already recorded
                entry = queue.pop(0)
                if rec.accepted:
                    outbox.mark_acked(entry.id, now, f"turnkey:{rel}")
                    acked += 1
                else:
                    outbox.mark_rejected(entry.id, now, f"the platform refused it ({rec.code}): "
                                                        f"{rec.text or 'no reason given'} [{rel}]")
                    rejected += 1
                self.journal.remove(entry.id)
            newly_seen.append(rel)
        if newly_seen:
            self.journal.add_seen(newly_seen, present)
        return UploadResult(acked=acked, rejected=rejected)
