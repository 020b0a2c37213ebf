"""Prometheus metrics, read at scrape time from PostgreSQL (backlog) and Redis (counters).

Nothing is kept in the API process, so any number of API workers give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncsvc.api.context import ApiContext
from syncsvc.monitor import collect

LABELS = ["connection", "provider", "mode"]

COUNTERS = (
    ("captured", "syncsvc_events_captured", "Changes captured (trigger or POST /v1/events)."),
    (
        "pushed",
        "syncsvc_records_pushed",
        "Records delivered (pushed, or acknowledged by a poller).",
    ),
    ("failed", "syncsvc_records_failed", "Records that failed for good (dead letters written)."),
    ("rate_limit_waits", "syncsvc_rate_limit_waits", "Records that waited for a rate limit."),
)


class BacklogCollector(Collector):
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        with self.ctx.db() as db:
            rows, backlog = collect(db, self.ctx.settings)
        counters = {
            attr: CounterMetricFamily(name, doc, labels=LABELS) for attr, name, doc in COUNTERS
        }
        pending = GaugeMetricFamily(
            "syncsvc_outbox_pending", "Outbox records waiting for delivery.", labels=LABELS
        )
        delivered = GaugeMetricFamily(
            "syncsvc_outbox_delivered", "Outbox records whose latest version is delivered.",
            labels=LABELS,
        )  # fmt: skip
        oldest = GaugeMetricFamily(
            "syncsvc_outbox_oldest_pending_seconds",
            "Age of the oldest pending outbox record (0 when none is pending).",
            labels=LABELS,
        )
        dead = GaugeMetricFamily(
            "syncsvc_dead_letters", "Dead letters not yet replayed.", labels=LABELS
        )
        for r in rows:
            labels = [r.name, r.provider, r.mode]
            for attr, family in counters.items():
                family.add_metric(labels, float(getattr(r, attr)))
            pending.add_metric(labels, float(r.pending))
            delivered.add_metric(labels, float(r.delivered_records))
            oldest.add_metric(labels, float(r.oldest_pending_seconds or 0.0))
            dead.add_metric(labels, float(r.dead_letters))
        yield from counters.values()
        yield from (pending, delivered, oldest, dead)
        yield GaugeMetricFamily(
            "syncsvc_events_waiting", "Captured events not yet claimed by a bridge.",
            value=float(backlog.undispatched),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "syncsvc_events_in_flight", "Events claimed and not yet persisted.",
            value=float(backlog.in_flight),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "syncsvc_events_oldest_seconds", "Age of the oldest event not yet persisted.",
            value=float(backlog.oldest_seconds or 0.0),
        )  # fmt: skip
