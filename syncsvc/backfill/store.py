"""The ``syncsvc.backfill`` rows: one per backfill, its reading position and its counts."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.errors import ConfigError

STATES = ("running", "done", "cancelled", "failed")

CREATE = """
INSERT INTO syncsvc.backfill (connection_id, source_table, rule_name, op, key_columns,
                              where_sql, since, since_column, page_size, pid, host)
VALUES (%(connection_id)s, %(source_table)s, %(rule_name)s, %(op)s, %(key_columns)s,
        %(where_sql)s, %(since)s, %(since_column)s, %(page_size)s, %(pid)s, %(host)s)
RETURNING id
"""

# The same backfill, not finished: re-running its command continues it.
FIND_UNFINISHED = """
SELECT id FROM syncsvc.backfill
WHERE connection_id = %(connection_id)s AND source_table = %(source_table)s
  AND rule_name IS NOT DISTINCT FROM %(rule_name)s
  AND where_sql IS NOT DISTINCT FROM %(where_sql)s
  AND since IS NOT DISTINCT FROM %(since)s
  AND since_column IS NOT DISTINCT FROM %(since_column)s
  AND state IN ('running', 'failed')
ORDER BY id DESC LIMIT 1
"""

SELECT = """
SELECT b.*, c.name AS connection_name, c.provider,
       extract(epoch FROM now() - b.started_at) AS elapsed_seconds
FROM syncsvc.backfill b JOIN syncsvc.connection c ON c.id = b.connection_id
"""
SELECT_ONE = SELECT + "WHERE b.id = %(id)s"
SELECT_RECENT = SELECT + "ORDER BY b.id DESC LIMIT %(limit)s"
SELECT_ACTIVE = (
    SELECT + "WHERE b.state = 'running' OR b.finished_at > now() - interval '1 hour' "
    "ORDER BY b.id DESC LIMIT %(limit)s"
)

# The page's transaction locks the row first: two processes never read the same page, and a
# cancel (which updates the row) is seen by the next page.
LOCK = "SELECT state, last_key FROM syncsvc.backfill WHERE id = %(id)s FOR UPDATE"

ADVANCE = """
UPDATE syncsvc.backfill SET last_key = COALESCE(%(last_key)s, last_key), pages = pages + 1,
       rows_read = rows_read + %(rows)s, queued = queued + %(queued)s, updated_at = now()
WHERE id = %(id)s
"""

MARK_READ = "UPDATE syncsvc.backfill SET read_at = now(), updated_at = now() WHERE id = %(id)s"

# What became of the records: delivered outbox rows still tagged with this backfill (a live
# version takes the tag over), and its dead letters (validation, mapping, push).
REFRESH = """
UPDATE syncsvc.backfill b SET
    pushed = (SELECT count(*) FROM syncsvc.outbox
              WHERE backfill_id = b.id AND status = 'delivered'),
    failed = (SELECT count(*) FROM syncsvc.dead_letter WHERE backfill_id = b.id),
    updated_at = now()
WHERE b.id = %(id)s
RETURNING pushed, failed,
    (SELECT count(*) FROM syncsvc.sync_event WHERE backfill_id = b.id) AS events_left,
    (SELECT count(*) FROM syncsvc.outbox
     WHERE backfill_id = b.id AND status = 'pending') AS pending
"""

CLAIM = """
UPDATE syncsvc.backfill SET state = 'running', error = NULL, pid = %(pid)s, host = %(host)s,
       updated_at = now(), finished_at = NULL
WHERE id = %(id)s AND state IN ('running', 'failed')
RETURNING id
"""

FINISH = """
UPDATE syncsvc.backfill SET state = %(state)s, error = %(error)s, finished_at = now(),
       updated_at = now()
