"""``dlq``: list, show, replay and purge dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from syncsvc import dlq as dlq_mod
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, iso_time, pass_app
from syncsvc.db import connect

console = Console()
STAGES = click.Choice(["validate", "transform", "persist", "push"])


def _filters(
    connection: str | None, stage: str | None, since: str | None, ids: tuple[int, ...], limit: int
) -> dlq_mod.Filters:
    return dlq_mod.Filters(connection, stage, iso_time(since), list(ids) or None, limit=limit)


F = TypeVar("F", bound=Callable[..., Any])


def filter_options(fn: F) -> F:
    fn = click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))(
        fn
    )
    fn = click.option("--id", "ids", multiple=True, type=int, help="Only these dead letters.")(fn)
    fn = click.option("--since", help="Created at or after (ISO date/datetime, UTC if no zone).")(
        fn
    )
    fn = click.option("--stage", type=STAGES)(fn)
    return click.option("--connection", help="Connection name.")(fn)


@cli.group()
def dlq() -> None:
    """Dead letters: changes that cannot go on without a person, with the reason."""


@dlq.command("list")
@filter_options
@click.option("--all", "include_replayed", is_flag=True, help="Include replayed ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_app
def dlq_list(
    app: AppContext,
    connection: str | None,
    stage: str | None,
    since: str | None,
    ids: tuple[int, ...],
    limit: int,
    include_replayed: bool,
    as_json: bool,
) -> None:
    """List dead letters (not yet replayed, unless --all)."""
    filters = _filters(connection, stage, since, ids, limit)
    filters = dlq_mod.Filters(**{**filters.__dict__, "include_replayed": include_replayed})
    with connect(app.settings.db_url) as db:
        rows = dlq_mod.list_dead_letters(db, filters)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    table = Table(
        "id", "connection", "record", "op", "stage", "field", "reason", "created", "replayed"
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["connection"] or "(deleted)",
            f"{r['source_table']}:{r['record_key']}",
            r["op"],
            r["stage"],
            r["field"] or "",
            r["reason"][:80],
            r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
            r["replayed_at"].strftime("%Y-%m-%d %H:%M:%S") if r["replayed_at"] else "",
        )
    console.print(table if rows else "no dead letters")


@dlq.command("show")
@click.argument("letter_id", type=int)
@pass_app
def dlq_show(app: AppContext, letter_id: int) -> None:
    """Everything recorded about one dead letter, as JSON."""
    with connect(app.settings.db_url) as db:
        row = dlq_mod.get_dead_letter(db, letter_id)
    if row is None:
        raise click.ClickException(f"no dead letter {letter_id}")
    click.echo(json.dumps(row, indent=2, default=str))


@dlq.command("replay")
@filter_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def dlq_replay(
    app: AppContext,
    connection: str | None,
    stage: str | None,
    since: str | None,
    ids: tuple[int, ...],
    limit: int,
    yes: bool,
) -> None:
    """Send matching dead letters through the chain again with the current config.

    A record that has a newer version since is not replayed (the newer one goes instead).
    """
    filters = _filters(connection, stage, since, ids, limit)
    with connect(app.settings.db_url) as db:
        count = len(dlq_mod.list_dead_letters(db, filters))
        if count == 0:
            click.echo("nothing to replay")
            return
        if not yes:
            click.confirm(f"replay {count} dead letter(s)?", abort=True)
        with db.transaction():
            report = dlq_mod.replay(db, filters)
    click.echo(
        f"requeued {len(report.requeued)}, re-sent {len(report.resent)}, "
        f"superseded by a newer version {len(report.superseded)}, skipped {len(report.skipped)}"
    )
    for letter_id, why in report.skipped:
        click.echo(f"  skipped {letter_id}: {why}")


@dlq.command("purge")
@click.option("--before", required=True, help="Delete dead letters created before this date.")
@click.option("--connection", help="Only this connection's.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def dlq_purge(app: AppContext, before: str, connection: str | None, yes: bool) -> None:
    """Delete old dead letters for good."""
    when = iso_time(before)
    assert when is not None
    if not yes:
        click.confirm(f"delete dead letters created before {when.isoformat()}?", abort=True)
    with connect(app.settings.db_url) as db, db.transaction():
        deleted = dlq_mod.purge(db, when, connection)
    click.echo(f"deleted {deleted} dead letter(s)")
