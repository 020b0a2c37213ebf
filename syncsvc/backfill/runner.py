"""Run one backfill: hold back while its connection is busy, write pages, wait for delivery.

The process that runs a backfill holds a session advisory lock on its id (a second process
refuses to run it; a killed one releases it with its connection). Each page is one
transaction: lock the backfill's row (a cancel is seen here), write the page's events
(``page``), advance ``last_key`` and the counts, commit. Killed at any point, the backfill
resumes after the last committed page: a page is never written twice nor skipped.

Sharing the connection's quota with live changes, in two places: before each page the runner
waits while the connection has more than ``max_backlog`` records waiting (this backfill's
events not yet persisted plus the connection's pending outbox rows), so a backfill never
queues more than that ahead of live changes; and the pusher sends backfill rows only while
more than the live share of the rate-limit window is free (``syncsvc.ratelimit``).

Once every page is read the runner waits until each of its events is persisted and each of
its outbox rows delivered or dead, then marks it done.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from syncsvc.backfill import store
from syncsvc.backfill.page import Target, count_rows, write_page
from syncsvc.capture import split_table_name
from syncsvc.db import Row, connect
from syncsvc.errors import ConfigError
from syncsvc.scrub import error_text

log = logging.getLogger("syncsvc.backfill")

ADVISORY_CLASS = 0x5BF1  # the first key of pg_advisory_lock(int, int): "this is a backfill"
WAIT_SECONDS = 0.5
"""How long the runner sleeps once every page is read, waiting for delivery."""
HOLD_SECONDS = 0.1
"""How long it sleeps while the connection's backlog is over ``max_backlog``: the pipeline drains
a full backlog in well under a second, so a longer hold leaves it idle."""
REFRESH_SECONDS = 1.0
REFRESH_SHARE = 0.05
"""The refresh counts every delivered row of the backfill (it grows with the table): it runs
at most this share of the time, so a million-row backfill does not spend its life counting."""
REFRESH_MAX_SECONDS = 15.0
"""…but at least this often: the end (every row settled) is seen by a refresh."""
RETRY_ERRORS = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
    psycopg.errors.QueryCanceled,
    psycopg.errors.SerializationFailure,
)
"""A page that met a live transaction's locks (or waited too long for them) is tried again."""

BACKLOG = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM syncsvc.sync_event
                              WHERE backfill_id = %(id)s LIMIT %(cap)s) AS e)
     + (SELECT count(*) FROM (SELECT 1 FROM syncsvc.outbox
                              WHERE connection_id = %(connection_id)s AND status = 'pending'
                              LIMIT %(cap)s) AS o) AS n
