"""Flower runs behind basic auth."""

from __future__ import annotations

from pathlib import Path

import requests

from syncsvc.processes import ProcessSet
from tests.faults.servers import free_port
from tests.support.wait import wait_until


def test_flower_refuses_requests_without_the_configured_credentials(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**service_env, "SYNCSVC_FLOWER_USER": "ops", "SYNCSVC_FLOWER_PASSWORD": "s3cret-pw"}
    procs = ProcessSet(env, tmp_path)
    procs.start("flower", "flower", "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{url}/healthcheck", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(up, 60, message=lambda: procs.log_tail("flower"))
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "wrong"), timeout=5).status_code == 401
        assert requests.get(url, auth=("ops", "s3cret-pw"), timeout=5).status_code == 200
    finally:
        procs.stop_all()