WHERE id = %(id)s AND state = 'running'
"""

CANCEL = """
UPDATE syncsvc.backfill SET state = 'cancelled', finished_at = now(), updated_at = now()
WHERE id = %(id)s AND state IN ('running', 'failed')
RETURNING id
"""

# Events of a cancelled backfill that no bridge has claimed yet are dropped; claimed ones (and
# outbox rows already written) still go.
DROP_UNCLAIMED = """
DELETE FROM syncsvc.sync_event WHERE backfill_id = %(id)s AND dispatched_at IS NULL
"""

RULE_OF = "SELECT rule_name FROM syncsvc.backfill WHERE id = %(id)s"


@dataclass(frozen=True)
class Spec:
    """What a backfill reads and where it sends it."""

    connection_id: int
    source_table: str
    rule_name: str | None
    op: str
    key_columns: list[str]
    where_sql: str | None
    since: datetime | None
    since_column: str | None
    page_size: int


@dataclass(frozen=True)
class Progress:
    """A backfill as ``list``, ``status`` and ``/metrics`` show it."""

    id: int
    connection: str
    provider: str
    source_table: str
    rule_name: str | None
    state: str
    pages: int
    rows_read: int
    queued: int
    pushed: int
    failed: int
    reading: bool
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    elapsed_seconds: float
    where_sql: str | None
    last_key: dict[str, Any] | None
    pid: int | None
    host: str | None
    error: str | None


def _progress(r: Row) -> Progress:
    return Progress(
        id=int(r["id"]),
        connection=r["connection_name"],
        provider=r["provider"],
        source_table=r["source_table"],
        rule_name=r["rule_name"],
        state=r["state"],
        pages=int(r["pages"]),
        rows_read=int(r["rows_read"]),
        queued=int(r["queued"]),
        pushed=int(r["pushed"]),
        failed=int(r["failed"]),
        reading=r["read_at"] is None,
        started_at=r["started_at"],
        updated_at=r["updated_at"],
        finished_at=r["finished_at"],
        elapsed_seconds=float(r["elapsed_seconds"] or 0.0),
        where_sql=r["where_sql"],
        last_key=r["last_key"],
        pid=r["pid"],
        host=r["host"],
        error=r["error"],
    )


def whoami() -> dict[str, Any]:
    import os

    return {"pid": os.getpid(), "host": socket.gethostname()[:255]}


def create(db: psycopg.Connection[Row], spec: Spec) -> int:
    row = db.execute(CREATE, {**spec.__dict__, **whoami()}).fetchone()
    assert row is not None
    return int(row["id"])


def find_unfinished(db: psycopg.Connection[Row], spec: Spec) -> int | None:
    row = db.execute(FIND_UNFINISHED, spec.__dict__).fetchone()
    return int(row["id"]) if row else None


def get(db: psycopg.Connection[Row], backfill_id: int) -> Progress:
    row = db.execute(SELECT_ONE, {"id": backfill_id}).fetchone()
    if row is None:
        raise ConfigError(f"no backfill {backfill_id} (see `manage.py backfill list`)")
    return _progress(row)


def spec_of(db: psycopg.Connection[Row], backfill_id: int) -> Spec:
    row = db.execute("SELECT * FROM syncsvc.backfill WHERE id = %(id)s", {"id": backfill_id})
    r = row.fetchone()
    if r is None:
        raise ConfigError(f"no backfill {backfill_id} (see `manage.py backfill list`)")
    return Spec(
        connection_id=r["connection_id"],
        source_table=r["source_table"],
        rule_name=r["rule_name"],
        op=r["op"],
        key_columns=list(r["key_columns"]),
        where_sql=r["where_sql"],
        since=r["since"],
        since_column=r["since_column"],
        page_size=int(r["page_size"]),
    )


def recent(db: psycopg.Connection[Row], limit: int = 50) -> list[Progress]:
    rows = db.execute(SELECT_RECENT, {"limit": limit})
    return [_progress(r) for r in rows.fetchall()]


def active(db: psycopg.Connection[Row], limit: int = 100) -> list[Progress]:
    """Running backfills and those that ended in the last hour (``status``, ``/metrics``)."""
    rows = db.execute(SELECT_ACTIVE, {"limit": limit})
    return [_progress(r) for r in rows.fetchall()]


def lock(db: psycopg.Connection[Row], backfill_id: int) -> Row:
    """Lock the row for this page's transaction: its ``state`` and ``last_key``."""
    row = db.execute(LOCK, {"id": backfill_id}).fetchone()
    assert row is not None
    return row


def advance(
    db: psycopg.Connection[Row],
    backfill_id: int,
    last_key: dict[str, Any] | None,
    rows: int,
    queued: int,
) -> None:
    db.execute(
        ADVANCE,
        {
            "id": backfill_id,
            "last_key": Jsonb(last_key) if last_key is not None else None,
            "rows": rows,
            "queued": queued,
        },
    )


def mark_read(db: psycopg.Connection[Row], backfill_id: int) -> None:
    db.execute(MARK_READ, {"id": backfill_id})


@dataclass(frozen=True)
class Outcome:
    pushed: int
    failed: int
    events_left: int
    pending: int

    @property
    def settled(self) -> bool:
        """Every event persisted and every tagged outbox row delivered or dead."""
        return self.events_left == 0 and self.pending == 0


def refresh(db: psycopg.Connection[Row], backfill_id: int) -> Outcome:
    row = db.execute(REFRESH, {"id": backfill_id}).fetchone()
    assert row is not None
    return Outcome(
        int(row["pushed"]), int(row["failed"]), int(row["events_left"]), int(row["pending"])
    )


def claim(db: psycopg.Connection[Row], backfill_id: int) -> bool:
    """Mark an unfinished backfill as run by this process; False when it is finished."""
    return db.execute(CLAIM, {"id": backfill_id, **whoami()}).fetchone() is not None


def finish(
    db: psycopg.Connection[Row], backfill_id: int, state: str, error: str | None = None
) -> None:
    if state not in STATES:
        raise ValueError(f"unknown backfill state {state!r}")
    db.execute(FINISH, {"id": backfill_id, "state": state, "error": error})


def cancel(db: psycopg.Connection[Row], backfill_id: int) -> tuple[bool, int]:
    """Cancel a running (or failed) backfill; returns whether it was, and how many events
    not yet claimed by a bridge were dropped."""
    if db.execute(CANCEL, {"id": backfill_id}).fetchone() is None:
        return False, 0
    return True, db.execute(DROP_UNCLAIMED, {"id": backfill_id}).rowcount


def rule_of(db: psycopg.Connection[Row], backfill_id: int) -> str | None:
    """The one rule a backfill sends through, or None for all of its table's rules."""
    row = db.execute(RULE_OF, {"id": backfill_id}).fetchone()
    return row["rule_name"] if row else None
