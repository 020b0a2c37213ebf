"""The first three links of the chain; each carries one batch of one connection and table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from celery import Task

from syncsvc import stats
from syncsvc.db import transaction
from syncsvc.pipeline.batch import Batch, CheckedBatch, MappedBatch, PushOrder
from syncsvc.pipeline.persist import persist_batch
from syncsvc.pipeline.transform import transform_batch
from syncsvc.pipeline.validate import validate_batch
from syncsvc.validation.registry import internal_spec
from tasks.app import RUNTIME, app

TaskFn = TypeVar("TaskFn", bound=Callable[..., Any])


def db_task(name: str) -> Callable[[TaskFn], Task[Any, Any]]:
    """A chain step; a database that is restarting is retried soon, not after a re-dispatch."""
    return app.task(
        name=name,
        bind=True,
        autoretry_for=(psycopg.OperationalError, psycopg.errors.SerializationFailure),
        retry_backoff=1,
        retry_backoff_max=20,
        retry_jitter=True,
        max_retries=8,
    )


@db_task("syncsvc.validate")
def validate(self: Task[Any, Any], batch: Batch) -> CheckedBatch:
    settings = RUNTIME.require_settings
    spec = internal_spec(batch["table"], settings.internal_schema_dirs)
    with transaction(settings.db_url) as db:
        return validate_batch(db, batch, spec)


@db_task("syncsvc.transform")
def transform(self: Task[Any, Any], batch: CheckedBatch) -> MappedBatch:
    settings = RUNTIME.require_settings
    with transaction(settings.db_url) as db:
        config = RUNTIME.config.get(db)
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
    return transform_batch(conn, batch)


@db_task("syncsvc.persist")
def persist(self: Task[Any, Any], batch: MappedBatch) -> PushOrder | None:
    settings = RUNTIME.require_settings
    with transaction(settings.db_url) as db:
        groups = persist_batch(db, batch)
        config = RUNTIME.config.get(db)
    rejected = len(batch.get("rejects", []))
    stats.incr(
        settings.broker_url, settings.redis_prefix, batch["connection_id"], "failed", rejected
    )
    conn = config.connections.get(batch["connection_id"])
    if not groups or conn is None or not conn.pushes:
        return None
    return PushOrder(connection_id=batch["connection_id"], groups=groups)
