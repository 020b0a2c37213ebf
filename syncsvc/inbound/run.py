"""A connection's inbound work: poll the CRM for changes, apply the events received.

``poll`` stores what the CRM reports modified since the object's high-water mark and moves the
mark in the same transaction (the search runs from a little before the mark: an overlap that
costs reads, never a gap; repeats are the same event key and add nothing). ``apply_received``
claims received events, reads their records from the CRM, and writes them into the internal
table and settles the events in one transaction: a crash before the commit leaves them
received, and they are claimed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from providers.base import CrmRecord, ProviderClient
from syncsvc.config.runtime import RuntimeConnection, inbound_origin
from syncsvc.db import Row
from syncsvc.inbound import events, links
from syncsvc.inbound.apply import Outcome, Target, apply_delete, apply_record
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.scrub import error_text

Transaction = Callable[[], AbstractContextManager[psycopg.Connection[Row]]]
CLAIM_LIMIT = 200
POLL_OVERLAP = timedelta(seconds=5)
FIRST_POLL_LOOKBACK = timedelta(seconds=60)
MAX_POLL_PAGES = 20


@dataclass
class Applied:
    events: int = 0
    applied: int = 0
    ignored: int = 0
    failed: int = 0
    conflicts: int = 0
    deferred: int = 0
    link_backs: list[tuple[str, int]] = field(default_factory=list)
    """(object, outbox row) of the keys going back to records created in the CRM: to push."""


def targets(conn: RuntimeConnection) -> dict[str, Target]:
    if conn.inbound is None:
        return {}
    return {
        name: Target(
            conn.id,
            inbound_origin(conn.name),
            spec,
            compile_mapper(spec.mappings, f"{conn.name}.inbound.{name}"),
            link_back=conn.pushes,
            links=tuple(a for a in conn.associations if a.child_object == name),
        )
        for name, spec in conn.inbound.objects.items()
    }


def poll(
    transaction: Transaction, conn: RuntimeConnection, client: ProviderClient, now: datetime
) -> int:
    """Store the changes made since each object's high-water mark; returns how many were new."""
    assert conn.inbound is not None
    new = 0
    for name, target in targets(conn).items():
        with transaction() as db:
            cursor = events.read_cursor(db, conn.id, name)
            due = cursor.updated_at is None or (
                now - cursor.updated_at >= timedelta(seconds=conn.inbound.poll_seconds)
            )
            if not due:
                continue
            since = (
                (cursor.high_water - POLL_OVERLAP)
                if cursor.high_water
                else now - FIRST_POLL_LOOKBACK
            )
            high_water = cursor.high_water or since
            reported: list[events.Reported] = []
            after, token = cursor.token, None
            for _ in range(MAX_POLL_PAGES):
                page = client.changed_since(name, since, _read_fields(target, client), after)
                for record in page.records:
                    stamp = record.modified_at
                    reported.append(
                        events.Reported(name, record.id, _poll_key(name, record), "change", stamp)
                    )
                    if stamp is not None and stamp > high_water:
                        high_water = stamp
                reported += [
                    events.Reported(name, crm_id, f"poll:{name}:{crm_id}:deleted", "delete", None)
                    for crm_id in page.deleted
                ]
                after, token = page.after, page.resume
                if after is None:
                    break
            new += events.store(db, conn.id, "poll", reported)
            events.write_cursor(db, conn.id, name, high_water, token)
    return new


def _read_fields(target: Target, client: ProviderClient) -> list[str]:
    """The CRM fields a change is read with: the mapped ones and the links' (so that a change
    of a link alone is a change of the record: see ``_poll_key``)."""
    fields = [*target.spec.crm_fields, *links.link_fields(type(client), target.links)]
    return list(dict.fromkeys(fields))


def _poll_key(name: str, record: CrmRecord) -> str:
    """One change of one record: its modification time and what it holds (a CRM that stamps
    whole seconds can change a record twice within one stamp)."""
    stamp = record.modified_at
    millis = int(stamp.timestamp() * 1000) if stamp else 0
    digest = hashlib.sha256(
        json.dumps(record.fields, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return f"poll:{name}:{record.id}:{millis}:{digest}"


def apply_received(
    transaction: Transaction, conn: RuntimeConnection, client: ProviderClient
) -> Applied:
    """Apply one claim of received events (at most ``CLAIM_LIMIT``)."""
    done = Applied()
    by_object = targets(conn)
    with transaction() as db:
        claimed = events.claim(db, conn.id, CLAIM_LIMIT)
        done.events = len(claimed)
        settled: list[events.Settled] = []
        for obj, rows in _by_object(claimed):
            target = by_object.get(obj)
            if target is None:
                settled += [
                    events.Settled(r["id"], "ignored", "object not configured") for r in rows
                ]
                continue
            ids = [r["crm_id"] for r in rows]
            records = client.read_records(obj, ids, _read_fields(target, client))
            parents = links.read_parents(client, target.links, records)
            seen: dict[str, events.Settled] = {}
            for row in rows:
                crm_id = row["crm_id"]
                if crm_id not in seen:
                    seen[crm_id] = _apply_one(
                        db, target, records.get(crm_id), crm_id, done, parents.get(crm_id, [])
                    )
                first = seen[crm_id]
                if first.status != "deferred":  # left received: claimed again next time
                    settled.append(events.Settled(row["id"], first.status, first.detail))
        events.settle(db, settled)
    return done


def _by_object(rows: list[Row]) -> Iterator[tuple[str, list[Row]]]:
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["object"], []).append(row)
    yield from grouped.items()


def _apply_one(
    db: psycopg.Connection[Row],
    target: Target,
    record: CrmRecord | None,
    crm_id: str,
    done: Applied,
    parents: list[links.ParentRef],
) -> events.Settled:
    """One record in a savepoint: a row the table refuses fails alone, named in the event."""
    try:
        with db.transaction():
            outcome: Outcome
            if record is not None:
                outcome = apply_record(db, target, record, parents)
            else:
                outcome = apply_delete(db, target, crm_id)
    except psycopg.Error as exc:
        done.failed += 1
        return events.Settled(0, "failed", error_text(exc))
    done.conflicts += len(outcome.conflicts)
    if outcome.link_back is not None:
        done.link_backs.append((target.spec.object, outcome.link_back))
    if outcome.status == "deferred":
        done.deferred += 1
    elif outcome.status == "failed":
        done.failed += 1
    elif outcome.status == "applied":
        done.applied += 1
    else:
        done.ignored += 1
    return events.Settled(0, outcome.status, outcome.detail)


def utcnow() -> datetime:
    return datetime.now(UTC)
