"""Send leased outbox rows to the CRM and record what happened to each one."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from providers.base import NoJournal, ProviderClient, PushItem, PushResult, WriteJournal
from syncsvc.db import Row, transaction
from syncsvc.errors import CredentialsRefused, PermanentError, RateLimited, SyncError
from syncsvc.kinds import PUSH_OPS, PushOp, parse
from syncsvc.outbox import lease, synclog, versions
from syncsvc.outbox.journal import OutboxJournal
from syncsvc.pipeline.batch import PushGroup
from syncsvc.push.guard import PushGuard
from syncsvc.push.retry import PAUSE_DELAY, decide
from syncsvc.ratelimit import yielding_to_live
from syncsvc.scrub import MAX_ERROR_TEXT, error_text

log = logging.getLogger("syncsvc.push")
RELEASE_LIMIT = 5_000
SETTLE_ATTEMPTS = 5


@dataclass
class PushOutcome:
    delivered: int = 0
    dead: int = 0
    retried: int = 0
    waited: int = 0
    again_now: list[PushGroup] = field(default_factory=list)
    """Rows whose version moved while they were pushed: send them again right away."""
    later: list[tuple[float, PushGroup]] = field(default_factory=list)
    """Rows to try again after a delay (seconds)."""
    paused: str | None = None
    """The CRM refused the connection's credentials (its scrubbed message): pause it. The rows
    concerned were rescheduled without counting an attempt; the rest was not leased."""
    yielded: list[PushGroup] = field(default_factory=list)
    """Rows not leased because ``run``'s ``yield_to`` said other work waits: send them later."""


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _regroup(chunks: list[tuple[PushGroup, list[int]]]) -> list[PushGroup]:
    """Chunks of groups merged back into one group per object and op."""
    rest: dict[tuple[str, PushOp], list[int]] = {}
    for g, chunk in chunks:
        rest.setdefault((g["object"], g["op"]), []).extend(chunk)
    return [PushGroup(object=o, op=op, ids=i) for (o, op), i in rest.items()]


def _entry(
    item: PushItem, status: str, attempt: int, duration_ms: int | None, result: PushResult | None
) -> synclog.LogEntry:
    error = result.error if result is not None else None
    return {
        "object": item.object,
        "record_key": item.record_key,
        "version": item.version,
        "op": item.op,
        "status": status,
        "external_id": (result.external_id if result is not None else None) or item.external_id,
        "http_status": synclog.http_status_of(error) if error is not None else None,
        "error_code": synclog.error_code_of(error) if error is not None else None,
        "error_message": synclog.clip(str(error)) if error is not None else None,
        "duration_ms": duration_ms,
        "attempt": attempt,
    }


def _items(rows: list[dict[str, Any]], journal: WriteJournal | None = None) -> list[PushItem]:
    return [
        PushItem(
            outbox_id=r["id"],
            object=r["object"],
            op=r["op"],
            record_key=r["record_key"],
            id_property=r["id_property"],
            id_value=r["id_value"],
            payload=r["payload"],
            external_id=r["external_id"],
            version=r["version"],
            maybe_sent=r["maybe_sent"],
            since_create=r["since_create"],
            journal=journal or NoJournal(),
        )
        for r in rows
    ]


