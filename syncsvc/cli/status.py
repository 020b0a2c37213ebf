"""``status``: per-connection counters, backlog and lag, printed once."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from syncsvc.backfill import store as backfills
from syncsvc.cli import cli
from syncsvc.cli.backfillview import backfill_table
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.db import connect
from syncsvc.links import store as link_store
from syncsvc.monitor import Backlog, ConnectionStatus, collect


def status_table(rows: list[ConnectionStatus], backlog: Backlog) -> Table:
    table = Table(
        "connection", "provider", "mode", "state", "captured", "pushed", "failed", "pending",
        "dead letters", "oldest pending",
        title=(
            f"events: {backlog.undispatched} waiting, {backlog.in_flight} in flight"
            + (f", oldest {backlog.oldest_seconds:.1f}s" if backlog.oldest_seconds else "")
        ),
    )  # fmt: skip
    for r in rows:
        table.add_row(
            r.name + ("" if r.enabled else " (disabled)"),
            r.provider,
            r.mode,
            r.state,
            str(r.captured),
            str(r.pushed),
            str(r.failed),
            str(r.pending),
            str(r.dead_letters),
            f"{r.oldest_pending_seconds:.1f}s" if r.oldest_pending_seconds is not None else "-",
        )
    return table


@cli.command()
@pass_app
def status(app: AppContext) -> None:
    """Show captured / pushed / failed / pending per connection, and the event backlog."""
    with connect(app.settings.db_url) as db:
        rows, backlog = collect(db, app.settings)
        links = {r.name: link_store.counts(db, r.id) for r in rows}
        running = backfills.active(db)
    console = Console()
    console.print(status_table(rows, backlog))
    if running:
        console.print(backfill_table(running, "backfills (running or ended in the last hour)"))
    for name, counts in links.items():
        if counts:
            shown = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
            waiting = "pending" in counts
            note = " (pending: waiting for the parent to reach the CRM)" if waiting else ""
            click.echo(f"{name}: links {shown}{note}")
    for r in rows:
        if r.pause_message:
            click.echo(f"{r.name}: {r.state}: {r.pause_message}")
