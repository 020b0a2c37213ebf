"""The live share of a connection's rate-limit window: backfill requests leave it free."""

from __future__ import annotations

import uuid

import pytest

from syncsvc.errors import RateLimited
from syncsvc.ratelimit import ConnectionLimiter, live_reserve, yielding_to_live
from tests.support import servers


@pytest.mark.parametrize(
    ("requests", "share", "reserve"),
    [(100, 20, 20), (10, 20, 2), (4, 20, 1), (2, 90, 1), (1, 20, 0), (100, 0, 0)],
)
def test_the_reserve_is_a_share_of_the_window_but_never_all_of_it(
    requests: int, share: int, reserve: int
) -> None:
    assert live_reserve(requests, share) == reserve


def test_backfill_requests_stop_at_the_reserve_and_live_ones_use_it(
    test_servers: servers.TestServers,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    limiter = ConnectionLimiter(test_servers.redis_url, prefix, 1, 10, 60, reserve=3)
    with yielding_to_live():
        for _ in range(7):
            limiter.acquire()
        with pytest.raises(RateLimited, match="kept for live changes") as info:
            limiter.acquire()
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60
    for _ in range(3):
        limiter.acquire()
    with pytest.raises(RateLimited, match="own rate limit"):
        limiter.acquire()
