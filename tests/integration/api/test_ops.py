"""Operators and tenants apart: /metrics and the detailed /healthz only on the ops listener;
the tenant listener's /healthz tells nothing. Metrics from cached figures, not a scan a scrape."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.api.conftest import ApiProcess, ApiWorld, contacts_connection
from tests.integration.conftest import execute
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def find_metric(text: str, name: str, connection: str | None = None) -> float | None:
    labels = rf'\{{[^}}]*connection="{connection}"[^}}]*\}}' if connection else ""
    match = re.search(rf"^{name}{labels} ([0-9.e+-]+)$", text, re.MULTILINE)
    return None if match is None else float(match.group(1))


def metric(text: str, name: str, connection: str | None = None) -> float:
    value = find_metric(text, name, connection)
    assert value is not None, f"{name} for {connection} not in:\n{text}"
    return value


def test_the_tenant_listener_serves_no_metrics_and_a_healthz_that_tells_nothing(
    world: ApiWorld,
) -> None:
    world.connections(contacts_connection("secret-tenant"))
    ops_host = urlsplit(world.ops_url).netloc
    for headers in ({}, {"Host": ops_host}):  # naming the ops port changes nothing
        resp = requests.get(f"{world.url}/metrics", headers=headers, timeout=10)
        assert resp.status_code == 404, resp.text
        assert "secret-tenant" not in resp.text
        assert "syncsvc_" not in resp.text
    health = requests.get(f"{world.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    # The ops listener has the figures (and nothing of the tenants' API).
    assert "secret-tenant" in requests.get(f"{world.ops_url}/metrics", timeout=10).text
    assert requests.get(f"{world.ops_url}/v1/events", timeout=10).status_code == 404


def test_ops_healthz_checks_postgres_and_redis(ops_url: str) -> None:
    resp = requests.get(f"{ops_url}/healthz", timeout=10)
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

    def scrape() -> str:
        resp = requests.get(f"{world.ops_url}/metrics", timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("text/plain")
        return resp.text

    def backlog() -> str | None:
        text = scrape()
        return text if find_metric(text, "syncsvc_outbox_pending", "watched") == 3 else None

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

    def delivered() -> str | None:  # each API process has figures up to a second old
        text = scrape()
        return text if find_metric(text, "syncsvc_outbox_delivered", "watched") == 3 else None

    after = wait_until(delivered, 30)
    assert metric(after, "syncsvc_outbox_pending", "watched") == 0
    assert metric(after, "syncsvc_records_pushed_total", "watched") == 3


def test_scrapes_share_figures_computed_at_most_once_per_max_age(
    world: ApiWorld, strict_api: ApiProcess
) -> None:
    """The strict API keeps its figures an hour: scrapes in between read no table."""
    world.connections(contacts_connection("first"))

    def scrape(_: object = None) -> str:
        resp = requests.get(f"{strict_api.ops_url}/metrics", timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.text

    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(scrape, range(8)))
    stamps = {metric(t, "syncsvc_metrics_computed_timestamp_seconds") for t in texts}
    assert len(stamps) == 1, "concurrent scrapes share one computation"
    assert 'connection="first"' in texts[0]

    world.connections(contacts_connection("first"), contacts_connection("second"))
    again = scrape()
    assert metric(again, "syncsvc_metrics_computed_timestamp_seconds") in stamps
    assert 'connection="second"' not in again, "a scrape within the max age reads no table"
