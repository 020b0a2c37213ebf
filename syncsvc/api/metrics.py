"""Prometheus metrics from PostgreSQL (backlog) and Redis (counters), served on the ops listener.

The figures come from full aggregates over the outbox, the dead letters and ``sync_event``, so
they are not read per scrape: each API process computes them at most once per
``SYNCSVC_API_METRICS_MAX_AGE`` seconds (under a statement timeout), and scrapes arriving while
a computation runs wait for it and share it. ``syncsvc_metrics_computed_timestamp_seconds``
says when the figures served were read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncsvc.api.context import ApiContext
from syncsvc.backfill import store as backfills
from syncsvc.monitor import Backlog, ConnectionStatus, collect

T = TypeVar("T")

STATEMENT_TIMEOUT = "10s"
"""A computation that takes longer fails (the scrape gets a 503) instead of piling up."""

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


@dataclass(frozen=True)
class Figures:
    connections: list[ConnectionStatus]
    backlog: Backlog
    computed_at: float
    backfills: list[backfills.Progress]
    """Running backfills and those that ended in the last hour."""
    """Unix time the figures were read."""


class Cached(Generic[T]):
    """``compute()`` at most once per ``max_age`` seconds; callers that arrive while it runs wait
    for it and get its result. A computation that fails leaves nothing cached: the next caller
    tries again."""

    def __init__(
        self,
        compute: Callable[[], T],
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = 0.0

    def get(self) -> T:
        with self._lock:
            if self._value is None or self._clock() - self._at >= self.max_age:
                self._value = None
                value = self._compute()
                self._value, self._at = value, self._clock()
            return self._value


def read_figures(ctx: ApiContext) -> Figures:
    with ctx.db() as db:
        db.execute("SELECT set_config('statement_timeout', %s, true)", (STATEMENT_TIMEOUT,))
        rows, backlog = collect(db, ctx.settings)
        running = backfills.active(db)
    return Figures(rows, backlog, time.time(), running)


class BacklogCollector(Collector):
    def __init__(self, ctx: ApiContext) -> None:
        self.figures = Cached(lambda: read_figures(ctx), ctx.api.metrics_max_age)

    def collect(self) -> Iterator[Metric]:
        figures = self.figures.get()
        rows, backlog = figures.connections, figures.backlog
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
        paused = GaugeMetricFamily(
            "syncsvc_connection_paused",
            "1 when the connection is paused (reason: credentials, the CRM refused them), else 0.",
            labels=[*LABELS, "reason"],
        )
        for r in rows:
            labels = [r.name, r.provider, r.mode]
            for attr, family in counters.items():
                family.add_metric(labels, float(getattr(r, attr)))
            pending.add_metric(labels, float(r.pending))
            delivered.add_metric(labels, float(r.delivered_records))
            oldest.add_metric(labels, float(r.oldest_pending_seconds or 0.0))
            dead.add_metric(labels, float(r.dead_letters))
            paused.add_metric([*labels, r.paused or ""], 1.0 if r.paused else 0.0)
        yield from counters.values()
        yield from (pending, delivered, oldest, dead, paused)
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
        yield from backfill_metrics(figures.backfills)
        yield GaugeMetricFamily(
            "syncsvc_metrics_computed_timestamp_seconds",
            "When the figures above were read (they are reused for SYNCSVC_API_METRICS_MAX_AGE).",
            value=figures.computed_at,
        )


BACKFILL_LABELS = ["backfill", "connection", "table", "rule"]
BACKFILL_COUNTS = (
    ("rows_read", "Source rows a backfill has read."),
    ("queued", "Records a backfill has queued (events written)."),
    ("pushed", "Records of a backfill delivered to the CRM (per the outbox)."),
    ("failed", "Records of a backfill that failed for good (dead letters)."),
)


def backfill_metrics(rows: list[backfills.Progress]) -> Iterator[Metric]:
    """Per backfill (running, or ended within the hour): its counts, and 1 for its state."""
    counts = {
        attr: GaugeMetricFamily(f"syncsvc_backfill_{attr}", doc, labels=BACKFILL_LABELS)
        for attr, doc in BACKFILL_COUNTS
    }
    state = GaugeMetricFamily(
        "syncsvc_backfill_state",
        "1 for the backfill's state (running, done, cancelled, failed).",
        labels=[*BACKFILL_LABELS, "state"],
    )
    for p in rows:
        labels = [str(p.id), p.connection, p.source_table, p.rule_name or ""]
        for attr, family in counts.items():
            family.add_metric(labels, float(getattr(p, attr)))
        state.add_metric([*labels, p.state], 1.0)
    yield from counts.values()
    yield state
