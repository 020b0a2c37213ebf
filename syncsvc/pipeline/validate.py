"""Stage 1: read the current rows and check them against the table's field spec."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from syncsvc.capture import split_table_name
from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.pipeline.batch import Batch, CheckedBatch, EventRecord, Reject, record_key, reject
from syncsvc.validation.fieldspec import CompiledSpec


def read_rows(
    db: psycopg.Connection[Row], table: str, pks: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Current rows of ``table`` for the given keys, by record key (missing keys are absent)."""
    if not pks:
        return {}
    schema, name = split_table_name(table)
    keys = list(pks[0])
    query = sql.SQL(
        "SELECT to_jsonb(t) AS row FROM {table} AS t "
        "JOIN jsonb_populate_recordset(NULL::{table}, %s) AS k USING ({keys})"
    ).format(
        table=sql.Identifier(schema, name),
        keys=sql.SQL(", ").join(sql.Identifier(k) for k in keys),
    )
    try:
        rows = db.execute(query, (Jsonb(pks),)).fetchall()
    except psycopg.errors.UndefinedTable:
        raise ConfigError(f"captured table {table} no longer exists") from None
    return {record_key({k: r["row"][k] for k in keys}): r["row"] for r in rows}


def validate_batch(db: psycopg.Connection[Row], batch: Batch, spec: CompiledSpec) -> CheckedBatch:
    """Keep records that pass, move the others to ``rejects``; vanished rows are dropped.

    A row that is gone although its event says insert/update was deleted later, and that delete
    has its own (later) event, so dropping it loses nothing.
    """
    table = batch["table"]
    need_read = [r["pk"] for r in batch["records"] if r["op"] != "D" and r.get("row") is None]
    current = read_rows(db, table, need_read)
    kept: list[EventRecord] = []
    rejects: list[Reject] = list(batch.get("rejects", []))
    keep_fields = spec.field_names if spec.additional in ("ignore", "reject") else None
    for record in batch["records"]:
        key = record_key(record["pk"])
        record["record_key"] = key
        if record["op"] == "D":
            kept.append(record)
            continue
        row = record.get("row")
        if row is None:
            row = current.get(key)
            if row is None:
                continue
        issues = spec.check(row)
        if keep_fields is not None and spec.additional == "ignore":
            row = {k: v for k, v in row.items() if k in keep_fields}
        record["row"] = row
        if issues:
            reason = "; ".join(f"{i.field}: {i.reason}" for i in issues)
            rejects.append(reject(record, table, "validate", issues[0].field, reason))
            continue
        kept.append(record)
    checked = CheckedBatch(
        connection_id=batch["connection_id"],
        table=table,
        event_ids=batch["event_ids"],
        records=kept,
        rejects=rejects,
    )
    if "backfill_id" in batch:
        checked["backfill_id"] = batch["backfill_id"]
    return checked
