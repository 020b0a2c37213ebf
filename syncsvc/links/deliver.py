"""Link the ready children of one connection to their parents at the CRM, and clear the links
of children that left their parent (push worker side).

Runs after a push that delivered rows (a parent that just arrived makes its children's links
ready; a child delivered after its column became NULL makes its unlink ready) and whenever the
sweeper finds ready links. Links are leased like outbox rows (a worker that dies mid-call
leaves them due again after the lease); the CRM's own link and unlink calls are idempotent, so
a link sent twice is one link, and clearing a link twice clears it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from providers.base import LinkItem, LinkResult, ProviderClient, UnlinkItem
from syncsvc.db import Row, transaction
from syncsvc.errors import CredentialsRefused, RateLimited, SyncError
from syncsvc.links import store
from syncsvc.links.model import Association
from syncsvc.push.retry import PAUSE_DELAY, backoff
from syncsvc.scrub import MAX_ERROR_TEXT, error_text

log = logging.getLogger("syncsvc.links")
Lease = Callable[[psycopg.Connection[Row], int, list[str], int, int, int], list[Row]]
"""``store.lease_ready`` or ``store.lease_unlinks``."""
Send = Callable[[Association, list[Row], int, "LinkOutcome"], None]
MAX_ROUNDS = 20
"""Batches of ready links one run takes at most (the rest waits for the next run)."""


@dataclass
class LinkOutcome:
    linked: int = 0
    unlinked: int = 0
    failed: int = 0
    wait: float | None = None
    """The CRM asked us to wait this long (the unsent links are due again then)."""
    paused: str | None = None
    """The CRM refused the credentials (its scrubbed message)."""


class Linker:
    def __init__(
        self,
        dsn: str,
        connection_id: int,
        client: ProviderClient,
        associations: Sequence[Association],
        batch_size: int,
        max_attempts: int,
        lease_seconds: int,
    ) -> None:
        self.dsn = dsn
        self.connection_id = connection_id
        self.client = client
        self.associations = {a.name: a for a in associations}
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.lease_seconds = lease_seconds

    def run(self) -> LinkOutcome:
        outcome = LinkOutcome()
        if not self.associations:
            return outcome
        self._rounds(store.lease_unlinks, self._unlink, outcome)
        if outcome.wait is None and outcome.paused is None:
            self._rounds(store.lease_ready, self._link, outcome)
        return outcome

    def _rounds(self, lease: Lease, send: Send, outcome: LinkOutcome) -> None:
        """Lease batches with ``lease`` and hand them to ``send`` per association, until none
        is left, ``MAX_ROUNDS`` were taken or the CRM asked us to wait."""
        for _ in range(MAX_ROUNDS):
            token = secrets.randbits(62)
            with transaction(self.dsn) as db:
                rows = lease(
                    db,
                    self.connection_id,
                    list(self.associations),
                    token,
                    self.lease_seconds,
                    self.batch_size,
                )
            if not rows:
                break
            groups: dict[str, list[Row]] = {}
            for row in rows:
                groups.setdefault(row["association"], []).append(row)
            pending = list(groups.items())
            while pending and outcome.wait is None and outcome.paused is None:
                name, group = pending.pop(0)
                send(self.associations[name], group, token, outcome)
            if outcome.wait is not None or outcome.paused is not None:
                unsent = [r["id"] for _, group in pending for r in group]
                delay = PAUSE_DELAY if outcome.paused is not None else outcome.wait or 1.0
                with transaction(self.dsn) as db:
                    store.record_failed(
                        db, token, unsent, "waiting for the CRM", delay, self.max_attempts, False
                    )
                break
            if len(rows) < self.batch_size:
                break

    def _link(self, assoc: Association, rows: list[Row], token: int, outcome: LinkOutcome) -> None:
        items = [
            LinkItem(
                r["id"],
                str(r["child_id"]),
                str(r["parent_id"]),
                _text(r["previous_parent_id"]),
            )
            for r in rows
        ]
        results = self._call(
            lambda: self.client.link(
                assoc.child_object, assoc.parent_object, assoc.link_type, items
            ),
            rows,
            token,
            outcome,
        )
        if results is None:
            return
        parent_of = {r["id"]: r["parent_key"] for r in rows}
        done, failed = self._sort(rows, results)
        with transaction(self.dsn) as db:
            store.record_linked(db, token, [{"id": i, "parent_key": parent_of[i]} for i in done])
            self._record_failed(db, rows, token, failed)
        outcome.linked += len(done)
        self._count_failed(assoc, "link(s)", failed, outcome)

    def _unlink(
        self, assoc: Association, rows: list[Row], token: int, outcome: LinkOutcome
    ) -> None:
        """Clear the links the children left; a child deleted at the CRM has none to clear."""
        gone = [r["id"] for r in rows if r["child_gone"]]
        rows = [r for r in rows if not r["child_gone"]]
        results: list[LinkResult] | None = []
        if rows:
            items = [UnlinkItem(r["id"], str(r["child_id"]), _text(r["parent_id"])) for r in rows]
            results = self._call(
                lambda: self.client.unlink(
                    assoc.child_object, assoc.parent_object, assoc.link_type, items
                ),
                rows,
                token,
                outcome,
            )
        done, failed = self._sort(rows, results or [])
        if results is None:  # recorded as waiting by ``_call``
            done, failed = [], {}
        with transaction(self.dsn) as db:
            store.record_unlinked(db, token, done + gone)
            self._record_failed(db, rows, token, failed)
        outcome.unlinked += len(done) + len(gone)
        self._count_failed(assoc, "unlink(s)", failed, outcome)

    def _call(
        self,
        send: Callable[[], list[LinkResult]],
        rows: list[Row],
        token: int,
        outcome: LinkOutcome,
    ) -> list[LinkResult] | None:
        """The CRM's answer per link; None when the whole call is to wait (rate limited,
        credentials refused: recorded here, without counting an attempt)."""
        ids = [r["id"] for r in rows]
        try:
            return send()
        except RateLimited as exc:
            outcome.wait = exc.retry_after or 1.0
            self._fail(token, ids, exc, outcome.wait, count=False)
        except CredentialsRefused as exc:
            outcome.paused = error_text(exc)
            self._fail(token, ids, exc, PAUSE_DELAY, count=False)
        except SyncError as exc:
            return [LinkResult(i, error=exc) for i in ids]
        except Exception as exc:  # a client bug must not lose links: try again later
            log.exception("provider client failed to link or unlink")
            return [LinkResult(i, error=SyncError(repr(exc))) for i in ids]
        return None

    @staticmethod
    def _sort(rows: list[Row], results: list[LinkResult]) -> tuple[list[int], dict[str, list[int]]]:
        """The links the CRM took, and the others by their error's text."""
        by_id = {r.link_id: r for r in results}
        done: list[int] = []
        failed: dict[str, list[int]] = {}
        for i in (r["id"] for r in rows):
            res = by_id.get(i)
            error = SyncError("the CRM returned no result") if res is None else res.error
            if error is None:
                done.append(i)
            else:
                failed.setdefault(error_text(error)[:MAX_ERROR_TEXT], []).append(i)
        return done, failed

    def _record_failed(
        self, db: psycopg.Connection[Row], rows: list[Row], token: int, failed: dict[str, list[int]]
    ) -> None:
        attempts = max((r["attempts"] for r in rows), default=0)
        for text, failed_ids in failed.items():
            store.record_failed(
                db, token, failed_ids, text, backoff(attempts + 1), self.max_attempts
            )

    def _count_failed(
        self, assoc: Association, what: str, failed: dict[str, list[int]], outcome: LinkOutcome
    ) -> None:
        count = sum(len(v) for v in failed.values())
        outcome.failed += count
        if failed:
            log.warning(
                "connection %s: %d %s of %s not made: %s",
                self.connection_id,
                count,
                what,
                assoc.name,
                "; ".join(failed),
            )

    def _fail(
        self, token: int, ids: list[int], error: SyncError, delay: float, count: bool
    ) -> None:
        with transaction(self.dsn) as db:
            store.record_failed(
                db, token, ids, error_text(error)[:MAX_ERROR_TEXT], delay, self.max_attempts, count
            )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
