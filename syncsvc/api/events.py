"""``POST /v1/events``: changes from systems that cannot run a trigger, into ``sync_event``.

From ``sync_event`` on they take exactly the trigger's path (bridge → chain → outbox). The
request is checked as a whole first: one bad event refuses the batch with every problem named,
and nothing is written. Events go only to the key's own connection (``targets``), so a tenant's
key cannot put changes into another tenant's CRM. A client event id makes a retry harmless: an
id already seen for the connection (within the retention period) is reported as a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.api.errors import ApiError, Problem, bad_request
from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.validation.registry import internal_spec

OPS = {"insert": "I", "update": "U", "delete": "D"}
EVENT_FIELDS = {"table", "op", "key", "row", "id"}
MAX_KEY_FIELDS = 16
MAX_CLIENT_ID = 200
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")

RULE_TABLES = """
SELECT DISTINCT r.source_table, t.key_columns
FROM syncsvc.sync_rule r LEFT JOIN syncsvc.captured_table t ON t.table_name = r.source_table
WHERE r.connection_id = %(cid)s AND r.enabled
"""
CLAIM_IDS = """
INSERT INTO syncsvc.api_event_id (connection_id, client_event_id)
SELECT %(cid)s, i FROM unnest(%(ids)s::text[]) AS i
ON CONFLICT DO NOTHING
RETURNING client_event_id
"""
INSERT_EVENTS = """
INSERT INTO syncsvc.sync_event (table_name, op, pk, row, targets)
SELECT e.table_name, e.op, e.pk, e.row, ARRAY[%(cid)s]::integer[]
FROM jsonb_to_recordset(%(events)s) AS e(ord integer, table_name text, op text, pk jsonb, row jsonb)
ORDER BY e.ord
RETURNING id
"""
NOTIFY = "SELECT pg_notify('syncsvc', %(table)s)"
# Each request that remembers ids forgets at most twice as many expired ones: the table stays
# at about one retention period of ids without a separate job.
PRUNE_IDS = """
DELETE FROM syncsvc.api_event_id WHERE ctid IN (
    SELECT ctid FROM syncsvc.api_event_id
    WHERE created_at < now() - make_interval(hours => %(hours)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""


@dataclass(frozen=True)
class Event:
    table: str
    op: str
    key: dict[str, Any]
    row: dict[str, Any] | None
    client_id: str | None


@dataclass(frozen=True)
class Result:
    index: int
    client_id: str | None
    status: str
    """``accepted`` or ``duplicate``."""
    event_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.client_id,
            "status": self.status,
            "event_id": self.event_id,
        }


def parse_events(body: Any, max_events: int) -> list[Event]:
    """The shape of the request: every problem named, in order."""
    if not isinstance(body, dict):
        raise bad_request([Problem("body", "must be a JSON object with an 'events' list")])
    unknown = sorted(set(body) - {"events"})
    if unknown:
        raise bad_request([Problem(k, "unknown field") for k in unknown])
    raw = body.get("events")
    if not isinstance(raw, list):
        raise bad_request([Problem("events", "is required and must be a list")])
    if not raw:
        raise bad_request([Problem("events", "must hold at least one event")])
    if len(raw) > max_events:
        raise bad_request([Problem("events", f"at most {max_events} events per request")])
    problems: list[Problem] = []
    events: list[Event] = []
    for i, item in enumerate(raw):
        event = _event(item, f"events[{i}]", problems)
        if event is not None:
            events.append(event)
    if problems:
        raise bad_request(problems)
    return events


def _event(item: Any, where: str, problems: list[Problem]) -> Event | None:
    if not isinstance(item, dict):
        problems.append(Problem(where, "must be an object"))
        return None
    before = len(problems)
    for name in sorted(set(item) - EVENT_FIELDS):
        problems.append(Problem(f"{where}.{name}", "unknown field"))
    table = item.get("table")
    if not isinstance(table, str) or not _TABLE.match(table):
        problems.append(Problem(f"{where}.table", "must be a SCHEMA.TABLE name"))
    op = item.get("op")
    if not isinstance(op, str) or op not in OPS:
        problems.append(Problem(f"{where}.op", f"must be one of {', '.join(OPS)}"))
    key = item.get("key")
    if not isinstance(key, dict) or not 1 <= len(key) <= MAX_KEY_FIELDS:
        problems.append(
            Problem(f"{where}.key", f"must be an object of 1 to {MAX_KEY_FIELDS} key columns")
        )
    else:
        for name, value in key.items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                problems.append(Problem(f"{where}.key.{name}", "must be a string or an integer"))
            elif isinstance(value, str) and not value:
                problems.append(Problem(f"{where}.key.{name}", "must not be empty"))
    row = item.get("row")
    if op in ("insert", "update") and not isinstance(row, dict):
        problems.append(Problem(f"{where}.row", f"is required for {op} and must be an object"))
    elif op == "delete" and row is not None:
        problems.append(Problem(f"{where}.row", "must be absent or null for delete"))
    client_id = item.get("id")
    if client_id is not None and (
        not isinstance(client_id, str) or not _CLIENT_ID.match(client_id)
    ):
        problems.append(
            Problem(f"{where}.id", f"must be 1 to {MAX_CLIENT_ID} printable ASCII characters")
        )
    if len(problems) > before:
        return None
    assert isinstance(key, dict)
    return Event(str(table), str(op), dict(key), row if isinstance(row, dict) else None, client_id)


def check_against_connection(
    db: psycopg.Connection[Row],
    connection_id: int,
    events: list[Event],
    schema_dirs: tuple[Path, ...],
) -> None:
    """Tables must be ones the connection syncs; rows must pass the table's field spec."""
    tables = {
        r["source_table"]: r["key_columns"] for r in db.execute(RULE_TABLES, {"cid": connection_id})
    }
    missing: list[Problem] = []
    problems: list[Problem] = []
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if event.table not in tables:
            missing.append(Problem(f"{where}.table", "no such table for this connection"))
            continue
        key_columns = tables[event.table]
        if key_columns is not None and sorted(event.key) != sorted(key_columns):
            problems.append(
                Problem(f"{where}.key", f"must hold exactly the key columns {key_columns}")
            )
            continue
        try:
            spec = internal_spec(event.table, schema_dirs)
        except ConfigError:
            missing.append(Problem(f"{where}.table", "no such table for this connection"))
            continue
        for name in event.key:
            if name not in spec.field_names:
                problems.append(Problem(f"{where}.key.{name}", f"{event.table} has no such field"))
        if event.row is None:
            continue
        for name, value in event.key.items():
            if name in event.row and event.row[name] != value:
                problems.append(Problem(f"{where}.row.{name}", "does not match the key"))
        try:
            issues = spec.check(event.row)
        except (TypeError, ValueError) as exc:  # marshmallow on values it never expected
            problems.append(Problem(f"{where}.row", f"cannot be checked: {exc}"))
            continue
        problems.extend(Problem(f"{where}.row.{p.field}", p.reason) for p in issues)
    if missing:
        first = missing[0]
        raise ApiError(404, f"{first.field}: {first.message}", missing)
    if problems:
        raise bad_request(problems)


def store_events(
    db: psycopg.Connection[Row], connection_id: int, events: list[Event], retention_hours: int
) -> list[Result]:
    """Write the new events (in the caller's transaction); duplicates are left out."""
    # Sorted: two requests sharing ids take their index entries in the same order (no deadlock).
    ids = sorted({e.client_id for e in events if e.client_id is not None})
    fresh: set[str] = set()
    if ids:
        db.execute(PRUNE_IDS, {"hours": retention_hours, "limit": 2 * len(ids)})
        fresh = {
            r["client_event_id"] for r in db.execute(CLAIM_IDS, {"cid": connection_id, "ids": ids})
        }
    keep: list[tuple[int, Event]] = []
    for i, event in enumerate(events):
        if event.client_id is None:
            keep.append((i, event))
        elif event.client_id in fresh:
            fresh.discard(event.client_id)  # a repeat inside this request is a duplicate too
            keep.append((i, event))
    event_ids: list[int] = []
    if keep:
        payload = [
            {"ord": n, "table_name": e.table, "op": OPS[e.op], "pk": e.key, "row": e.row}
            for n, (_, e) in enumerate(keep)
        ]
        # Identity values are drawn in the order the rows are inserted (ORDER BY e.ord).
        event_ids = sorted(
            int(r["id"])
            for r in db.execute(INSERT_EVENTS, {"cid": connection_id, "events": Jsonb(payload)})
        )
        db.execute(NOTIFY, {"table": keep[0][1].table})
    written = {i: event_id for (i, _), event_id in zip(keep, event_ids, strict=True)}
    return [
        Result(
            index=i,
            client_id=e.client_id,
            status="accepted" if i in written else "duplicate",
            event_id=written.get(i),
        )
        for i, e in enumerate(events)
    ]