class Pusher:
    """Pushes groups of outbox rows of one connection through one provider client."""

    def __init__(
        self,
        dsn: str,
        connection_id: int,
        client: ProviderClient,
        batch_size: int,
        max_attempts: int,
        lease_seconds: int,
        on_count: Callable[[str, int], None] | None = None,
        holder: str | None = None,
        guard: PushGuard | None = None,
    ) -> None:
        """``holder`` names this worker incarnation in the leases it takes (tasks.redelivery);
        ``guard`` reads the records an update would overwrite first (``syncsvc.push.guard``)."""
        self.guard = guard
        self.dsn = dsn
        self.holder = holder
        self.connection_id = connection_id
        self.client = client
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds
        self.on_count = on_count or (lambda _name, _n: None)

    def run(
        self, groups: list[PushGroup], yield_to: Callable[[], bool] | None = None
    ) -> PushOutcome:
        """Push ``groups`` a batch at a time. ``yield_to``, asked between batches: when True the
        remaining rows are left unleased in ``outcome.yielded``."""
        outcome = PushOutcome()
        pending = [(g, chunk) for g in groups for chunk in _chunks(g["ids"], self.batch_size)]
        while pending and outcome.paused is None:
            group, ids = pending.pop(0)
            wait = self._push_chunk(group, ids, outcome)
            if wait is not None:
                outcome.later.extend((wait, g) for g in _regroup([(group, ids), *pending]))
                break
            if pending and yield_to is not None and yield_to():
                outcome.yielded = _regroup(pending)
                break
        self.on_count("pushed", outcome.delivered)
        self.on_count("failed", outcome.dead)
        self.on_count("retried", outcome.retried)
        self.on_count("rate_limit_waits", outcome.waited)
        return outcome

    def _lease(self, ids: list[int], token: int) -> list[dict[str, Any]]:
        leased: list[dict[str, Any]] = []

        def take(db: psycopg.Connection[Row]) -> None:
            leased[:] = lease.lease(
                db, self.connection_id, ids, token, self.holder, self.lease_seconds
            )

        self._settle(take)
        return leased

    def _push_chunk(self, group: PushGroup, ids: list[int], outcome: PushOutcome) -> float | None:
        """Push one chunk; returns a wait in seconds when the connection is rate-limited.

        Rows are sent with the op and object they have now (read with the lease), not the ones
        they had when the push was ordered: a record deleted meanwhile must go as an archive.
        """
        token = secrets.randbits(62)
        rows = self._lease(ids, token)
        by_kind: dict[tuple[str, PushOp], list[dict[str, Any]]] = {}
        for row in rows:
            by_kind.setdefault((row["object"], parse(row["op"], PUSH_OPS, "push op")), []).append(
                row
            )
        kinds = list(by_kind.items())
        journal = OutboxJournal(self.dsn, token, {r["id"]: r["since_create"] for r in rows})
        for index, ((obj, op), kind_rows) in enumerate(kinds):
            items = _items(kind_rows, journal)
            attempts = {r["id"]: r["attempts"] for r in kind_rows}
            fresh = {r["id"] for r in kind_rows if not r["was_leased"]}
            started = time.monotonic()
            # rows all from a backfill leave the live changes' share of the rate limit alone
            backfill = all(r.get("backfill_id") is not None for r in kind_rows)
            try:
                with yielding_to_live() if backfill else contextlib.nullcontext():
                    results = self._send(obj, op, kind_rows, items, token)
            except RateLimited as exc:
                unsent = [r for _, later in kinds[index:] for r in later]
                wait = exc.retry_after or 1.0
                self._hold(unsent, token, wait, exc, "wait", started)
                outcome.waited += len(unsent)
                return wait
            except CredentialsRefused as exc:
                unsent = [r for _, later in kinds[index:] for r in later]
                outcome.paused = self._hold(unsent, token, PAUSE_DELAY, exc, "pause", started)
                return None
            except SyncError as exc:
                results = [PushResult(outbox_id=i.outbox_id, error=exc) for i in items]
            except Exception as exc:  # a client bug must not lose rows: treat it as retryable
                log.exception("provider client failed")
                error = SyncError(repr(exc))
                results = [PushResult(outbox_id=i.outbox_id, error=error) for i in items]
            elapsed = int((time.monotonic() - started) * 1000)
            self._record(
                items,
                results,
                attempts,
                token,
                PushGroup(object=obj, op=op, ids=[]),
                outcome,
                elapsed,
                fresh,
            )
        return None

    def _send(
        self,
        obj: str,
        op: PushOp,
        rows: list[dict[str, Any]],
        items: list[PushItem],
        token: int,
    ) -> list[PushResult]:
        """The guard's look at the CRM first (it may take fields out of payloads, or hold rows
        back as retries), then one push of the rest."""
        held = self.guard.check(obj, rows, items, token) if self.guard is not None else {}
        send = [i for i in items if i.outbox_id not in held]
        results = self.client.push(obj, op, send) if send else []
        return results + [PushResult(outbox_id=i, error=e) for i, e in held.items()]

    def _record(
        self,
        items: list[PushItem],
        results: list[PushResult],
        attempts: dict[int, int],
        token: int,
        group: PushGroup,
        outcome: PushOutcome,
        duration_ms: int | None = None,
        fresh: set[int] | None = None,
    ) -> None:
        """``fresh``: rows no earlier lease took (a wait leaves them not ``maybe_sent``)."""
        by_id = {r.outbox_id: r for r in results}
        sent_versions = {i.outbox_id: i.version for i in items}
        delivered: list[versions.Delivered] = []
        dead: list[versions.Dead] = []
        retry: dict[tuple[float, bool], list[int]] = {}
        log_entries: list[synclog.LogEntry] = []
        for item in items:
            result = by_id.get(item.outbox_id) or PushResult(
                item.outbox_id, error=SyncError("the CRM returned no result for this record")
            )
            attempt = attempts.get(item.outbox_id, 0) + 1
            if result.error is None:
                log_entries.append(_entry(item, "delivered", attempt, duration_ms, result))
                delivered.append(
                    {
                        "id": item.outbox_id,
                        "version": item.version,
                        "external_id": result.external_id,
                        "payload": item.payload,
                    }
                )
                continue
            decision = decide(result.error, attempts.get(item.outbox_id, 0), self.max_attempts)
            log_entries.append(_entry(item, decision.kind, attempt, duration_ms, result))
            if decision.kind == "dead":
                field_name = (
                    result.error.field if isinstance(result.error, PermanentError) else None
                )
                dead.append(
                    {
                        "id": item.outbox_id,
                        "version": sent_versions[item.outbox_id],
                        "reason": decision.reason,
                        "field": field_name,
                    }
                )
            else:
                if decision.kind == "pause":
                    outcome.paused = decision.reason
                key = (round(decision.delay, 3), decision.kind == "retry")
                retry.setdefault(key, []).append(item.outbox_id)
        recovered = any(attempts.get(d["id"], 0) > 0 for d in delivered)
        again: list[PushGroup] = []

        def settle(db: psycopg.Connection[Row]) -> None:
            again.clear()
            if delivered:
                for r in versions.record_delivered(db, token, delivered):
                    if r["status"] == "pending":
                        again.append(PushGroup(object=r["object"], op=r["op"], ids=[r["id"]]))
            if recovered:
                released = lease.release_backoff(db, self.connection_id, RELEASE_LIMIT)
                again.extend(
                    PushGroup(object=r["object"], op=r["op"], ids=[r["id"]]) for r in released
                )
            if dead:
                versions.mark_dead(db, token, dead)
            for (delay, counts), ids in retry.items():
                errors = {
                    error_text(res.error)
                    for i in ids
                    if (res := by_id.get(i)) is not None and res.error is not None
                }
                error = "; ".join(sorted(errors))[:MAX_ERROR_TEXT] or None
                unsent = [] if counts else [i for i in ids if i in (fresh or set())]
                lease.reschedule(db, ids, token, delay, error, count_attempt=counts, unsent=unsent)
            synclog.record(db, self.connection_id, log_entries)

        self._settle(settle)
        outcome.again_now.extend(again)
        for (delay, counts), ids in retry.items():
            outcome.later.append(
                (delay, PushGroup(object=group["object"], op=group["op"], ids=ids))
            )
            if counts:
                outcome.retried += len(ids)
            else:
                outcome.waited += len(ids)
        outcome.delivered += len(delivered)
        outcome.dead += len(dead)

    def _hold(
        self,
        rows: list[dict[str, Any]],
        token: int,
        delay: float,
        error: SyncError,
        status: str,
        started: float,
    ) -> str:
        """A rate limit or refused credentials before these rows were sent: due again in
        ``delay``, not an attempt, each logged with ``status``; returns the error's text."""
        text = error_text(error)
        elapsed = int((time.monotonic() - started) * 1000)
        entries = [
            _entry(i, status, r["attempts"] + 1, elapsed, PushResult(r["id"], error=error))
            for r, i in zip(rows, _items(rows), strict=True)
        ]

        def settle(db: psycopg.Connection[Row]) -> None:
            lease.reschedule(
                db,
                [r["id"] for r in rows],
                token,
                delay,
                text[:MAX_ERROR_TEXT],
                count_attempt=False,
                unsent=[r["id"] for r in rows if not r["was_leased"]],
            )
            synclog.record(db, self.connection_id, entries)

        self._settle(settle)
        return text

    def _settle(self, work: Callable[[psycopg.Connection[Row]], None]) -> None:
        """Run ``work`` in one transaction. Leasing and settling lock the rows they update in
        id order while persist locks them in key order: under concurrent updates PostgreSQL
        may pick this transaction as a deadlock victim and roll it back whole; it then runs
        again (left failed, its rows would wait out their lease or the sweeper)."""
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                with transaction(self.dsn) as db:
                    work(db)
                return
            except psycopg.errors.DeadlockDetected:
                if attempt == SETTLE_ATTEMPTS:
                    raise
                log.info("settling a push met a deadlock; running it again")
                time.sleep(0.05 * attempt)


def release_leases_of(dsn: str, holders: list[str]) -> int:
    """End the leases of dead worker incarnations; returns how many rows they held."""
    with transaction(dsn) as db:
        return lease.release_held_by(db, holders)
