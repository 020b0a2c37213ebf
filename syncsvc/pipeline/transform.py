"""Stage 2: apply the connection's rules and field mappings, shape and check for the CRM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from syncsvc.config.runtime import CompiledRule, RuntimeConnection
from syncsvc.errors import PermanentError, SyncError
from syncsvc.fields.typed import typed_properties
from syncsvc.kinds import Action, PushOp
from syncsvc.links.wanted import parent_keys
from syncsvc.pipeline.batch import (
    CheckedBatch,
    EventRecord,
    MappedBatch,
    OutboxItem,
    Reject,
    reject,
)
from syncsvc.validation.registry import destination_spec

_PUSH_OP_OF: dict[Action, PushOp] = {
    "upsert": "upsert",
    "update": "update",
    "create": "create",
    "archive": "archive",
}
"""What an outbox row asks of the CRM for each rule action that sends something."""


def _id_value_from_key(
    conn: RuntimeConnection, rule: CompiledRule, record: EventRecord
) -> str | None:
    """For deletes: the id property's value when it is mapped straight from a key column."""
    mapper = conn.mappers.get(rule.object)
    if mapper is None or rule.id_property is None:
        return None
    for m in mapper.mappings:
        if m.target == rule.id_property and len(m.source_fields) == 1:
            value = record["pk"].get(m.source_fields[0])
            if value is None:
                return None
            for transform in m.transforms:
                value = transform(value)
            return None if value is None else str(value)
    return None


def _item(
    conn: RuntimeConnection, rule: CompiledRule, record: EventRecord, table: str
) -> OutboxItem | Reject:
    op = _PUSH_OP_OF[rule.action]
    key = record.get("record_key", "")
    if op == "archive":
        return OutboxItem(
            object=rule.object,
            record_key=key,
            source_table=table,
            op=op,
            id_property=rule.id_property,
            id_value=_id_value_from_key(conn, rule, record),
            payload={},
            version=record["version"],
        )
    mapper = conn.mappers.get(rule.object)
    if mapper is None:
        return reject(
            record, table, "transform", None, f"no field mappings for {rule.object}", rule.object
        )
    row: dict[str, Any] = record.get("row") or {}
    properties, issues = mapper.apply(row)
    if not issues:
        properties, issues = typed_properties(
            properties, conn.fields.get(rule.object), conn.provider.transformer
        )
    if issues:
        reason = "; ".join(f"{i.field}: {i.reason}" for i in issues)
        return reject(record, table, "transform", issues[0].field, reason, rule.object)
    id_value = properties.get(rule.id_property) if rule.id_property else None
    if op == "upsert" and (id_value is None or id_value == ""):
        return reject(
            record, table, "transform", rule.id_property,
            f"upsert needs a value for id property {rule.id_property!r}", rule.object,
        )  # fmt: skip
    try:
        payload = conn.provider.transformer.shape(rule.object, properties)
    except (SyncError, ValueError, TypeError) as exc:
        field = exc.field if isinstance(exc, PermanentError) else None
        return reject(
            record,
            table,
            "transform",
            field,
            f"cannot shape for {conn.provider.name}: {exc}",
            rule.object,
        )
    dest = destination_spec(conn.provider.destination_schema_path(rule.object))
    if dest is not None:
        problems = dest.check(payload)
        if problems:
            reason = "; ".join(f"{p.field}: {p.reason}" for p in problems)
            return reject(record, table, "transform", problems[0].field, reason, rule.object)
    item = OutboxItem(
        object=rule.object,
        record_key=key,
        source_table=table,
        op=op,
        id_property=rule.id_property,
        id_value=None if id_value is None else str(id_value),
        payload=payload,
        version=record["version"],
    )
    links = parent_keys(conn.associations, rule.object, row)
    if links:
        item["links"] = links
    return item


RuleOutcome = tuple[CompiledRule, OutboxItem | Reject | None]
"""A rule that matched a record and what it made of it: an outbox item, a reject, or ``None``
for a ``skip`` rule."""


def decide(
    conn: RuntimeConnection, rules: Sequence[CompiledRule], record: EventRecord, table: str
) -> tuple[list[RuleOutcome], Reject | None]:
    """What ``rules`` (in order) make of one validated record, touching nothing.

    Every matching rule yields one outcome; a matching ``skip`` rule ends the list. No outcome
    means no rule matched. A condition that raises rejects the record (the second value) and
    ends the list. The chain's transform and the preview (``syncsvc.preview``) both call this.
    """
    outcomes: list[RuleOutcome] = []
    for rule in rules:
        try:
            matched = rule.matches(record["op"], record.get("row"))
        except Exception as exc:  # a condition must never stop the batch
            return outcomes, reject(record, table, "transform", None, f"condition failed: {exc}")
        if not matched:
            continue
        if rule.action == "skip":
            outcomes.append((rule, None))
            break
        outcomes.append((rule, _item(conn, rule, record, table)))
    return outcomes, None


def transform_batch(
    conn: RuntimeConnection, batch: CheckedBatch, only_rule: str | None = None
) -> MappedBatch:
    """Every matching rule of a record yields one outbox item (or one reject); ``skip`` stops.

    ``only_rule`` (a backfill of one rule) keeps the outcomes of that rule alone; a ``skip``
    rule before it still skips, as it would for a live change.
    """
    table = batch["table"]
    rules = conn.rules_for(table)
    items: list[OutboxItem] = []
    rejects: list[Reject] = list(batch.get("rejects", []))
    for record in batch["records"]:
        outcomes, failed = decide(conn, rules, record, table)
        for rule, out in outcomes:
            if out is None or (only_rule is not None and rule.name != only_rule):
                continue
            if "stage" in out:
                rejects.append(cast(Reject, out))
            else:
                items.append(out)
        if failed is not None:
            rejects.append(failed)
    mapped = MappedBatch(
        connection_id=batch["connection_id"],
        table=table,
        event_ids=batch["event_ids"],
        items=items,
        rejects=rejects,
    )
    if "backfill_id" in batch:
        mapped["backfill_id"] = batch["backfill_id"]
    return mapped
