"""Per-connection counters in Redis (cheap, shared by every process; not a source of truth)."""

from __future__ import annotations

import logging
from typing import cast

import redis

from syncsvc.redisconn import shared_client as _client

log = logging.getLogger("syncsvc.stats")
COUNTERS = ("captured", "pushed", "failed", "retried", "rate_limit_waits")


def key(prefix: str, connection_id: int) -> str:
    return f"{prefix}syncsvc:stats:{connection_id}"


def incr(url: str, prefix: str, connection_id: int, counter: str, amount: int) -> None:
    if amount <= 0:
        return
    try:
        _client(url).hincrby(key(prefix, connection_id), counter, amount)
    except redis.RedisError as exc:  # counters must never fail a sync
        log.warning("cannot update counter %s: %s", counter, exc)


def read(url: str, prefix: str, connection_id: int) -> dict[str, int]:
    try:
        raw = cast(dict[bytes, bytes], _client(url).hgetall(key(prefix, connection_id)))
    except redis.RedisError:
        return dict.fromkeys(COUNTERS, 0)
    values = {k.decode(): int(v) for k, v in raw.items()}
    return {c: values.get(c, 0) for c in COUNTERS}
