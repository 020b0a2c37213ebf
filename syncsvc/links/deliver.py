"""Link the ready children of one connection to their parents at the CRM (push worker side).

Runs after a push that delivered rows (a parent that just arrived makes its children's links
ready) and whenever the sweeper finds ready links. Links are leased like outbox rows (a worker
that dies mid-call leaves them due again after the lease); the CRM's own link calls are
idempotent, so a link sent twice is one link.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from providers.base import LinkItem, LinkResult, ProviderClient
from syncsvc.db import Row, transaction
from syncsvc.errors import CredentialsRefused, RateLimited, SyncError
from syncsvc.links import store
from syncsvc.links.model import Association
from syncsvc.push.retry import PAUSE_DELAY, backoff
from syncsvc.scrub import MAX_ERROR_TEXT, error_text

log = logging.getLogger("syncsvc.links")
MAX_ROUNDS = 20
"""Batches of ready links one run takes at most (the rest waits for the next run)."""


@dataclass
class LinkOutcome:
    linked: int = 0
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
        for _ in range(MAX_ROUNDS):
            token = secrets.randbits(62)
            with transaction(self.dsn) as db:
                rows = store.lease_ready(
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
                self._link(self.associations[name], group, token, outcome)
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
        return outcome

    def _link(self, assoc: Association, rows: list[Row], token: int, outcome: LinkOutcome) -> None:
        items = [LinkItem(r["id"], str(r["child_id"]), str(r["parent_id"])) for r in rows]
        ids = [r["id"] for r in rows]
        try:
            results = self.client.link(
                assoc.child_object, assoc.parent_object, assoc.link_type, items
            )
        except RateLimited as exc:
            outcome.wait = exc.retry_after or 1.0
            self._fail(token, ids, exc, outcome.wait, count=False)
            return
        except CredentialsRefused as exc:
            outcome.paused = error_text(exc)
            self._fail(token, ids, exc, PAUSE_DELAY, count=False)
            return
        except SyncError as exc:
            results = [LinkResult(i, error=exc) for i in ids]
        except Exception as exc:  # a client bug must not lose links: try again later
            log.exception("provider client failed to link")
            results = [LinkResult(i, error=SyncError(repr(exc))) for i in ids]
        by_id = {r.link_id: r for r in results}
        parent_of = {r["id"]: r["parent_key"] for r in rows}
        linked = [
            {"id": i, "parent_key": parent_of[i]}
            for i in ids
            if (res := by_id.get(i)) is not None and res.error is None
        ]
        failed: dict[str, list[int]] = {}
        attempts = max((r["attempts"] for r in rows), default=0)
        for i in ids:
            res = by_id.get(i)
            error = SyncError("the CRM returned no result") if res is None else res.error
            if error is not None:
                failed.setdefault(error_text(error)[:MAX_ERROR_TEXT], []).append(i)
        with transaction(self.dsn) as db:
            store.record_linked(db, token, linked)
            for text, failed_ids in failed.items():
                store.record_failed(
                    db, token, failed_ids, text, backoff(attempts + 1), self.max_attempts
                )
        outcome.linked += len(linked)
        outcome.failed += sum(len(v) for v in failed.values())
        if failed:
            log.warning(
                "connection %s: %d link(s) of %s not made: %s",
                self.connection_id,
                outcome.failed,
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
