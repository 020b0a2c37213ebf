"""Inbound tasks (issue 14): apply a connection's received CRM events, and beat's tick that
polls the CRMs due for it and hands waiting events to ``apply`` (so events whose message was
lost with Redis or a restart are applied all the same)."""

from __future__ import annotations

import logging

from syncsvc.inbound import deletes, events, run, subscriptions
from syncsvc.pipeline.batch import PushGroup, PushOrder, merge_groups
from syncsvc.scrub import error_text
from tasks.app import app
from tasks.base import SyncTask
from tasks.push import enqueue_push
from tasks.queues import INBOUND

log = logging.getLogger("syncsvc.inbound")
MAX_CLAIMS = 20


@app.task(
    name="syncsvc.inbound.apply",
    base=SyncTask,
    bind=True,
    autoretry_for=SyncTask.DATABASE_ERRORS,
)
def apply(self: SyncTask, connection_id: int) -> int:
    """Apply the connection's received events, a claim at a time; returns how many."""
    with self.db() as db:
        config = self.config(db)
    conn = config.connections.get(connection_id)
    if conn is None or conn.inbound is None or not conn.enabled:
        return 0
    client = self.push_client(conn, config.generation)
    total = 0
    for _ in range(MAX_CLAIMS):
        done = run.apply_received(self.db, conn, client)
        total += done.events
        if done.link_backs:  # committed already: the sweeper sends them if this message is lost
            groups = [PushGroup(object=obj, op="update", ids=[i]) for obj, i in done.link_backs]
            for merged in merge_groups(groups):
                enqueue_push(conn.provider.name, PushOrder(connection_id=conn.id, groups=merged))
        if done.events:
            log.info(
                "%s: %d inbound events: %d applied, %d unchanged, %d waiting for a push, "
                "%d failed, %d conflicts",
                conn.name, done.events, done.applied, done.ignored, done.deferred, done.failed,
                done.conflicts,
            )  # fmt: skip
        if done.events < run.CLAIM_LIMIT:
            break
    return total


def enqueue_apply(connection_id: int) -> None:
    apply.apply_async((connection_id,), queue=INBOUND)


@app.task(name="syncsvc.inbound.tick", base=SyncTask, bind=True)
def tick(self: SyncTask) -> int:
    """Poll every connection whose poll is due (changes, and deletions where the CRM's change
    list leaves them out), then enqueue ``apply`` where events wait."""
    with self.db() as db:
        config = self.config(db)
    now = run.utcnow()
    polled = 0
    for conn in config.connections.values():
        if conn.inbound is None or not conn.enabled or not conn.inbound.poll_seconds:
            continue
        for what, poll in (("poll", run.poll), ("deletes poll", deletes.poll)):
            try:
                polled += poll(self.db, conn, self.push_client(conn, config.generation), now)
            except Exception as exc:  # one CRM (or poll) failing must not stop the others
                log.warning("%s: inbound %s failed: %s", conn.name, what, error_text(exc))
    public_url = self.settings.inbound_public_url
    for conn in config.connections.values():
        if conn.inbound is None or not conn.enabled or not conn.inbound.webhooks or not public_url:
            continue
        try:
            client = self.push_client(conn, config.generation)
            if subscriptions.keep(self.db, conn, client, public_url, now):
                log.info("%s: webhook subscription renewed", conn.name)
        except Exception as exc:  # one CRM failing must not stop the others
            log.warning("%s: keeping webhooks failed: %s", conn.name, error_text(exc))
    with self.db() as db:
        waiting = events.waiting_connections(db, 0)
    for connection_id in waiting:
        enqueue_apply(connection_id)
    return polled
