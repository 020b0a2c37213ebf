"""The backfill benchmark's figures as a terminal table and as a docs/benchmarks.md entry."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

from rich.table import Table

from bench.backfill import BackfillFigures
from bench.stats import RunFigures


def code_version() -> str:
    """The checkout's commit (``+`` when it has changes), so an entry names the code it ran."""
    repo = Path(__file__).resolve().parent.parent
    run = [
        ["git", "rev-parse", "--short", "HEAD"],
        ["git", "status", "--porcelain", "-uno", "--", ".", ":!docs/benchmarks.md"],
    ]
    out = [subprocess.run(a, cwd=repo, capture_output=True, text=True, check=False) for a in run]
    if out[0].returncode != 0:
        return "unknown"
    return out[0].stdout.strip() + ("+" if out[1].stdout.strip() else "")


def rss_text(mb: list[float]) -> str:
    """A service's processes' peak RSS, largest first: ``"212 + 98 + 97 MB"``."""
    return " + ".join(f"{m:,.0f}" for m in mb) + " MB"


def lines(b: BackfillFigures, baseline: RunFigures | None) -> list[tuple[str, str]]:
    """``(what, figure)`` rows shared by the terminal and the markdown."""
    rows = [
        ("backfilled rows", f"{b.records:,}"),
        ("seconds (backfill start → last ack)", f"{b.seconds:,.1f}"),
        ("records/s reaching the simulator", f"{b.records_per_second:,.0f}"),
        ("first row acknowledged after", f"{b.first_ack_seconds:,.1f} s"),
    ]
    if baseline is not None:
        rows.append(
            (
                f"live batched chains, {baseline.records:,} inserts (same run)",
                f"{baseline.syncs_per_second:,.0f} records/s",
            )
        )
        ratio = b.records_per_second / baseline.syncs_per_second
        rows.append(("backfill / live batched chains", f"{ratio:.2f}×"))
    for service, mb in b.rss_mb.items():
        if service == "postgres":  # every backend's RSS counts the shared buffers it touched
            continue
        rows.append((f"peak RSS {service} (per process)", rss_text(mb)))
    for service, cpu in b.cpu_seconds.items():
        rows.append((f"CPU seconds {service} (all processes)", f"{cpu:,.1f}"))
    for app, (seconds, what) in sorted(b.locks.waits.items()):
        rows.append((f"longest lock wait, {app}", f"{seconds * 1000:,.0f} ms ({what})"))
    if not b.locks.waits:
        rows.append(("longest lock wait", "none seen"))
    for app, seconds in sorted(b.locks.transactions.items()):
        rows.append((f"longest open transaction, {app}", f"{seconds * 1000:,.0f} ms"))
    rows.append(
        (
            "lock samples (100 ms) with a waiter",
            f"{b.locks.samples_with_waits:,} of {b.locks.samples:,}",
        )
    )
    return rows


def _live_row(r: RunFigures) -> str:
    return (
        f"| {r.label} | {r.records} | {r.seconds:.1f} | {r.syncs_per_second:,.0f} "
        f"| {r.p50_ms:,.0f} | {r.p95_ms:,.0f} | {r.p99_ms:,.0f} | {r.max_ms:,.0f} |"
    )


def table(b: BackfillFigures, baseline: RunFigures | None) -> Table:
    out = Table("backfill", "figure")
    for what, figure in lines(b, baseline):
        out.add_row(what, figure)
    return out


def markdown(command: str, b: BackfillFigures, baseline: RunFigures | None, note: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"### {now} — hubspot backfill",
        "",
        f"Command: `{command}`  ",
        f"Code: {code_version()}  ",
        f"Machine: {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "",
        "| backfill | figure |",
        "|---|---:|",
    ]
    out += [f"| {what} | {figure} |" for what, figure in lines(b, baseline)]
    runs = [r for r in (b.live, baseline) if r is not None]
    if runs:
        out += [
            "",
            "| run | records | seconds | syncs/s | p50 ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        out += [_live_row(r) for r in runs]
    if note:
        out += ["", note]
    return "\n".join(out) + "\n\n"
