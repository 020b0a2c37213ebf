"""Before a push overwrites a record, look at what the CRM holds: an edit made there since our
last delivery that the inbound path has not seen yet is decided by the conflict policy first.

Without this, a push that reaches the CRM before the poll (or a late webhook) has read a sales
rep's edit overwrites it, and the poll then reads back our own value: the edit is lost whatever
the policy says. So, on a CRM whose reads spell each field as the payload does
(``ProviderClient.READ_BEFORE_PUSH``: HubSpot and Salesforce; the others push as before), for
an object whose inbound policy can let the CRM win (``crm_wins``, ``last_write_wins``, or
columns the CRM owns; ``conflict.crm_may_win``), the pusher reads the records it is about to
update (``read_records``, by their CRM ids, in the client's batch reads
and through the connection's rate limit) before it sends them. A record is looked at further
only when the push would overwrite, in a field mapped back, a value that is neither the one
sent nor the one last delivered there (``outbox.delivered_payload``): the CRM changed it since.
Such a record goes through the inbound apply path (``syncsvc.inbound.apply.apply_before_push``):
the same rule decides each column and records each conflict in ``sync_log``, and the columns
the CRM won are written to the internal row with the connection's origin (echo suppression:
not pushed back), their CRM values joining ``delivered_payload`` (what the CRM is known to
hold: ``syncsvc.inbound.echo``). Their fields then leave the payload (in the outbox row too, so
that a retry of this version does not send them); the rest of the record is pushed.

Rows the guard leaves alone: creates and archives, rows never delivered (nothing of ours at the
CRM to have been changed), rows without the CRM's id, objects of an ``inbox`` target, and
every object when the policy is ``internal_wins`` (the push's value is the answer anyway; the
CRM's unseen edit is then overwritten without a ``conflict`` row). A record the CRM no longer
has is pushed as before. A failed read or a failed write of the row makes the rows concerned a
retry (the CRM edit must not be overwritten unseen); a rate limit or refused credentials on the
read are the push's own (a wait, a pause).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from providers.base import CrmRecord, ProviderClient, PushItem
from syncsvc.db import Row, transaction
from syncsvc.errors import AuthExpired, CredentialsRefused, RateLimited, RetryableError, SyncError
from syncsvc.inbound import conflict
from syncsvc.inbound.apply import Target, apply_before_push
from syncsvc.inbound.echo import unseen_crm_change
from syncsvc.scrub import error_text

log = logging.getLogger("syncsvc.push")
GUARDED_OPS = frozenset({"upsert", "update"})
ATTEMPTS = 5

# The row's lease still ours, and whether a newer internal change of its record is under way
# (a newer version persisted, or a captured event not from this connection's inbound writes).
STATE = """
SELECT (o.version <> %(version)s OR EXISTS (
           SELECT 1 FROM syncsvc.sync_event e
           WHERE e.table_name = o.source_table AND e.pk ->> %(key_column)s = o.record_key
             AND e.origin IS DISTINCT FROM %(origin)s)) AS newer
FROM syncsvc.outbox o
WHERE o.id = %(id)s AND o.lease_token = %(token)s
"""

# The fields the CRM won leave the payload (the apply noted the CRM's values of them as what
# it holds: ``syncsvc.inbound.echo.took``).
LEAVE_TO_CRM = """
UPDATE syncsvc.outbox SET payload = payload - %(fields)s::text[]
WHERE id = %(id)s AND lease_token = %(token)s
"""


class LeaseLost(SyncError):
    """The row's lease ended while the guard looked at it (another push holds it now)."""


@dataclass(frozen=True)
class PushGuard:
    """Reads, before a push, the records one connection's push would overwrite."""

    dsn: str
    client: ProviderClient
    targets: Mapping[str, Target]
    """The connection's inbound targets by object; only objects whose policy can let the CRM
    win are looked at."""

    def check(
        self, obj: str, rows: Sequence[Row], items: Sequence[PushItem], token: int
    ) -> dict[int, SyncError]:
        """Look at ``items`` (leased with ``token``; ``rows`` are their leased outbox rows, in
        the same order) before they are pushed; the payloads of those whose fields the CRM won
        lose those fields. Returns the rows that must not be sent now, with why (a retry)."""
        target = self.targets.get(obj)
        if target is None or target.spec.inbox or not conflict.crm_may_win(target.spec):
            return {}
        watched = [
            (row, item)
            for row, item in zip(rows, items, strict=True)
            if item.op in GUARDED_OPS
            and item.external_id
            and row["delivered_payload"] is not None
            and row["source_table"] == target.spec.table
        ]
        if not watched:
            return {}
        ids = [str(item.external_id) for _, item in watched]
        try:
            records = self.client.read_records(obj, ids, target.spec.crm_fields)
        except (RateLimited, CredentialsRefused, AuthExpired):
            raise
        except SyncError as exc:
            error = RetryableError(f"reading the records before the push failed: {error_text(exc)}")
            return {item.outbox_id: error for _, item in watched}
        failed: dict[int, SyncError] = {}
        for row, item in watched:
            record = records.get(str(item.external_id))
            if record is None or not unseen_crm_change(
                target.spec, record.fields, item.payload, row["delivered_payload"]
            ):
                continue
            try:
                kept = self._decide(target, record, item, token)
            except (psycopg.Error, LeaseLost) as exc:
                log.warning(
                    "%s %s: deciding before the push failed: %s",
                    obj,
                    error_text(item.record_key, 100),
                    error_text(exc),
                )
                failed[item.outbox_id] = RetryableError(
                    f"the CRM's newer values could not be applied before the push: "
                    f"{error_text(exc)}"
                )
                continue
            if kept:
                item.payload = {k: v for k, v in item.payload.items() if k not in kept}
        return failed

    def _decide(
        self, target: Target, record: CrmRecord, item: PushItem, token: int
    ) -> dict[str, Any]:
        """One record in a transaction of its own (it locks the row and its outbox row only);
        returns the CRM's values of the fields it won (left out of the push)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction(self.dsn) as db:
                    return self._apply(db, target, record, item, token)
            except psycopg.errors.DeadlockDetected:
                if attempt == ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _apply(
        self,
        db: psycopg.Connection[Row],
        target: Target,
        record: CrmRecord,
        item: PushItem,
        token: int,
    ) -> dict[str, Any]:
        spec = target.spec
        params = {
            "id": item.outbox_id,
            "token": token,
            "version": item.version,
            "key_column": spec.key_column,
            "origin": target.origin,
        }
        state = db.execute(STATE, params).fetchone()
        if state is None:
            raise LeaseLost(f"outbox row {item.outbox_id}: lease lost")
        origin = "" if state["newer"] else target.origin
        outcome = apply_before_push(db, target, record, item.record_key, origin)
        won = set(outcome.written)
        fields = [str(m["source"]) for m in spec.mappings if m["target"] in won]
        kept = {f: record.fields.get(f) for f in fields}
        if kept:
            db.execute(LEAVE_TO_CRM, {"id": item.outbox_id, "token": token, "fields": fields})
        return kept
