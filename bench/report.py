"""Print the benchmark's figures and append them to docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

from rich.table import Table

from bench.capture_overhead import OverheadFigure
from bench.stats import RunFigures

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def runs_table(runs: list[RunFigures]) -> Table:
    table = Table("run", "records", "seconds", "syncs/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    for r in runs:
        table.add_row(
            r.label, str(r.records), f"{r.seconds:.1f}", f"{r.syncs_per_second:,.0f}",
            f"{r.p50_ms:,.0f}", f"{r.p95_ms:,.0f}", f"{r.p99_ms:,.0f}", f"{r.max_ms:,.0f}",
        )  # fmt: skip
    return table


def markdown(
    command: str,
    provider: str,
    runs: list[RunFigures],
    overhead: list[OverheadFigure],
    ratio: float | None,
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {now} — {provider}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "",
        "| run | records | seconds | syncs/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.label} | {r.records} | {r.seconds:.1f} | {r.syncs_per_second:,.0f} "
            f"| {r.p50_ms:,.0f} "
            f"| {r.p95_ms:,.0f} | {r.p99_ms:,.0f} | {r.max_ms:,.0f} |"
        )
    if ratio is not None:
        lines += [
            "",
            f"Batched chains vs one chain per record (same run): **{ratio:.1f}×** syncs/s.",
        ]
    if overhead:
        lines += [
            "",
            "Capture overhead, 8 concurrent single-row UPDATE committers:",
            "",
            "| capture | commits/s | vs none |",
            "|---|---:|---:|",
        ]
        lines += [f"| {o.mode} | {o.commits_per_second:,.0f} | {o.ratio:.2f} |" for o in overhead]
    return "\n".join(lines) + "\n\n"


def append(text: str, path: Path = BENCHMARKS_MD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(
            "# Benchmarks\n\nEvery entry is what `manage.py bench` printed, with the command that "
            "produced it. The machine is shared and noisy: compare the ratios within one entry, "
            "not absolute numbers across entries.\n\n"
        )
    with path.open("a") as fh:
        fh.write(text)
