"""The last link: push leased outbox rows to the CRM, then reschedule what has to go again."""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

import requests
from celery import Task

from providers.base import HttpTimeouts, ProviderClient
from syncsvc import stats
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.db import transaction
from syncsvc.pipeline.batch import PushGroup, PushOrder, merge_groups
from syncsvc.push.deliver import Pusher
from syncsvc.ratelimit import ConnectionLimiter
from syncsvc.settings import Settings
from tasks import redelivery
from tasks.app import RUNTIME, app
from tasks.queues import push_queue

log = logging.getLogger("syncsvc.push")

MAX_COUNTDOWN = 60.0
"""Longer waits are left to the sweeper: Redis redelivers a message not acknowledged within its
visibility timeout, so a long countdown on the broker would run twice."""

_clients_lock = threading.Lock()


def _client(settings: Settings, conn: RuntimeConnection, generation: int) -> ProviderClient:
    key = (conn.id, generation)
    with _clients_lock:
        client = RUNTIME.clients.get(key)
        if client is None:
            for old in [k for k in RUNTIME.clients if k[0] == conn.id]:
                RUNTIME.clients.pop(old).close()
            limiter = ConnectionLimiter(
                settings.broker_url,
                settings.redis_prefix,
                conn.id,
                conn.rate_limit_requests,
                conn.rate_limit_seconds,
            )
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            client = conn.provider.client_class(
                conn.connection_info(settings),
                session=session,
                timeouts=HttpTimeouts(settings.http_connect_timeout, settings.http_read_timeout),
                throttle=limiter.acquire,
            )
            RUNTIME.clients[key] = client
        return client


def enqueue_push(provider: str, order: PushOrder, countdown: float = 0.0) -> None:
    if countdown > 0:
        push.apply_async((order,), queue=push_queue(provider), countdown=countdown)
    else:
        push.apply_async((order,), queue=push_queue(provider))


@app.task(name="syncsvc.push", bind=True)
def push(self: Task[Any, Any], order: PushOrder | None) -> dict[str, int] | None:
    if not order or not order["groups"]:
        return None
    settings = RUNTIME.require_settings
    with transaction(settings.db_url) as db:
        config = RUNTIME.config.get(db)
    conn = config.connections.get(order["connection_id"])
    if conn is None or not conn.enabled or not conn.pushes:
        return None
    pusher = Pusher(
        dsn=settings.db_url,
        connection_id=conn.id,
        client=_client(settings, conn, config.generation),
        batch_size=conn.batch_size,
        max_attempts=conn.max_attempts,
        lease_seconds=settings.lease_seconds,
        on_count=partial(stats.incr, settings.broker_url, settings.redis_prefix, conn.id),
        holder=redelivery.holder(),
    )
    outcome = pusher.run(order["groups"])
    for groups in merge_groups(outcome.again_now):
        enqueue_push(conn.provider.name, PushOrder(connection_id=conn.id, groups=groups))
    by_delay: dict[float, list[PushGroup]] = {}
    for delay, group in outcome.later:
        if delay <= MAX_COUNTDOWN:
            by_delay.setdefault(delay, []).append(group)
    for delay, groups in by_delay.items():
        enqueue_push(
            conn.provider.name,
            PushOrder(connection_id=conn.id, groups=groups),
            countdown=delay + 0.05,
        )
    return {
        "delivered": outcome.delivered,
        "dead": outcome.dead,
        "retried": outcome.retried,
        "waited": outcome.waited,
    }
