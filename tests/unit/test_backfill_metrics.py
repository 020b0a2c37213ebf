"""A backfill's progress as Prometheus gauges."""

from __future__ import annotations

import datetime as dt

from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from syncsvc.api.metrics import backfill_metrics
from syncsvc.backfill.store import Progress

NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)


def progress(backfill_id: int, state: str, **counts: int) -> Progress:
    return Progress(
        id=backfill_id, connection="hubspot-main", provider="hubspot",
        source_table="demo.contacts", rule_name=None, state=state, pages=counts.get("pages", 0),
        rows_read=counts.get("rows_read", 0), queued=counts.get("queued", 0),
        pushed=counts.get("pushed", 0), failed=counts.get("failed", 0), reading=False,
        started_at=NOW, updated_at=NOW, finished_at=None, elapsed_seconds=1.0, where_sql=None,
        last_key=None, pid=None, host=None, error=None,
    )  # fmt: skip


class Fixed(Collector):
    def __init__(self, rows: list[Progress]) -> None:
        self.rows = rows

    def collect(self):  # type: ignore[no-untyped-def]
        return backfill_metrics(self.rows)


def test_each_backfill_has_its_counts_and_its_state() -> None:
    registry = CollectorRegistry()
    registry.register(
        Fixed(
            [
                progress(3, "running", rows_read=1200, queued=1200, pushed=900, failed=2),
                progress(2, "done", rows_read=10, queued=10, pushed=10),
            ]
        )
    )
    text = generate_latest(registry).decode()
    labels = 'backfill="3",connection="hubspot-main",rule="",table="demo.contacts"'
    assert f"syncsvc_backfill_rows_read{{{labels}}} 1200.0" in text
    assert f"syncsvc_backfill_pushed{{{labels}}} 900.0" in text
    assert f"syncsvc_backfill_failed{{{labels}}} 2.0" in text
    running = 'backfill="3",connection="hubspot-main",rule="",state="running",table="demo.contacts"'
    assert f"syncsvc_backfill_state{{{running}}} 1.0" in text
    assert 'syncsvc_backfill_state{backfill="2",' in text
    assert 'rule="",state="done",table="demo.contacts"} 1.0' in text
