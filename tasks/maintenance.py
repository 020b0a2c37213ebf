"""Periodic work run by beat: re-enqueue outbox rows that are due but have no push in flight,
and delete what is past its retention (``syncsvc.retention``)."""

from __future__ import annotations

import logging

from syncsvc import pause, retention
from syncsvc.links import store as link_store
from syncsvc.outbox import lease as outbox_lease
from syncsvc.pipeline.batch import PushOrder, merge_groups
from tasks.app import app
from tasks.base import SyncTask
from tasks.push import enqueue_link, enqueue_push

log = logging.getLogger("syncsvc.sweep")
SWEEP_LIMIT = 5_000
ORDER_SIZE = 500


@app.task(name="syncsvc.sweep", base=SyncTask, bind=True)
def sweep(self: SyncTask) -> int:
    """Safety net for I-1: a push message lost with Redis or a killed worker is sent again."""
    total = 0
    with self.db() as db:
        config = self.config(db)
        paused = pause.all_paused(db)
        due = {
            conn.id: outbox_lease.due_for_sweep(
                db, conn.id, self.settings.sweep_grace_seconds, SWEEP_LIMIT
            )
            for conn in config.connections.values()
            if conn.enabled and conn.pushes and conn.id not in paused
        }
    with self.db() as db:
        linkable = [
            conn
            for conn in config.connections.values()
            if conn.associations
            and conn.id in due
            and link_store.has_ready(db, conn.id, [a.name for a in conn.associations])
        ]
    for conn in linkable:
        enqueue_link(conn.provider.name, conn.id)
    for connection_id, found in due.items():
        provider = config.connections[connection_id].provider.name
        for groups in merge_groups(found, ORDER_SIZE):
            enqueue_push(provider, PushOrder(connection_id=connection_id, groups=groups))
            total += len(groups[0]["ids"])
    if total:
        log.info("sweeper re-enqueued %d due outbox rows", total)
    return total


@app.task(name="syncsvc.prune", base=SyncTask, bind=True)
def prune(self: SyncTask) -> dict[str, int]:
    """Retention: sync log entries, replayed dead letters and API event ids past their age, in
    bounded batches. Whatever a run leaves (its time budget spent, a row locked) the next one
    deletes."""
    pruned = retention.prune(self.settings)
    if pruned.total:
        log.info("retention deleted %s", pruned.rows)
    return pruned.rows
