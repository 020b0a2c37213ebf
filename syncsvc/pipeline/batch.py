"""The JSON shapes that travel between the chain's tasks."""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from syncsvc.kinds import ChangeOp, PushOp, Stage


class EventRecord(TypedDict):
    """One record's coalesced change: its key, latest op, and version (latest event id)."""

    pk: dict[str, Any]
    op: ChangeOp
    version: int
    row: NotRequired[dict[str, Any] | None]
    record_key: NotRequired[str]


class Reject(TypedDict):
    """A record that goes to the dead letters instead of the outbox, and why."""

    record_key: str
    op: ChangeOp
    version: int
    stage: Stage
    field: str | None
    reason: str
    object: str | None
    event: dict[str, Any]


class ParentRef(TypedDict):
    """The parent one child row names for one association (``parent_key`` None: none)."""

    association: str
    parent_object: str
    parent_key: str | None


class OutboxItem(TypedDict):
    """One record's payload for one CRM object: what persist writes as an outbox row."""

    object: str
    record_key: str
    source_table: str
    op: PushOp
    id_property: str | None
    id_value: str | None
    payload: dict[str, Any]
    version: int
    links: NotRequired[list[ParentRef]]
    """The parents the row names, one per association whose child this object is
    (``syncsvc.links``)."""


class Batch(TypedDict):
    """bridge → validate: one connection, one source table, up to a few hundred records."""

    connection_id: int
    table: str
    event_ids: list[int]
    records: list[EventRecord]
    rejects: NotRequired[list[Reject]]
    backfill_id: NotRequired[int]
    """Set when the events were written by a backfill (``syncsvc.backfill``): its records go to
    the outbox tagged with it, and only through its rule when it names one."""


class CheckedBatch(TypedDict):
    """validate → transform: the records that passed, each with its row and record key."""

    connection_id: int
    table: str
    event_ids: list[int]
    records: list[EventRecord]
    rejects: list[Reject]
    backfill_id: NotRequired[int]


class MappedBatch(TypedDict):
    """transform → persist: outbox items for the records rules matched, and the rejects."""

    connection_id: int
    table: str
    event_ids: list[int]
    items: list[OutboxItem]
    rejects: list[Reject]
    backfill_id: NotRequired[int]


class PushGroup(TypedDict):
    """Outbox row ids of one object and op, sent together."""

    object: str
    op: PushOp
    ids: list[int]


class PushOrder(TypedDict):
    """persist → push: which outbox rows of the connection to send."""

    connection_id: int
    groups: list[PushGroup]
    backfill: NotRequired[bool]
    """The rows are a backfill's: the push waits behind live ones (``BACKFILL_PRIORITY``) and
    yields its worker to them between CRM calls (``tasks.lanes``)."""


def record_key(pk: dict[str, Any]) -> str:
    """A record's key as text: the value itself for one key column, JSON for several."""
    if len(pk) == 1:
        value = next(iter(pk.values()))
        return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(pk, sort_keys=True, separators=(",", ":"), default=str)


def reject(
    record: EventRecord,
    table: str,
    stage: Stage,
    field: str | None,
    reason: str,
    obj: str | None = None,
) -> Reject:
    return Reject(
        record_key=record.get("record_key") or record_key(record["pk"]),
        op=record["op"],
        version=record["version"],
        stage=stage,
        field=field,
        reason=reason[:2000],
        object=obj,
        event={
            "table": table,
            "pk": record["pk"],
            "op": record["op"],
            "version": record["version"],
            "row": _clip(record.get("row")),
        },
    )


MAX_KEPT_STRING = 10_000


def _clip(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Dead letters keep the row, but not megabytes of one bad field."""
    if row is None:
        return None
    return {
        k: (
            v[:MAX_KEPT_STRING] + f"…[{len(v)} chars]"
            if isinstance(v, str) and len(v) > MAX_KEPT_STRING
            else v
        )
        for k, v in row.items()
    }


def merge_groups(groups: list[PushGroup], order_size: int = 500) -> list[list[PushGroup]]:
    """Rows of the same (object, op) together, cut into push orders of at most ``order_size``."""
    merged: dict[tuple[str, PushOp], list[int]] = {}
    for g in groups:
        merged.setdefault((g["object"], g["op"]), []).extend(g["ids"])
    return [
        [PushGroup(object=obj, op=op, ids=ids[start : start + order_size])]
        for (obj, op), ids in merged.items()
        for start in range(0, len(ids), order_size)
    ]
