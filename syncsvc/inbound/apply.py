"""Write one CRM record (or its deletion) into the internal table, in the caller's transaction.

The record is read from the CRM when it is applied, so an older event applies the newest state.
Its fields are mapped back (CRM field → column); only ``writable`` columns are written, and only
the ones whose value differs from the row (compared after PostgreSQL has cast them to the
columns' types): a change we pushed that comes back is nothing to write. Nor is a field that
still holds the value the CRM is known to hold (``syncsvc.inbound.echo``): that is our own older
push coming back late, after the row moved on, not a change made in the CRM. While the record
is being pushed, its events wait (``deferred``) for the push to settle. Conflicts are decided by
``syncsvc.inbound.conflict``. A push about to overwrite a record the CRM changed since it was
last known reads it first and applies it here too (``apply_before_push``, called by
``syncsvc.push.guard``): one rule for what the CRM wins, whichever side sees it first. Rows are
found by ``key = %(key)s`` with the key as an untyped parameter, so PostgreSQL reads it as the
key column's type and uses the primary key's index. An object with an ``inbox`` writes its
changes there instead (``syncsvc.inbound.inbox``).

A record created in the CRM becomes a row, linked by its CRM id (``inbound_link``), and its new
key goes back to the CRM as an outbox row (``LINK_BACK``), written in the same transaction.

Echo suppression: the write runs with ``syncsvc.origin`` set to ``inbound:<connection>``, which
the capture triggers record (``sync_event.origin``) and the bridge reads: the row is not sent
back to the CRM it came from (it is to other connections). When the CRM won a conflict the
origin is left unset: the merged row (the CRM's value plus the internal side's other pending
changes) must reach that CRM too, or its pending push would overwrite the CRM's value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from providers.base import CrmRecord
from syncsvc.db import Row
from syncsvc.inbound import conflict, echo, inbox
from syncsvc.inbound.links import ParentRef, held_by_crm, resolve
from syncsvc.inbound.model import InboundObject
from syncsvc.links.model import Association
from syncsvc.mapping.mapper import Mapper
from syncsvc.pipeline.batch import record_key
from syncsvc.scrub import error_text

log = logging.getLogger("syncsvc.inbound")

FIND_LINK = """
SELECT record_key FROM syncsvc.inbound_link
WHERE connection_id = %(connection_id)s AND object = %(object)s AND crm_id = %(crm_id)s
UNION ALL
SELECT record_key FROM syncsvc.outbox
WHERE connection_id = %(connection_id)s AND object = %(object)s AND external_id = %(crm_id)s
LIMIT 1
"""
ADD_LINK = """
INSERT INTO syncsvc.inbound_link (connection_id, object, crm_id, record_key)
VALUES (%(connection_id)s, %(object)s, %(crm_id)s, %(record_key)s)
ON CONFLICT (connection_id, object, crm_id) DO NOTHING
"""
SET_ORIGIN = "SELECT set_config('syncsvc.origin', %(origin)s, true)"
IS_BOOLEAN = """
SELECT a.atttypid = 'boolean'::regtype AS boolean FROM pg_attribute a
WHERE a.attrelid = to_regclass(%(table)s) AND a.attname = %(column)s AND NOT a.attisdropped
"""
# The key of a record created in the CRM goes back to it as an outbox row (an update by the
# CRM's id): pushed, retried and dead-lettered like any other, so it outlives a crash. Its
# version comes from sync_event's sequence: the record's next internal change supersedes it.
LINK_BACK = """
INSERT INTO syncsvc.outbox
    (connection_id, object, record_key, source_table, op, payload, version, external_id)
VALUES (%(connection_id)s, %(object)s, %(record_key)s, %(table)s, 'update', %(payload)s,
        nextval(pg_get_serial_sequence('syncsvc.sync_event', 'id')), %(crm_id)s)
