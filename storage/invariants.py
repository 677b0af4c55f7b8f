"""The ledger's invariants, checked at every open (cheap ones) or on demand (``deep``).

Every number of every range is handed out in order: the invoices of a range are exactly the numbers
below its next number (none skipped, none twice). A closed range's remaining numbers are reported
blank exactly once, and a number is never both issued and blank. Ranges of one period and track
never overlap.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict


def problems(conn: sqlite3.Connection, *, deep: bool = False) -> list[str]:
    out: list[str] = []
    tracks = conn.execute("SELECT id, period, prefix, first_serial, last_serial, next_serial, closed_at "
                          "FROM tracks ORDER BY period, prefix, first_serial").fetchall()
    issued = {tid: (n, lo, hi) for tid, n, lo, hi in conn.execute(
        "SELECT track_id, count(*), min(serial), max(serial) FROM invoices GROUP BY track_id")}
    blanks: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for tid, a, b in conn.execute("SELECT track_id, first_serial, last_serial FROM blank_reports"):
        blanks[tid].append((a, b))
    previous: dict[tuple[str, str], tuple[int, str]] = {}
    for tid, period, prefix, first, last, nxt, closed in tracks:
        name = f"{period} {prefix}{first:08d}-{last:08d}"
        n, lo, hi = issued.get(tid, (0, None, None))
        if n != nxt - first or (n and (lo != first or hi != nxt - 1)):
            out.append(f"range {name}: {n} invoices for the {nxt - first} numbers handed out "
                       f"({prefix}{first:08d} to {prefix}{nxt - 1:08d}); a number was skipped or issued twice")
        reported = sorted(blanks.get(tid, ()))
        cursor = nxt
        for a, b in reported:
            if a < nxt or b > last:
                out.append(f"range {name}: blank report {a:08d}-{b:08d} covers numbers that were issued "
                           "or lie outside the range")
            elif a != cursor:
                out.append(f"range {name}: blank reports overlap or leave a gap at {cursor:08d}")
            cursor = b + 1
        if closed is not None and cursor != last + 1:
            out.append(f"range {name} is closed but {prefix}{cursor:08d}-{last:08d} is neither issued nor blank")
        if closed is None and reported:
            out.append(f"range {name} is open but has blank reports")
        key = (period, prefix)
        if key in previous and previous[key][0] >= first:
            out.append(f"range {name} overlaps {previous[key][1]}")
        previous[key] = (last, name)
    if deep:
        out.extend(_deep(conn))
    return out


def _deep(conn: sqlite3.Connection) -> list[str]:
    """Row-by-row checks (seconds on a large ledger): items, upload messages, periods."""
    out = []
    (n,) = conn.execute("SELECT count(*) FROM invoices WHERE json_valid(items) = 0 OR json_array_length(items) = 0"
                        ).fetchone()
    if n:
        out.append(f"{n} invoices have no readable items")
    (n,) = conn.execute("SELECT count(*) FROM invoices WHERE 'invoice:' || id NOT IN "
                        "(SELECT subject FROM outbox WHERE message_type = 'F0401')").fetchone()
    if n:
        out.append(f"{n} invoices have no F0401 upload message")
    # the invoice date must fall in its range's period: month of issued_at vs the period's two months
    (n,) = conn.execute(
        "SELECT count(*) FROM invoices i JOIN tracks t ON t.id = i.track_id WHERE "
        "CAST(substr(i.issued_at, 1, 4) AS INTEGER) - 1911 != CAST(substr(t.period, 1, 3) AS INTEGER) OR "
        "(CAST(substr(i.issued_at, 6, 2) AS INTEGER) + 1) / 2 * 2 != CAST(substr(t.period, 4, 2) AS INTEGER)"
    ).fetchone()
    if n:
        out.append(f"{n} invoices are dated outside their range's period")
    return out
