"""/healthz and /metrics: no key needed, numbers from PostgreSQL and Redis."""

from __future__ import annotations

import re

import pytest
import requests

from tests.integration.api.conftest import ApiWorld, contacts_connection
from tests.integration.conftest import execute
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def metric(text: str, name: str, connection: str | None = None) -> float:
    labels = rf'\{{[^}}]*connection="{connection}"[^}}]*\}}' if connection else ""
    match = re.search(rf"^{name}{labels} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match is not None, f"{name} for {connection} not in:\n{text}"
    return float(match.group(1))


def test_healthz_checks_postgres_and_redis(api_url: str) -> None:
    resp = requests.get(f"{api_url}/healthz", timeout=10)
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


def test_metrics_show_backlog_and_counters_per_connection(world: ApiWorld) -> None:
    world.connections(contacts_connection("watched"))
    api = world.client("watched", "write")
    execute(
        world.pipeline.db,
        "INSERT INTO demo.contacts (email) SELECT 'm' || g || '@example.com' "
        "FROM generate_series(1, 3) g",
    )

    def backlog() -> str | None:
        text = requests.get(f"{world.url}/metrics", timeout=10).text
        return text if metric(text, "syncsvc_outbox_pending", "watched") == 3 else None

    text = wait_until(backlog, 60)
    assert metric(text, "syncsvc_events_captured_total", "watched") == 3
    assert metric(text, "syncsvc_outbox_oldest_pending_seconds", "watched") >= 0
    for name in (
        "syncsvc_records_pushed_total",
        "syncsvc_records_failed_total",
        "syncsvc_rate_limit_waits_total",
        "syncsvc_dead_letters",
    ):
        assert metric(text, name, "watched") == 0
    for name in ("syncsvc_events_waiting", "syncsvc_events_in_flight"):
        metric(text, name)

    page = wait_until(
        lambda: p if len((p := api.changes("watched").json())["changes"]) == 3 else None, 60
    )
    api.ack("watched", page["next_cursor"])
    after = requests.get(f"{world.url}/metrics", timeout=10)
    assert after.headers["Content-Type"].startswith("text/plain")
    assert metric(after.text, "syncsvc_outbox_pending", "watched") == 0
    assert metric(after.text, "syncsvc_outbox_delivered", "watched") == 3
    assert metric(after.text, "syncsvc_records_pushed_total", "watched") == 3