ON CONFLICT (connection_id, object, record_key) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class Target:
    """One connection's inbound for one object, ready to apply."""

    connection_id: int
    origin: str
    spec: InboundObject
    mapper: Mapper
    link_back: bool = True
    """Write the internal key into records created in the CRM (connections that push)."""
    links: tuple[Association, ...] = ()
    """The connection's associations from this object: their ``via`` columns are written from
    the child's parent in the CRM (``syncsvc.inbound.links``)."""


@dataclass
class Outcome:
    status: str
    """``applied``, ``ignored``, ``failed`` (a CRM value its mapping's transforms refuse, named
    in ``detail``; nothing of the record is written), or ``deferred``: the record is being
    pushed to the CRM right now; the event waits for the push to settle (what it delivered
    decides what is an echo)."""
    written: list[str] = field(default_factory=list)
    conflicts: list[conflict.Conflict] = field(default_factory=list)
    link_back: int | None = None
    """The outbox row that writes the new row's key into the CRM record, if one was made."""
    detail: str | None = None
    """What the event's row says besides its status (a parent we do not know)."""
    key: str | None = None
    """The row's key as text, when a row was written."""


def _table(name: str) -> sql.Identifier:
    schema, _, table = name.partition(".")
    return sql.Identifier(schema, table)


def _find_key(db: psycopg.Connection[Row], target: Target, crm_id: str) -> str | None:
    params = {"connection_id": target.connection_id, "object": target.spec.object, "crm_id": crm_id}
    row = db.execute(FIND_LINK, params).fetchone()
    return str(row["record_key"]) if row else None


def _key_of(db: psycopg.Connection[Row], target: Target, crm_id: str, fields: Any) -> str | None:
    value = fields.get(target.spec.key_field) if fields else None
    if value not in (None, ""):
        return str(value)
    return _find_key(db, target, crm_id)


def _set_origin(db: psycopg.Connection[Row], origin: str) -> None:
    db.execute(SET_ORIGIN, {"origin": origin})


def apply_delete(db: psycopg.Connection[Row], target: Target, crm_id: str) -> Outcome:
    spec = target.spec
    if spec.on_delete == "ignore":
        return Outcome("ignored")
    key = _find_key(db, target, crm_id)
    if spec.inbox:  # a record created in the CRM has no key: its deletion goes in all the same
        inbox.write(db, target.connection_id, spec, crm_id, key, "delete", {}, None)
        return Outcome("applied")
    if key is None:
        return Outcome("ignored")
    _set_origin(db, target.origin)
    where = sql.SQL("{k} = %(key)s").format(k=sql.Identifier(spec.key_column))
    if spec.on_delete == "soft_delete":
        query = _soft_delete(db, spec, where)
    else:
        query = sql.SQL("DELETE FROM {t} WHERE {w}").format(t=_table(spec.table), w=where)
    done = db.execute(query, {"key": key}).rowcount
    return Outcome("applied" if done else "ignored")


def _soft_delete(
    db: psycopg.Connection[Row], spec: InboundObject, where: sql.Composable
) -> sql.Composed:
    """Mark the row deleted: a boolean column becomes true, a date or time column now()."""
    assert spec.soft_delete_column is not None
    params = {"table": _table(spec.table).as_string(db), "column": spec.soft_delete_column}
    kind = db.execute(IS_BOOLEAN, params).fetchone()
    column = sql.Identifier(spec.soft_delete_column)
    if kind is not None and kind["boolean"]:
        template = "UPDATE {t} SET {c} = true WHERE {w} AND {c} IS NOT TRUE"
    else:
        template = "UPDATE {t} SET {c} = now() WHERE {w} AND {c} IS NULL"
    return sql.SQL(template).format(t=_table(spec.table), c=column, w=where)


def _incoming(target: Target, record: CrmRecord) -> dict[str, Any] | Outcome:
    """The record's fields mapped back to the columns the CRM may write, or the ``failed``
    outcome naming the values its mapping refuses."""
    spec = target.spec
    # A CRM field left empty is NULL, whether the CRM sends it missing, null or "" (and the
    # mapping's transforms see None, which they pass through).
    fields = {name: (None if value == "" else value) for name, value in record.fields.items()}
    mapped, issues = target.mapper.apply(fields)
    if issues:  # the whole record waits for the CRM's next change, as a dead letter would
        named = "; ".join(f"{i.field}: {i.reason}" for i in issues)
        return Outcome("failed", detail=error_text(f"{spec.object} {record.id}: {named}"))
    return {c: (None if v == "" else v) for c, v in mapped.items() if c in spec.writable}


