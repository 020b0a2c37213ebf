"""Periodic work run by beat: re-enqueue outbox rows that are due but have no push in flight."""

from __future__ import annotations

import logging

from syncsvc.pipeline.batch import PushGroup, PushOrder, merge_groups
from syncsvc.push import outbox_sql
from tasks.app import app
from tasks.base import SyncTask
from tasks.push import enqueue_push

log = logging.getLogger("syncsvc.sweep")
SWEEP_LIMIT = 5_000
ORDER_SIZE = 500


@app.task(name="syncsvc.sweep", base=SyncTask, bind=True)
def sweep(self: SyncTask) -> int:
    """Safety net for I-1: a push message lost with Redis or a killed worker is sent again."""
    total = 0
    with self.db() as db:
        config = self.config(db)
        due: dict[int, list[dict[str, object]]] = {}
        for conn in config.connections.values():
            if conn.enabled and conn.pushes:
                due[conn.id] = db.execute(
                    outbox_sql.DUE_FOR_SWEEP,
                    {
                        "connection_id": conn.id,
                        "grace": self.settings.sweep_grace_seconds,
                        "limit": SWEEP_LIMIT,
                    },
                ).fetchall()
    for connection_id, rows in due.items():
        provider = config.connections[connection_id].provider.name
        found = [
            PushGroup(object=str(r["object"]), op=str(r["op"]), ids=[int(str(r["id"]))])
            for r in rows
        ]
        for groups in merge_groups(found, ORDER_SIZE):
            enqueue_push(provider, PushOrder(connection_id=connection_id, groups=groups))
            total += len(groups[0]["ids"])
    if total:
        log.info("sweeper re-enqueued %d due outbox rows", total)
    return total
