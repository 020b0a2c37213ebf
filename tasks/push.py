"""The last link: push leased outbox rows to the CRM, then reschedule what has to go again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from providers.base import ProviderClient
from syncsvc import pause
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.inbound import conflict
from syncsvc.inbound import run as inbound_run
from syncsvc.inbound.apply import Target
from syncsvc.links.deliver import Linker, LinkOutcome
from syncsvc.outbox import lease
from syncsvc.pipeline.batch import PushGroup, PushOrder, merge_groups
from syncsvc.push.deliver import Pusher
from syncsvc.push.guard import PushGuard
from tasks import labels, lanes, redelivery
from tasks.app import app
from tasks.base import SyncTask
from tasks.queues import BACKFILL_PRIORITY, push_queue

log = logging.getLogger("syncsvc.push")

MAX_COUNTDOWN = 60.0
"""Longer waits are left to the sweeper: Redis redelivers a message not acknowledged within its
visibility timeout, so a long countdown on the broker would run twice."""


def enqueue_push(provider: str, order: PushOrder, countdown: float = 0.0) -> None:
    options: dict[str, Any] = {"queue": push_queue(provider)}
    if countdown > 0:
        options["countdown"] = countdown
    if order.get("backfill"):
        options["priority"] = BACKFILL_PRIORITY
    push.apply_async((order,), **options)


def shadow_name(
    task: SyncTask, args: Sequence[Any] | None, kwargs: Any, options: Any
) -> str | None:
    """The name Flower and the log show: the connection, and its pause (``tasks.labels``)."""
    settings = SyncTask.configured_settings()
    dsn = settings.db_url if settings else None
    return labels.push_name(task.name, dsn, task.loaded_config(), args)


@app.task(name="syncsvc.push", base=SyncTask, bind=True, shadow_name=shadow_name)
def push(self: SyncTask, order: PushOrder | None) -> dict[str, int] | None:
    if not order or not order["groups"]:
        return None
    with self.db() as db:
        config = self.config(db)
        paused = pause.paused(db, order["connection_id"])
    conn = config.connections.get(order["connection_id"])
    if conn is None or not conn.enabled or not conn.pushes:
        return None
    if paused is not None:  # its rows wait in the outbox, due, until a resume
        return {"paused": 1}
    client = self.push_client(conn, config.generation)
    pusher = Pusher(
        dsn=self.settings.db_url,
        connection_id=conn.id,
        client=client,
        batch_size=conn.batch_size,
        max_attempts=conn.max_attempts,
        lease_seconds=self.settings.lease_seconds,
        on_count=partial(self.count, conn.id),
        holder=redelivery.holder(),
        guard=_guard(self, conn, config.generation, client),
    )
    backfill = bool(order.get("backfill"))
    queue = push_queue(conn.provider.name)
    outcome = pusher.run(
        order["groups"], partial(lanes.live_waiting, self.settings, queue) if backfill else None
    )
    if outcome.paused is None and outcome.delivered and conn.associations:
        outcome.paused = _link(self, conn, config.generation).paused
    if outcome.paused is not None:
        _pause(self, conn, config.generation, outcome.paused)

    def again(groups: list[PushGroup], countdown: float = 0.0) -> None:
        again = PushOrder(connection_id=conn.id, groups=groups)
        if backfill:
            again["backfill"] = True
        enqueue_push(conn.provider.name, again, countdown)

    for groups in merge_groups(outcome.again_now):
        again(groups)
    if outcome.yielded:
        again(outcome.yielded)
    by_delay: dict[float, list[PushGroup]] = {}
    for delay, group in outcome.later:
        if delay <= MAX_COUNTDOWN:
            by_delay.setdefault(delay, []).append(group)
    for delay, groups in by_delay.items():
        again(groups, delay + 0.05)
    return {
        "paused": int(outcome.paused is not None),
        "delivered": outcome.delivered,
        "dead": outcome.dead,
        "retried": outcome.retried,
        "waited": outcome.waited,
    }


_TARGETS: dict[tuple[int, int], dict[str, Target]] = {}
_TARGETS_LOCK = threading.Lock()


def _guard(
    task: SyncTask, conn: RuntimeConnection, generation: int, client: ProviderClient
) -> PushGuard | None:
    """What reads the records an update would overwrite first, for a connection whose inbound
    policy lets the CRM win somewhere (``syncsvc.push.guard``), on a CRM whose reads are
    known to match the payload's spelling (``READ_BEFORE_PUSH``); None for the others. The
    targets are compiled once per connection and config generation."""
    if conn.inbound is None or not conn.provider.client_class.READ_BEFORE_PUSH:
        return None
    with _TARGETS_LOCK:
        targets = _TARGETS.get((conn.id, generation))
        if targets is None:
            for old in [k for k in _TARGETS if k[1] != generation]:
                del _TARGETS[old]
            targets = {
                name: target
                for name, target in inbound_run.targets(conn).items()
                if target.spec.inbox is None and conflict.crm_may_win(target.spec)
            }
            _TARGETS[(conn.id, generation)] = targets
    if not targets:
        return None
    return PushGuard(dsn=task.settings.db_url, client=client, targets=targets)


def enqueue_link(provider: str, connection_id: int, countdown: float = 0.0) -> None:
    if countdown > 0:
        link.apply_async((connection_id,), queue=push_queue(provider), countdown=countdown)
    else:
        link.apply_async((connection_id,), queue=push_queue(provider))


@app.task(name="syncsvc.link", base=SyncTask, bind=True)
def link(self: SyncTask, connection_id: int) -> dict[str, int] | None:
    """Link the connection's ready children to their parents (the sweeper orders it)."""
    with self.db() as db:
        config = self.config(db)
        paused = pause.paused(db, connection_id)
    conn = config.connections.get(connection_id)
    if conn is None or not conn.enabled or not conn.pushes or paused is not None:
        return None
    outcome = _link(self, conn, config.generation)
    if outcome.paused is not None:
        _pause(self, conn, config.generation, outcome.paused)
    return {"linked": outcome.linked, "unlinked": outcome.unlinked, "failed": outcome.failed}


def _link(task: SyncTask, conn: RuntimeConnection, generation: int) -> LinkOutcome:
    linker = Linker(
        dsn=task.settings.db_url,
        connection_id=conn.id,
        client=task.push_client(conn, generation),
        associations=conn.associations,
        batch_size=conn.batch_size,
        max_attempts=conn.max_attempts,
        lease_seconds=task.settings.lease_seconds,
    )
    outcome = linker.run()
    if outcome.wait is not None and outcome.wait <= MAX_COUNTDOWN:
        enqueue_link(conn.provider.name, conn.id, outcome.wait + 0.05)
    return outcome


GENERATION = "SELECT generation FROM syncsvc.config_state WHERE id = 1"


def _pause(task: SyncTask, conn: RuntimeConnection, generation: int, message: str) -> None:
    """Pause ``conn`` (its CRM refused the credentials of config ``generation``). When the config
    moved on meanwhile (``config apply`` with new credentials ran during this push), the refusal
    is stale: the rows this push set aside are made due again instead."""
    with task.db() as db:
        row = db.execute(GENERATION).fetchone()
        if row is None or int(row["generation"]) != generation:
            lease.make_due(db, conn.id, task.settings.sweep_grace_seconds)
            return
        if pause.pause(db, conn.id, message):
            log.warning("paused connection %s: credentials refused: %s", conn.name, message)
