"""``run`` (the README's first command) and ``demo --duration``: the whole system, live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import requests
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from providers.registry import get_provider, provider_names
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.cli.status import status_table
from syncsvc.db import connect
from syncsvc.demo.system import (
    example_configs,
    prepare_database,
    sim_url,
    start_procfile,
    stop_procfile,
    wait_for_http,
)
from syncsvc.demo.writer import DemoWriter
from syncsvc.flower_auth import flower_credentials
from syncsvc.monitor import collect
from syncsvc.settings import Settings

console = Console()
API_URL = "http://127.0.0.1:8000"


def simulator_counts(settings: Settings) -> dict[str, dict[str, int]]:
    """Records held by each simulator a connection points at, per object."""
    counts: dict[str, dict[str, int]] = {}
    with connect(settings.db_url) as db:
        rows = db.execute(
            "SELECT name, provider, base_url FROM syncsvc.connection ORDER BY name"
        ).fetchall()
    for r in rows:
        per_object: dict[str, int] = {}
        for obj in get_provider(r["provider"]).defaults.objects:
            try:
                resp = requests.get(
                    f"{r['base_url']}/_sim/records", params={"object": obj}, timeout=2
                )
                per_object[obj] = len(resp.json()["records"])
            except (requests.RequestException, ValueError, KeyError):
                per_object[obj] = -1
        counts[r["name"]] = per_object
    return counts


def _view(settings: Settings, writer: DemoWriter, started: float, flower: str) -> Group:
    with connect(settings.db_url) as db:
        rows, backlog = collect(db, settings)
    sims = Table("connection", "records in the CRM simulator", title="simulators")
    for name, per_object in simulator_counts(settings).items():
        sims.add_row(name, ", ".join(f"{o}: {n if n >= 0 else '?'}" for o, n in per_object.items()))
    w = writer.stats
    header = Text.assemble(
        ("syncsvc demo ", "bold"),
        f"— {time.monotonic() - started:.0f}s — wrote {w.total} changes "
        f"({w.inserts} inserts, {w.updates} updates, {w.deletes} deletes, "
        f"{w.invalid} invalid emails)\n",
        f"Flower: {flower}   logs: {settings.data_dir / 'logs' / 'procfile.log'}   Ctrl-C to stop",
    )
    return Group(header, status_table(rows, backlog), sims)


def _run_system(
    app: AppContext, duration: float | None, rate: float, config_files: tuple[Path, ...]
) -> None:
    settings = app.settings
    console.print(
        f"[bold]PostgreSQL[/bold] {settings.db_url}\n[bold]Redis[/bold] {settings.broker_url}"
    )
    files = list(config_files) or example_configs()
    prepare_database(settings, files)
    console.print("migrated, captured demo tables, applied " + ", ".join(str(f) for f in files))
    log_file = settings.data_dir / "logs" / "procfile.log"
    proc = start_procfile(app.child_env(), log_file)
    flower = "http://127.0.0.1:5555"
    writer_stop = threading.Event()
    try:
        deadline = time.monotonic() + 120
        for provider in provider_names():
            wait_for_http(sim_url(provider) + "/_sim/health", deadline, proc)
        wait_for_http(flower + "/healthcheck", deadline, proc)
        wait_for_http(API_URL + "/healthz", deadline, proc)
        user, password = flower_credentials(settings)
        console.print(
            "processes up (bridge, workers, beat, API, simulators)\n"
            f"Flower: [bold]{flower}[/bold] (user [bold]{user}[/bold], "
            f"password [bold]{password}[/bold])   API: [bold]{API_URL}[/bold]"
        )
        with connect(settings.db_url, autocommit=True) as db:
            writer = DemoWriter(db, rate=rate)
            thread = threading.Thread(target=writer.run, args=(writer_stop,), daemon=True)
            thread.start()
            started = time.monotonic()
            with Live(
                _view(settings, writer, started, flower), console=console, refresh_per_second=1
            ) as live:
                try:
                    while duration is None or time.monotonic() - started < duration:
                        if proc.poll() is not None:
                            raise click.ClickException(f"processes exited; see {log_file}")
                        time.sleep(1)
                        live.update(_view(settings, writer, started, flower))
                    writer_stop.set()
                    thread.join(10)
                    drain_deadline = time.monotonic() + 60
                    while time.monotonic() < drain_deadline:
                        with connect(settings.db_url) as db2:
                            rows, backlog = collect(db2, settings)
                        live.update(_view(settings, writer, started, flower))
                        if backlog.undispatched + backlog.in_flight == 0 and all(
                            r.pending == 0 for r in rows
                        ):
                            break
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
            writer_stop.set()
    finally:
        writer_stop.set()
        stop_procfile(proc)
    console.print(
        "stopped. Local servers keep running; `python manage.py servers stop` stops them."
    )


F = TypeVar("F", bound=Callable[..., Any])


def demo_options(fn: F) -> F:
    """--rate and --config, shared by `run` and `demo`."""
    fn = click.option(
        "--config",
        "config_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Config file to apply (repeatable; default: every file in examples/connections/).",
    )(fn)
    return click.option(
        "--rate",
        default=20.0,
        show_default=True,
        type=click.FloatRange(0.1, 10000),
        help="Changes per second.",
    )(fn)


@cli.command()
@demo_options
@pass_app
def run(app: AppContext, rate: float, config_files: tuple[Path, ...]) -> None:
    """Run everything (servers, migrations, bridge, workers, beat, API, Flower, simulators) and
    write demo changes, with a live view, until Ctrl-C."""
    _run_system(app, None, rate, config_files)


@cli.command()
@click.option(
    "--duration",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1, 86400),
    help="Seconds of writing.",
)
@demo_options
@pass_app
def demo(app: AppContext, duration: float, rate: float, config_files: tuple[Path, ...]) -> None:
    """Like `run`, but write for --duration seconds, let the backlog drain, print a summary."""
    _run_system(app, duration, rate, config_files)
