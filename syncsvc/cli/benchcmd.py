"""``bench``: drive N changes through the whole path and compare with the per-record baseline."""

from __future__ import annotations

import shlex
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from providers.registry import provider_names
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app

console = Console()


def _exit_on_term(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@cli.command()
@click.option("--records", default=20_000, show_default=True, type=click.IntRange(100, 10_000_000))
@click.option(
    "--provider", default="hubspot", show_default=True, type=click.Choice(list(provider_names()))
)
@click.option(
    "--baseline-records",
    default=2_000,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Records for the naive one-chain-per-record run (0 skips it).",
)
@click.option(
    "--rate",
    type=click.FloatRange(1, 1_000_000),
    help="Write at this many records/s (default: burst).",
)
@click.option("--capture-overhead/--no-capture-overhead", default=True, show_default=True)
@click.option("--no-record", is_flag=True, help="Do not append the result to docs/benchmarks.md.")
@click.option(
    "--backfill",
    "backfill_rows",
    type=click.IntRange(1_000, 10_000_000),
    help="Instead: backfill this many existing rows (HubSpot) and compare with --records live "
    "inserts through batched chains.",
)
@click.option(
    "--live-rate",
    type=click.FloatRange(1, 100_000),
    help="With --backfill: insert this many live rows/s meanwhile and report their latency.",
)
@click.option(
    "--page-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="With --backfill: the backfill's --page-size.",
)
@click.option(
    "--max-backlog",
    type=click.IntRange(1, 1_000_000),
    help="With --backfill: the backfill's --max-backlog.",
)
@click.option(
    "--bridge-batch-size",
    type=click.IntRange(1, 100_000),
    help="With --backfill: SYNCSVC_BRIDGE_BATCH_SIZE for the run (events per claim and chain).",
)
@pass_app
def bench(
    app: AppContext,
    records: int,
    provider: str,
    baseline_records: int,
    rate: float | None,
    capture_overhead: bool,
    no_record: bool,
    backfill_rows: int | None,
    live_rate: float | None,
    page_size: int,
    max_backlog: int | None,
    bridge_batch_size: int | None,
) -> None:
    """Benchmark trigger → bridge → chain → outbox → simulator in a scratch database.

    Prints end-to-end syncs/s and commit-to-acknowledgement latency, for batched chains and for
    the naive one-chain-per-record baseline in the same run, plus what capture costs writers.
    """
    from bench import capture_overhead as overhead_mod
    from bench.pipeline import PipelineBench, scratch_database
    from bench.report import append, markdown, runs_table

    settings = app.settings
    command = "python manage.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    # SIGTERM (``timeout``, ``kill``) ends the run like Ctrl-C: the servers, workers and
    # simulators it started are stopped on the way out instead of left running.
    signal.signal(signal.SIGTERM, _exit_on_term)
    if backfill_rows is not None:
        if provider != "hubspot":
            raise click.UsageError("--backfill runs against the HubSpot simulator only")
        _bench_backfill(
            app,
            command,
            backfill_rows,
            (live_rate, page_size, max_backlog, bridge_batch_size),
            records,
            not no_record,
        )
        if not no_record:
            console.print("appended to docs/benchmarks.md")
        return
    if live_rate is not None:
        raise click.UsageError("--live-rate goes with --backfill")
    with tempfile.TemporaryDirectory(prefix="syncsvc-bench-") as tmp:
        runner = PipelineBench(
            settings.db_url, settings.broker_url, provider, Path(tmp), console.print
        )
        runs = []
        runs.append(runner.run("batched chains", records, chain_size=0, rate=rate))
        if baseline_records:
            runs.append(
                runner.run("one chain per record", baseline_records, chain_size=1, rate=rate)
            )
        overhead = []
        if capture_overhead:
            console.print("capture overhead: 8 writers × 4 modes × 3 s")
            with scratch_database(settings.db_url) as url:
                overhead = overhead_mod.measure(url)
    console.print(runs_table(runs))
    ratio = runs[0].syncs_per_second / runs[1].syncs_per_second if len(runs) == 2 else None
    if ratio is not None:
        console.print(f"batched / per-record: [bold]{ratio:.1f}×[/bold]")
    if overhead:
        table = Table(
            "capture", "commits/s", "vs none", title="8 concurrent single-row UPDATE writers"
        )
        for o in overhead:
            table.add_row(o.mode, f"{o.commits_per_second:,.0f}", f"{o.ratio:.2f}")
        console.print(table)
    if not no_record:
        append(markdown(command, provider, runs, overhead, ratio))
        console.print("appended to docs/benchmarks.md")


def _bench_backfill(
    app: AppContext,
    command: str,
    rows: int,
    options: tuple[float | None, int, int | None, int | None],
    baseline_records: int,
    record: bool,
) -> None:
    from bench.backfill import BackfillBench
    from bench.backfill_report import markdown, table
    from bench.report import append, runs_table

    settings = app.settings
    with tempfile.TemporaryDirectory(prefix="syncsvc-bench-") as tmp:
        runner = BackfillBench(
            settings.db_url, settings.broker_url, "hubspot", Path(tmp), console.print
        )
        figures = runner.run_backfill(rows, *options)
        console.print(table(figures, None))
        baseline = runner.run("live batched chains", baseline_records, chain_size=0, rate=None)
    console.print(table(figures, baseline))
    console.print(runs_table([r for r in (figures.live, baseline) if r is not None]))
    if record:
        append(markdown(command, figures, baseline, ""))
