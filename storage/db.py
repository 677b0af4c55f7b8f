"""Opening the ledger file safely, and what SQLite's errors mean for the counter.

A new ledger is built under a temporary name and linked into place complete. An existing file is
opened read-write without the right to create (a vanished file is an error, not a fresh ledger), is
read before anything is written, and must pass ``PRAGMA integrity_check``; a file that fails is
reported and left exactly as it was. Every connection runs in WAL mode with ``synchronous=FULL``
(one fsync per commit: a committed invoice survives a power cut) and a busy timeout, so the service
and the CLI can hold the ledger open at the same time.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from terminal.core.errors import CannotIssue

BUSY_TIMEOUT_MS = 5000
_ZH_UNAVAILABLE = "帳本無法開啟，暫停開立"
_ZH_CORRUPT = "帳本損毀，暫停開立"


def unavailable(message: str) -> CannotIssue:
    return CannotIssue(message, code="ledger_unavailable", message_zh=_ZH_UNAVAILABLE)


def corrupt(message: str) -> CannotIssue:
    return CannotIssue(message, code="ledger_corrupt", message_zh=_ZH_CORRUPT)


def classify(exc: sqlite3.Error, path: Path | str) -> CannotIssue:
    """Map an SQLite error to the CannotIssue the service shows: full disk, busy, corrupt or
    unavailable. The transaction it interrupted has been rolled back by then."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_FULL"):
        return CannotIssue(f"the disk holding the ledger {path} is full; nothing of this sale was written",
                           code="ledger_full", message_zh="儲存空間已滿，暫停開立")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return CannotIssue(f"the ledger {path} stayed locked by another process for {BUSY_TIMEOUT_MS} ms",
                           code="ledger_busy", message_zh="帳本忙碌中，請重試")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return corrupt(f"the ledger {path} is corrupt ({exc}); issuing stopped, the file is left untouched "
                       "for recovery from a backup")
    return unavailable(f"the ledger {path} cannot be used: {exc}")


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=FULL")  # per connection: set on every open
    conn.execute("PRAGMA foreign_keys=ON")


def create(path: Path, setup: Callable[[sqlite_utils.Database], None]) -> None:
    """Create a ledger file at ``path`` if nothing is there: built and synced under a temporary name,
    then linked into place, so a crash during creation never leaves a half-made (e.g. empty) ledger
    that would later look truncated. If another process creates it first, its file wins."""
    if not path.parent.is_dir():
        raise unavailable(f"the directory of the ledger {path} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.creating")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            _configure(conn)
            db = sqlite_utils.Database(conn, execute_plugins=False)
            db.enable_wal()
            with write_transaction(conn):
                setup(db)
        finally:
            conn.close()  # checkpoints: everything is in the one file now
        fsync_path(tmp)
        try:
            os.link(tmp, path)  # fails if a ledger appeared meanwhile: never replace one
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not os.path.lexists(path):
                os.rename(tmp, path)
        fsync_path(path.parent)
    except sqlite3.Error as exc:
        raise classify(exc, path) from exc
    except OSError as exc:
        raise unavailable(f"cannot create the ledger {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (after a rename into it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(path: Path) -> sqlite_utils.Database:
    """Open an existing ledger file and configure the connection; nothing is written here (WAL is
    switched on by the caller, after the integrity check). CannotIssue for a file that is missing,
    unreadable, empty or not an SQLite database."""
    if not os.path.lexists(path):
        raise unavailable(f"the ledger {path} does not exist")
    if not path.is_file():
        raise unavailable(f"the ledger path {path} is not a regular file")
    if path.stat().st_size == 0:
        # An emptied ledger must never silently become a new one: its numbers would be handed out
        # again after a re-import.
        raise corrupt(f"the ledger {path} is empty (truncated?); restore it from a backup or remove it "
                      "deliberately to start a new ledger")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise classify(exc, path) from exc
    try:
        _configure(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # first read: NOTADB shows here
        db = sqlite_utils.Database(conn, execute_plugins=False)
    except sqlite3.Error as exc:
        conn.close()
        raise classify(exc, path) from exc
    return db


def integrity_problems(db: sqlite_utils.Database, *, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) plus the foreign keys; [] when sound."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = [r[0] for r in db.conn.execute(f"PRAGMA {pragma}")]
    problems = [] if rows == ["ok"] else rows
    for table, rowid, parent, _ in db.conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"{table} row {rowid} refers to a missing {parent} row")
    return problems


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock is taken up front, so a second process waits on
    the busy timeout instead of failing halfway when it upgrades a read. Any error rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLITE_FULL/IOERR may already have rolled back; ROLLBACK is then not allowed
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


class Session:
    """The ledger's one connection with its lock: every public call runs inside ``reading()`` or
    ``writing()``, which serialise threads, turn SQLite errors into CannotIssue and, after a
    corruption error, refuse all further work on this connection."""

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.conn = db.conn
        self.path = path
        self.lock = threading.RLock()
        self.broken: CannotIssue | None = None
        self.closed = False

    def _usable(self) -> None:
        if self.closed:
            raise unavailable(f"the ledger {self.path} is closed")
        if self.broken is not None:
            raise self.broken

    def _failed(self, exc: sqlite3.Error) -> CannotIssue:
        err = classify(exc, self.path)
        if err.code == "ledger_corrupt":
            self.broken = err
        return err

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self._usable()
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls join the outer one."""
        with self.lock:
            self._usable()
            if self.conn.in_transaction:
                yield self.conn
                return
            try:
                with write_transaction(self.conn) as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()
