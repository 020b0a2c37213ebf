"""How captured changes enter the queues: the bridge sends one chain per batch on its provider's
queue and holds back while too many wait there."""

from __future__ import annotations

import threading
from collections.abc import Callable

from celery import chain
from celery.canvas import Signature

from providers.registry import provider_names
from syncsvc import stats
from syncsvc.bridge.loop import Backlog, Bridge
from syncsvc.pipeline.batch import Batch
from syncsvc.redisconn import client
from syncsvc.settings import Settings
from tasks.push import push
from tasks.queues import BACKFILL_PRIORITY, priority_keys, push_queue, sync_queue
from tasks.stages import persist, transform, validate


def sync_chain(batch: Batch, provider: str) -> Signature:
    """validate → transform → persist on the provider's sync queue, then push on its push queue.

    A backfill's chain waits behind live ones (``BACKFILL_PRIORITY``) and shows in Flower and
    the worker logs under names that say so (``syncsvc.validate[backfill 12]``: Celery's
    ``shadow`` name; the task run is the same)."""
    work = sync_queue(provider)
    tag = f"[backfill {batch['backfill_id']}]" if "backfill_id" in batch else ""

    def named(signature: Signature, queue: str) -> Signature:
        signature = signature.set(queue=queue)
        if not tag:
            return signature
        return signature.set(shadow=f"{signature.task}{tag}", priority=BACKFILL_PRIORITY)

    return chain(
        named(validate.si(batch), work),
        named(transform.s(), work),
        named(persist.s(), work),
        named(push.s(), push_queue(provider)),
    )


def enqueue_chain(provider: str, batch: Batch) -> None:
    sync_chain(batch, provider).apply_async()


def chain_backlog(settings: Settings) -> Callable[[], Backlog]:
    """How many chain messages wait in the sync queues, live and backfill (Redis keys: prefix +
    queue name, + the priority step for backfill)."""
    redis_client = client(settings.broker_url)
    keys = [
        settings.redis_prefix + key
        for p in provider_names()
        for key in priority_keys(sync_queue(p))
    ]

    def backlog() -> Backlog:
        with redis_client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            sizes = [int(n) for n in pipe.execute()]
        return Backlog(live=sum(sizes[0::2]), backfill=sum(sizes[1::2]))

    return backlog


def celery_bridge(
    settings: Settings, stop: threading.Event, pause_before_mark: float = 0.0
) -> Bridge:
    """A bridge that sends its batches as chains through the configured app (``configure``),
    counts what it captured and watches the sync queues' backlog."""

    def captured(connection_id: int, count: int) -> None:
        stats.incr(settings.broker_url, settings.redis_prefix, connection_id, "captured", count)

    return Bridge(
        settings,
        enqueue_chain,
        captured,
        stop,
        backlog=chain_backlog(settings),
        pause_before_mark=pause_before_mark,
    )
