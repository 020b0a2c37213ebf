"""Flower, started for a test on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from syncsvc.processes import ProcessSet
from tests.faults.servers import free_port
from tests.support.wait import wait_until


@contextmanager
def flower(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, ProcessSet]]:
    """Flower started with ``env``; yields its URL once it answers."""
    port = free_port()
    procs = ProcessSet(env, tmp_path)
    procs.start("flower", "flower", "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert procs.alive("flower"), procs.log_tail("flower")
        try:
            return requests.get(f"{url}/healthcheck", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, message=lambda: procs.log_tail("flower"))
        yield url, procs
    finally:
        procs.stop_all()
