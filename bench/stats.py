"""Throughput and latency figures from commit times and CRM acknowledgement times."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class RunFigures:
    label: str
    records: int
    seconds: float
    syncs_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def figures(label: str, committed: dict[str, float], acked: dict[str, float]) -> RunFigures:
    """``committed`` and ``acked`` map record keys to wall-clock seconds."""
    keys = [k for k in committed if k in acked]
    if not keys:
        raise ValueError("no record was acknowledged")
    latencies = sorted(max(0.0, acked[k] - committed[k]) * 1000 for k in keys)
    start = min(committed[k] for k in keys)
    end = max(acked[k] for k in keys)
    seconds = max(end - start, 1e-6)
    return RunFigures(
        label=label,
        records=len(keys),
        seconds=seconds,
        syncs_per_second=len(keys) / seconds,
        p50_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1],
    )


def timeline(
    committed: dict[str, float], acked: dict[str, float], bucket_seconds: float = 5.0
) -> list[tuple[float, int, float]]:
    """Latency over the run: per ``bucket_seconds`` of commit time (from the first commit), the
    records committed then and their p99 in ms, to tell a steady tail from one stall."""
    keys = [k for k in committed if k in acked]
    if not keys:
        return []
    start = min(committed[k] for k in keys)
    buckets: dict[int, list[float]] = {}
    for k in keys:
        index = int((committed[k] - start) // bucket_seconds)
        buckets.setdefault(index, []).append(max(0.0, acked[k] - committed[k]) * 1000)
    return [
        (i * bucket_seconds, len(v), percentile(sorted(v), 0.99))
        for i, v in sorted(buckets.items())
    ]
