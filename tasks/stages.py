"""The first three links of the chain; each carries one batch of one connection and table."""

from __future__ import annotations

from syncsvc.backfill.store import rule_of
from syncsvc.pipeline.batch import Batch, CheckedBatch, MappedBatch, PushOrder
from syncsvc.pipeline.persist import persist_batch
from syncsvc.pipeline.transform import transform_batch
from syncsvc.pipeline.validate import validate_batch
from syncsvc.validation.registry import internal_spec
from tasks.app import app
from tasks.base import SyncTask


@app.task(name="syncsvc.validate", base=SyncTask, bind=True, autoretry_for=SyncTask.DATABASE_ERRORS)
def validate(self: SyncTask, batch: Batch) -> CheckedBatch:
    spec = internal_spec(batch["table"], self.settings.internal_schema_dirs)
    with self.db() as db:
        return validate_batch(db, batch, spec)


@app.task(
    name="syncsvc.transform", base=SyncTask, bind=True, autoretry_for=SyncTask.DATABASE_ERRORS
)
def transform(self: SyncTask, batch: CheckedBatch) -> MappedBatch:
    with self.db() as db:
        config = self.config(db)
        only_rule = rule_of(db, batch["backfill_id"]) if "backfill_id" in batch else None
    conn = config.connections.get(batch["connection_id"])
    if conn is None:
        # The connection was deleted: nothing to send, but the events must still be released.
        return MappedBatch(
            connection_id=batch["connection_id"],
            table=batch["table"],
            event_ids=batch["event_ids"],
            items=[],
            rejects=[],
        )
    return transform_batch(conn, batch, only_rule)


@app.task(name="syncsvc.persist", base=SyncTask, bind=True, autoretry_for=SyncTask.DATABASE_ERRORS)
def persist(self: SyncTask, batch: MappedBatch) -> PushOrder | None:
    with self.db() as db:
        groups = persist_batch(db, batch)
        config = self.config(db)
    self.count(batch["connection_id"], "failed", len(batch.get("rejects", [])))
    conn = config.connections.get(batch["connection_id"])
    if not groups or conn is None or not conn.pushes:
        return None
    order = PushOrder(connection_id=batch["connection_id"], groups=groups)
    if "backfill_id" in batch:
        order["backfill"] = True
    return order