def apply_record(
    db: psycopg.Connection[Row],
    target: Target,
    record: CrmRecord,
    parents: Sequence[ParentRef] = (),
) -> Outcome:
    spec = target.spec
    incoming = _incoming(target, record)
    if isinstance(incoming, Outcome):
        return incoming
    key = _key_of(db, target, record.id, record.fields)
    found = resolve(db, target.connection_id, key, parents)
    incoming.update(found.values)
    incoming.update(dict.fromkeys(found.unlinked))
    detail = _unknown_parents(target, record.id, found.unknown)
    outcome = _apply_values(db, target, record, incoming, key, found.unlinked)
    outcome.detail = detail
    vias = {a.via for a in target.links}
    written = {c: incoming[c] for c in outcome.written if c in vias}
    if written and outcome.key is not None and not spec.inbox:
        held_by_crm(db, target.connection_id, target.links, outcome.key, written)
    return outcome


def apply_before_push(
    db: psycopg.Connection[Row], target: Target, record: CrmRecord, key: str, origin: str
) -> Outcome:
    """The push of row ``key`` is about to overwrite ``record`` (``syncsvc.push.guard``): what
    the CRM changed there that we have not seen yet is decided as an inbound change would be,
    by the same rule, and the columns the CRM won are written to the row (``Outcome.written``).
    The caller holds the row's push lease: nothing waits for it. A row that is gone is not
    inserted again (its deletion is on its way to the CRM). The write runs with ``origin``:
    the connection's own, so that the push, which now leaves those fields to the CRM, is not
    followed by the same values going back, or "" when a newer internal change of the row is
    already under way (its payload may predate this write; the merged row then goes too).
    Links are left to the inbound path."""
    incoming = _incoming(target, record)
    if isinstance(incoming, Outcome):
        return incoming
    return _apply_values(db, target, record, incoming, key, {}, push_origin=origin)


def _unknown_parents(target: Target, crm_id: str, unknown: Sequence[ParentRef]) -> str | None:
    """A parent not synced by us: the link column is left as it is, and that is said."""
    if not unknown:
        return None
    named = ", ".join(f"{u.via} → {u.parent_object} {u.crm_id}" for u in unknown)
    text = error_text(f"parent not synced by this connection, link left as it is: {named}")
    log.info("%s %s: %s", target.spec.object, error_text(crm_id, 100), text)
    return text


