"""Hand a dead worker's unacknowledged messages back to their queues within seconds, not an hour.

Redis has no consumer sessions: a message delivered to a worker sits in kombu's ``unacked`` hash
until the worker acknowledges it, and a worker killed with SIGKILL never does. kombu restores it
only after the visibility timeout (``celeryconfig.VISIBILITY_TIMEOUT``), which must outlast the
longest task, so the message would wait an hour. PostgreSQL stays the truth meanwhile (outbox
leases expire and the sweeper re-sends; the bridge re-dispatches unpersisted events), but every
delivery that message carried is late and a stale copy arrives an hour later.

So each worker process records which messages it holds and shows that it lives:

- on receipt of a message it writes ``delivery tag → "<nodename> <incarnation>"`` into the
  ``syncsvc:unacked-owner`` hash (the incarnation is new at every start);
- every ``BEAT_SECONDS`` it sets ``syncsvc:worker-alive:<nodename>`` to its incarnation with a
  ``DEAD_AFTER_SECONDS`` expiry, then reaps: every unacknowledged message whose owner's nodename
  now names another incarnation (the worker was restarted) or no live one (it is gone), and every
  message that has had no owner for ``DEAD_AFTER_SECONDS``, goes back to its queue through kombu's
  own restore (``QoS.restore_by_tag``, a WATCH transaction, so two reapers never restore one
  message twice); the outbox leases the dead incarnation held (``outbox.lease_holder``) end at
  the same time, so its rows go again at once rather than when their lease runs out.

A worker restarted by its supervisor thus hands back what its previous life held as soon as it
starts; a worker that never comes back is reaped by any other worker within about
``DEAD_AFTER_SECONDS + BEAT_SECONDS``. A redelivered message is harmless by design: chain steps
are idempotent (the outbox version only moves forward) and pushes lease their rows.
Node names must be unique per broker (Celery requires it anyway): a second live worker with the
same name would have its messages handed back, i.e. sent twice, never lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis
from celery import Celery, signals

from syncsvc.redisconn import client as redis_client

log = logging.getLogger("syncsvc.redelivery")

BEAT_SECONDS = 5.0
DEAD_AFTER_SECONDS = 20
STARTUP_TTL_SECONDS = 120
"""The first heartbeat, written before the worker starts its pool, lasts until the heartbeat
thread (started once the worker is ready) takes over."""
OWNERS_KEY = "syncsvc:unacked-owner"
ALIVE_KEY = "syncsvc:worker-alive:"
UNACKED_KEY = "unacked"
UNACKED_INDEX_KEY = "unacked_index"


@dataclass
class Keys:
    """The Redis keys, with the deployment's key prefix (kombu's ``global_keyprefix``)."""

    prefix: str

    @property
    def owners(self) -> str:
        return self.prefix + OWNERS_KEY

    @property
    def unacked(self) -> str:
        return self.prefix + UNACKED_KEY

    @property
    def unacked_index(self) -> str:
        return self.prefix + UNACKED_INDEX_KEY

    def alive(self, nodename: str) -> str:
        return self.prefix + ALIVE_KEY + nodename


def orphaned(
    owners: dict[str, str],
    delivered_at: dict[str, float],
    alive: dict[str, str | None],
    now: float,
) -> list[str]:
    """The delivery tags to hand back.

    ``owners``: tag → "nodename incarnation"; ``delivered_at``: every unacknowledged tag → the
    time kombu delivered it; ``alive``: nodename → its live incarnation (None: none alive).
    """
    tags = []
    for tag, when in delivered_at.items():
        owner = owners.get(tag)
        if owner is None:
            if now - when > DEAD_AFTER_SECONDS:
                tags.append(tag)
            continue
        nodename, _, incarnation = owner.partition(" ")
        if alive.get(nodename) != incarnation:
            tags.append(tag)
    return tags


class Redelivery:
    """One worker process's ownership records, heartbeat and reaper."""

    def __init__(
        self,
        app: Celery,
        redis_url: str,
        prefix: str,
        nodename: str,
        release_leases: Callable[[list[str]], int] | None = None,
    ) -> None:
        self.app = app
        self.release_leases = release_leases
        self.redis = redis_client(redis_url)
        self.keys = Keys(prefix)
        self.nodename = nodename
        self.incarnation = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="redelivery", daemon=True)

    @property
    def owner(self) -> str:
        return f"{self.nodename} {self.incarnation}"

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(self.keys.alive(self.nodename))

    def received(self, delivery_tag: str) -> None:
        try:
            self.redis.hset(self.keys.owners, delivery_tag, self.owner)
        except redis.RedisError as exc:  # the reaper treats it as unowned after a while
            log.warning("could not record the owner of a message: %s", exc)

    def beat(self, ttl: int = DEAD_AFTER_SECONDS) -> int:
        """Say this incarnation lives, then hand back what dead ones held. Returns how many."""
        self.redis.set(self.keys.alive(self.nodename), self.incarnation, ex=ttl)
        return self.reap()

    def reap(self) -> int:
        index = cast(
            list[tuple[bytes, float]],
            self.redis.zrange(self.keys.unacked_index, 0, -1, withscores=True),
        )
        delivered = {tag.decode(): float(score) for tag, score in index}
        held = cast(dict[bytes, bytes], self.redis.hgetall(self.keys.owners))
        owners = {tag.decode(): owner.decode() for tag, owner in held.items()}
        gone = [tag for tag in owners if tag not in delivered]
        if gone:
            self.redis.hdel(self.keys.owners, *gone)
        nodes = sorted({owners[t].partition(" ")[0] for t in delivered if t in owners})
        values: list[bytes | None] = (
            cast(list[bytes | None], self.redis.mget([self.keys.alive(n) for n in nodes]))
            if nodes
            else []
        )
        alive = {
            n: v.decode() if v is not None else None for n, v in zip(nodes, values, strict=True)
        }
        tags = orphaned(owners, delivered, alive, time.time())
        if tags:
            dead = sorted({owners[t] for t in tags if t in owners})
            released = self.release_leases(dead) if self.release_leases and dead else 0
            self._restore(tags)
            log.warning(
                "handed back %d unacknowledged messages and released %d outbox leases of dead "
                "workers %s",
                len(tags),
                released,
                dead,
            )
        return len(tags)

    def _restore(self, tags: list[str]) -> None:
        with self.app.connection_for_write() as conn:
            channel: Any = conn.default_channel
            qos = channel.qos
            for tag in tags:
                qos.restore_by_tag(tag)
        self.redis.hdel(self.keys.owners, *tags)

    def _run(self) -> None:
        while not self.stop.wait(BEAT_SECONDS):
            try:
                self.beat()
            except Exception as exc:  # Redis restarting: the next beat tries again
                log.warning("redelivery heartbeat failed: %s", exc)


_installed: list[Redelivery] = []


def holder() -> str | None:
    """This worker incarnation's name for the outbox leases it takes (None outside a worker)."""
    return _installed[0].owner if _installed else None


def install(
    app: Celery,
    redis_url: str,
    prefix: str,
    nodename: str,
    release_leases: Callable[[list[str]], int] | None = None,
) -> Redelivery:
    """Call in a worker process before it consumes: from then on every message it receives has
    an owner, and its previous life's messages are handed back at once (and the outbox leases
    it held released, through ``release_leases``)."""
    from celery.utils.nodenames import host_format

    current = Redelivery(app, redis_url, prefix, host_format(nodename), release_leases)
    _installed[:] = [current]
    current.beat(ttl=STARTUP_TTL_SECONDS)

    @signals.task_received.connect(weak=False)
    def _received(request: Any, **_: Any) -> None:
        tag = getattr(request.message, "delivery_tag", None)
        if tag:
            current.received(str(tag))

    @signals.worker_ready.connect(weak=False)
    def _ready(**_: Any) -> None:
        current.thread.start()

    @signals.worker_shutdown.connect(weak=False)
    def _shutdown(**_: Any) -> None:
        current.close()

    return current
