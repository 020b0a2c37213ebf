"""The conflict policy: which side's value a column keeps when both sides changed it.

A column conflicts when the CRM reports a value that differs from the internal row while the
internal side has a change of its own not yet delivered to that CRM (an outbox row above its
delivered version, or a captured event not from this connection). ``internal_wins`` keeps the
row's value (the pending push then overwrites the CRM); ``crm_wins`` takes the CRM's; with
``last_write_wins`` the CRM's modification time is held against the time of the internal change;
``internal_owns`` (``ownership.internal``) never takes a CRM value. Every conflict is one
``sync_log`` row (status ``conflict``) with both values and the winner; the same conflict seen
again (by the inbound path and then by the push's read before it writes,
``syncsvc.push.guard``) adds no second row.

The time of the internal change is when it was captured (``sync_event.created_at``, copied to
``outbox.changed_at`` by persist), not when the pipeline persisted it: a CRM edit made between
the two is the newer write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.inbound.model import InboundObject, Policy
from syncsvc.outbox.synclog import clip

PENDING = """
SELECT
    (SELECT max(COALESCE(o.changed_at, o.updated_at)) FROM syncsvc.outbox o
     WHERE o.connection_id = %(connection_id)s AND o.object = %(object)s
       AND o.record_key = %(record_key)s
       AND (o.delivered_version IS NULL OR o.version > o.delivered_version)) AS outbox_at,
    (SELECT max(e.created_at) FROM syncsvc.sync_event e
     WHERE e.table_name = %(table)s AND e.pk = %(pk)s
       AND e.origin IS DISTINCT FROM %(origin)s) AS event_at
"""

LOG_CONFLICTS = """
INSERT INTO syncsvc.sync_log
    (connection_id, object, record_key, version, op, status, external_id, error_code,
     error_message, attempt)
SELECT %(connection_id)s, %(object)s, %(record_key)s, 0, 'update', 'conflict', %(crm_id)s,
       c.code, c.message, 0
FROM jsonb_to_recordset(%(conflicts)s) AS c(code text, message text)
WHERE c.message IS DISTINCT FROM (
    SELECT l.error_message FROM syncsvc.sync_log l
    WHERE l.connection_id = %(connection_id)s AND l.record_key = %(record_key)s
      AND l.object = %(object)s AND l.status = 'conflict' AND l.error_code = c.code
    ORDER BY l.id DESC LIMIT 1
)
"""


@dataclass(frozen=True)
class Conflict:
    column: str
    internal: Any
    crm: Any
    policy: Policy
    crm_won: bool

    def message(self) -> str:
        winner = "crm" if self.crm_won else "internal"
        return (
            f"{self.column}: internal={json.dumps(self.internal, default=str)} "
            f"crm={json.dumps(self.crm, default=str)} policy={self.policy} winner={winner}"
        )


def internal_change_at(
    db: psycopg.Connection[Row],
    connection_id: int,
    obj: str,
    table: str,
    pk: dict[str, Any],
    record_key: str,
    origin: str,
) -> datetime | None:
    """When the internal side last changed the record without that change having reached this
    connection's CRM yet; None when nothing is pending."""
    params = {
        "connection_id": connection_id,
        "object": obj,
        "record_key": record_key,
        "table": table,
        "pk": Jsonb(pk),
        "origin": origin,
    }
    row = db.execute(PENDING, params).fetchone()
    if row is None:
        return None
    times = [t for t in (row["outbox_at"], row["event_at"]) if t is not None]
    return max(times) if times else None


def crm_may_win(spec: InboundObject) -> bool:
    """Whether the policy can let the CRM's value of any mapped column win over an internal
    change: then a push must look at the CRM record before it overwrites it."""
    return any(spec.policy_for(c) in ("crm_wins", "last_write_wins") for c in spec.writable)


def crm_wins(policy: Policy, pending_since: datetime | None, crm_modified: datetime | None) -> bool:
    """Whether the CRM's differing value is taken."""
    if policy == "internal_owns":
        return False
    if pending_since is None or policy == "crm_wins":
        return True
    if policy == "last_write_wins":
        return crm_modified is not None and crm_modified > pending_since
    return False


def log_conflicts(
    db: psycopg.Connection[Row],
    connection_id: int,
    obj: str,
    record_key: str,
    crm_id: str,
    conflicts: list[Conflict],
) -> None:
    if not conflicts:
        return
    rows = [{"code": c.column, "message": clip(c.message())} for c in conflicts]
    params = {
        "connection_id": connection_id,
        "object": obj,
        "record_key": record_key,
        "crm_id": crm_id,
        "conflicts": Jsonb(rows),
    }
    db.execute(LOG_CONFLICTS, params)