def _apply_values(
    db: psycopg.Connection[Row],
    target: Target,
    record: CrmRecord,
    incoming: dict[str, Any],
    key: str | None,
    unlinked: Mapping[str, str],
    push_origin: str | None = None,
) -> Outcome:
    """``unlinked``: columns to clear (they are None in ``incoming``) only while the row still
    holds the parent key given (the link our side made, which the CRM dropped).
    ``push_origin``: applied before a push of the record (``apply_before_push``)."""
    spec = target.spec
    if spec.inbox:
        return Outcome(inbox.change(db, target.connection_id, spec, record, incoming, key))
    table = _table(spec.table)
    key_column = sql.Identifier(spec.key_column)
    current = None
    if key is not None:
        current = db.execute(
            sql.SQL(
                "SELECT to_jsonb(t) AS cur, "
                "to_jsonb(jsonb_populate_record(NULL::{t}, %(incoming)s)) AS new "
                "FROM {t} AS t WHERE {k} = %(key)s FOR UPDATE"
            ).format(t=table, k=key_column),
            {"incoming": Jsonb(incoming), "key": key},
        ).fetchone()
    if current is None:
        if push_origin is not None:
            return Outcome("ignored")
        kept = {c: v for c, v in incoming.items() if c not in unlinked}
        return _insert(db, target, record, kept, key)
    cur, new = current["cur"], current["new"]
    moved_on = {c for c, linked in unlinked.items() if _as_key(c, cur.get(c)) != linked}
    differing = [c for c in incoming if cur.get(c) != new.get(c) and c not in moved_on]
    if not differing:
        return Outcome("ignored")
    pk = {spec.key_column: cur[spec.key_column]}
    state = echo.push_state(db, target.connection_id, spec.object, record_key(pk))
    if state is not None and state.in_flight and push_origin is None:
        return Outcome("deferred")
    delivered = state.delivered if state is not None else None
    differing = [c for c in differing if not echo.ours(spec, c, record.fields, delivered)]
    if not differing:
        return Outcome("ignored")
    since = conflict.internal_change_at(
        db, target.connection_id, spec.object, spec.table, pk, record_key(pk), target.origin
    )
    outcome = Outcome("ignored", key=record_key(pk))
    crm_won_conflict = False
    for column in differing:
        policy = spec.policy_for(column)
        take = conflict.crm_wins(policy, since, record.modified_at)
        if since is not None or policy == "internal_owns":
            outcome.conflicts.append(
                conflict.Conflict(column, cur.get(column), new.get(column), policy, take)
            )
            crm_won_conflict = crm_won_conflict or (take and since is not None)
        if take:
            outcome.written.append(column)
    conflict.log_conflicts(
        db, target.connection_id, spec.object, record_key(pk), record.id, outcome.conflicts
    )
    if not outcome.written:
        return outcome
    if push_origin is not None:
        _set_origin(db, push_origin)
    else:
        _set_origin(db, "" if crm_won_conflict else target.origin)
    columns = sql.SQL(", ").join(map(sql.Identifier, outcome.written))
    db.execute(
        sql.SQL(
            "UPDATE {t} SET ({cols}) = (SELECT {cols} FROM jsonb_populate_record(NULL::{t}, "
            "%(incoming)s)) WHERE {k} = %(key)s"
        ).format(t=table, cols=columns, k=key_column),
        {"incoming": Jsonb({c: incoming[c] for c in outcome.written}), "key": key},
    )
    echo.took(db, target.connection_id, spec, record_key(pk), record.fields, outcome.written)
    outcome.status = "applied"
    return outcome


def _as_key(column: str, value: Any) -> str | None:
    """A column's value as the parent key ``record_link`` holds (``record_key``)."""
    return None if value is None else record_key({column: value})


def _insert(
    db: psycopg.Connection[Row],
    target: Target,
    record: CrmRecord,
    incoming: dict[str, Any],
    key: str | None,
) -> Outcome:
    """A record the internal table does not have: created in the CRM (linked by its CRM id), or
    one whose row is gone (inserted again under its key)."""
    spec = target.spec
    values = dict(incoming)
    if key is not None:
        values[spec.key_column] = key
    if not values:
        return Outcome("ignored")
    _set_origin(db, target.origin)
    table = _table(spec.table)
    columns = sql.SQL(", ").join(map(sql.Identifier, values))
    row = db.execute(
        sql.SQL(
            "INSERT INTO {t} ({cols}) SELECT {cols} FROM jsonb_populate_record(NULL::{t}, "
            "%(values)s) RETURNING {k}::text AS key"
        ).format(t=table, cols=columns, k=sql.Identifier(spec.key_column)),
        {"values": Jsonb(values)},
    ).fetchone()
    assert row is not None
    outcome = Outcome("applied", written=list(values), key=str(row["key"]))
    if key is None:
        params = {
            "connection_id": target.connection_id,
            "object": spec.object,
            "crm_id": record.id,
            "record_key": row["key"],
        }
        db.execute(ADD_LINK, params)
        if target.link_back:
            linked = db.execute(
                LINK_BACK,
                {
                    **params,
                    "table": spec.table,
                    "payload": Jsonb({spec.key_field: row["key"]}),
                },
            ).fetchone()
            outcome.link_back = linked["id"] if linked else None
    return outcome