"""


def refresh_interval(last_refresh_seconds: float) -> float:
    """Seconds until the next progress refresh, given how long the last one took."""
    return min(REFRESH_MAX_SECONDS, max(REFRESH_SECONDS, last_refresh_seconds / REFRESH_SHARE))


@dataclass(frozen=True)
class Update:
    """What the runner reports after each step."""

    progress: store.Progress
    total: int | None
    """Rows the backfill reads in all (its remaining rows counted at start), if known."""
    holding: int | None
    """Records waiting at the connection, when the runner is holding back for them."""


class AlreadyRunning(ConfigError):
    pass


class Runner:
    def __init__(
        self,
        dsn: str,
        backfill_id: int,
        max_backlog: int,
        on_update: Callable[[Update], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.dsn = dsn
        self.backfill_id = backfill_id
        self.max_backlog = max_backlog
        self.on_update = on_update or (lambda _u: None)
        self.stop = stop or threading.Event()
        self.total: int | None = None

    def run(self) -> str:
        """Run to the end; returns the final state, or ``running`` when stopped (resumable).

        Both connections are in autocommit: every transaction is an explicit, short one (a
        statement outside one would otherwise open a transaction that holds its locks)."""
        with (
            connect(self.dsn, autocommit=True, application_name="syncsvc-backfill") as guard,
            connect(self.dsn, autocommit=True, application_name="syncsvc-backfill") as db,
        ):
            self._lock(guard)
            with db.transaction():
                claimed = store.claim(db, self.backfill_id)
            if not claimed:
                with db.transaction():
                    return store.get(db, self.backfill_id).state
            try:
                return self._run(db)
            except (ConfigError, psycopg.DataError, psycopg.ProgrammingError) as exc:
                with db.transaction():
                    store.finish(db, self.backfill_id, "failed", error_text(exc))
                raise

    def _lock(self, guard: psycopg.Connection[Row]) -> None:
        row = guard.execute(
            "SELECT pg_try_advisory_lock(%s, %s::integer) AS ok",
            (ADVISORY_CLASS, self.backfill_id % 2**31),
        ).fetchone()
        if row is None or not row["ok"]:
            with guard.transaction():
                p = store.get(guard, self.backfill_id)
            raise AlreadyRunning(
                f"backfill {self.backfill_id} is already running (pid {p.pid} on {p.host})"
            )

    def _run(self, db: psycopg.Connection[Row]) -> str:
        spec = store.spec_of(db, self.backfill_id)
        schema, name = split_table_name(spec.source_table)
        target = Target(schema, name, spec.key_columns, spec.where_sql, spec.since_column)
        with db.transaction():
            progress = store.get(db, self.backfill_id)
        self.total = progress.rows_read
        if progress.reading:  # the bar's total; a table too big to count in time has none
            self.total = None
            with contextlib.suppress(psycopg.errors.QueryCanceled), db.transaction():
                left = count_rows(db, target, progress.last_key, spec.since)
                self.total = progress.rows_read + left
        next_refresh = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_refresh:
                with db.transaction():
                    outcome = store.refresh(db, self.backfill_id)
                    progress = store.get(db, self.backfill_id)
                next_refresh = now + refresh_interval(time.monotonic() - now)
                if progress.state != "running":
                    self._report(progress, None)
                    return progress.state
                if not progress.reading and outcome.settled:
                    with db.transaction():
                        store.finish(db, self.backfill_id, "done")
                        progress = store.get(db, self.backfill_id)
                    self._report(progress, None)
                    return "done"
                self._report(progress, None)
            if not progress.reading:
                self.stop.wait(WAIT_SECONDS)
                continue
            waiting = self._backlog(db, spec.connection_id)
            if waiting > self.max_backlog:
                self._report(progress, waiting)
                self.stop.wait(HOLD_SECONDS)
                continue
            state = self._page(db, spec, target)
            if state != "running":
                with db.transaction():
                    progress = store.get(db, self.backfill_id)
                self._report(progress, None)
                return state
            with db.transaction():
                progress = store.get(db, self.backfill_id)
            self._report(progress, None)
        return "running"

    def _page(self, db: psycopg.Connection[Row], spec: store.Spec, target: Target) -> str:
        """Write one page (or mark reading done); returns the backfill's state."""
        for attempt in range(1, 6):
            try:
                with db.transaction():
                    row = store.lock(db, self.backfill_id)
                    if row["state"] != "running":
                        return str(row["state"])
                    page = write_page(
                        db,
                        target,
                        backfill_id=self.backfill_id,
                        connection_id=spec.connection_id,
                        op=spec.op,
                        last_key=row["last_key"],
                        since=spec.since,
                        page_size=spec.page_size,
                    )
                    if page.rows == 0:
                        store.mark_read(db, self.backfill_id)
                    else:
                        store.advance(db, self.backfill_id, page.last_key, page.rows, page.queued)
                return "running"
            except RETRY_ERRORS as exc:
                log.info("backfill %d: page tried again (%s)", self.backfill_id, error_text(exc))
                self.stop.wait(min(5.0, 0.2 * attempt))
        raise ConfigError(
            f"backfill {self.backfill_id}: a page failed 5 times on locks held by other "
            "transactions; run it again to continue"
        )

    def _backlog(self, db: psycopg.Connection[Row], connection_id: int) -> int:
        with db.transaction():
            row = db.execute(
                BACKLOG,
                {
                    "id": self.backfill_id,
                    "connection_id": connection_id,
                    "cap": self.max_backlog + 1,
                },
            ).fetchone()
        return int(row["n"]) if row else 0

    def _report(self, progress: store.Progress, holding: int | None) -> None:
        self.on_update(Update(progress, self.total, holding))
