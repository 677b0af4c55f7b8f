"""What the Turnkey back-end has handed over and is still waiting for, kept on disk so that a restart
or a power cut neither hands a file over twice nor forgets one.

One small JSON file per outbox message in ``<state>/handed/``: written ``writing`` before the XML goes
into Turnkey's SRC, switched to ``handed`` after the rename, removed when the platform's answer has
been recorded in the outbox. ``<state>/results-seen.txt`` lists result files already read.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .files import fsync_dir, write_atomic

WRITING, HANDED = "writing", "handed"


@dataclass(frozen=True)
class HandOver:
    id: int
    message_type: str
    reference: str
    name: str  # the file name in Turnkey's UpCast/<category>/<type>/SRC
    category: str
    state: str
    handed_at: str  # ISO time, for ordering and for the technician


class Journal:
    def __init__(self, state_dir: Path, *, durable: bool = True) -> None:
        self.dir = state_dir / "handed"
        self._staging = state_dir / "staging"
        self._seen_path = state_dir / "results-seen.txt"
        self._durable = durable
        self.dir.mkdir(parents=True, exist_ok=True)

    def get(self, message_id: int) -> HandOver | None:
        try:
            data = json.loads((self.dir / f"{message_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return HandOver(**data)

    def put(self, entry: HandOver) -> None:
        write_atomic(self.dir / f"{entry.id}.json", json.dumps(asdict(entry), ensure_ascii=False).encode(),
                     staging=self._staging, durable=self._durable)

    def remove(self, message_id: int) -> None:
        try:
            os.unlink(self.dir / f"{message_id}.json")
        except FileNotFoundError:
            return
        if self._durable:
            fsync_dir(self.dir)

    def waiting(self) -> list[HandOver]:
        """Every hand-over without an answer yet, oldest first."""
        entries = []
        for path in self.dir.glob("*.json"):
            try:
                entries.append(HandOver(**json.loads(path.read_text(encoding="utf-8"))))
            except FileNotFoundError:  # removed meanwhile
                continue
        return sorted(entries, key=lambda e: (e.handed_at, e.id))

    def seen_results(self) -> set[str]:
        try:
            return set(self._seen_path.read_text(encoding="utf-8").splitlines())
        except FileNotFoundError:
            return set()

    def add_seen(self, names: list[str], still_present: set[str] | None = None) -> None:
        """Record result files as read; with ``still_present``, forget ones Turnkey has deleted."""
        seen = self.seen_results()
        if still_present is not None:
            seen &= still_present
        seen.update(names)
        write_atomic(self._seen_path, "".join(f"{n}\n" for n in sorted(seen)).encode(), staging=self._staging,
                     durable=self._durable)
