"""``backfill``: send the rows a table already holds; ``backfill list``, ``backfill cancel``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from syncsvc.backfill import store
from syncsvc.backfill.plan import MAX_PAGE_SIZE, Request, plan
from syncsvc.backfill.runner import Runner
from syncsvc.cli import cli
from syncsvc.cli.backfilldry import print_dry_run
from syncsvc.cli.backfillview import ProgressView, backfill_table
from syncsvc.cli.context import AppContext, iso_time, pass_app
from syncsvc.db import connect
from syncsvc.scrub import scrub

console = Console()


class BackfillGroup(click.Group):
    """``backfill CONNECTION …`` and ``backfill --resume ID`` run ``backfill run``; ``list`` and
    ``cancel`` are subcommands (a connection named like one: ``backfill run NAME``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=BackfillGroup)
def backfill() -> None:
    """Send the rows your tables already hold to a connection's CRM (first sync, resync).

    \b
      manage.py backfill CONNECTION [--rule NAME] [--table T] [--where SQL] [--since TIME]
      manage.py backfill CONNECTION --dry-run …   (counts only, writes nothing)
      manage.py backfill --resume ID
      manage.py backfill list
      manage.py backfill cancel ID
    """


@backfill.command("run")
@click.argument("connection", required=False)
@click.option("--rule", help="Only this rule of the connection (and its source table).")
@click.option("--table", help="Only this source table (SCHEMA.TABLE) of the connection.")
@click.option(
    "--where",
    help="A SQL predicate on the source table (alias t), e.g. \"t.country = 'NO'\". Trusted "
    "input from the operator: checked (one expression, read-only, under a timeout), not "
    "sandboxed.",
)
@click.option(
    "--since",
    help="Only rows changed at or after this ISO date/datetime (UTC if no zone), by "
    "--since-column.",
)
@click.option(
    "--since-column",
    help="The date/timestamp column --since compares (default: updated_at, if the table has it).",
)
@click.option(
    "--page-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, MAX_PAGE_SIZE),
    help="Rows per page (one transaction each).",
)
@click.option(
    "--max-backlog",
    type=click.IntRange(1, 1_000_000),
    help="Write the next page only while the connection has at most this many records waiting "
    "[default: SYNCSVC_BACKFILL_MAX_BACKLOG, 2000].",
)
@click.option("--resume", "resume_id", type=int, help="Continue backfill ID where it stopped.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Count what the backfill would create, update, archive, skip and reject (validation, "
    "conditions, mappings); write nothing and call no CRM.",
)
@pass_app
def backfill_run(
    app: AppContext,
    connection: str | None,
    rule: str | None,
    table: str | None,
    where: str | None,
    since: str | None,
    since_column: str | None,
    page_size: int,
    max_backlog: int | None,
    resume_id: int | None,
    dry_run: bool,
) -> None:
    """Read CONNECTION's source tables in primary-key order, a page at a time, and send every row
    through the connection's rules, mappings and checks to its CRM, as live changes go.

    \b
    Rows changed meanwhile end in the CRM with their newest values. The backfill keeps to
    the connection's rate limit and leaves live changes their share of it
    (SYNCSVC_BACKFILL_LIVE_SHARE, 20 %). Progress is kept in PostgreSQL per page: after
    Ctrl-C, a crash or `kill -9`, run the same command again (or --resume ID) and it
    continues after the last page written. It ends when every row read is delivered or
    dead-lettered. A connection with several source tables is backfilled one table after
    another, each its own backfill.
    """
    settings = app.settings
    if dry_run:
        if resume_id is not None or connection is None:
            raise click.UsageError("--dry-run needs a CONNECTION (and takes no --resume)")
        request = Request(connection, rule, table, where, iso_time(since), since_column, page_size)
        print_dry_run(console, settings, request, settings.internal_schema_dirs)
        return
    if resume_id is not None:
        if connection or rule or table or where or since or since_column:
            raise click.UsageError("--resume ID takes no CONNECTION or filters")
        ids = [resume_id]
    elif connection is None:
        raise click.UsageError("name a CONNECTION, or --resume ID")
    else:
        request = Request(connection, rule, table, where, iso_time(since), since_column, page_size)
        ids = _start(settings.db_url, request, settings.internal_schema_dirs)
    stop = threading.Event()
    _stop_on_signals(stop)
    limit = max_backlog or settings.backfill_max_backlog
    with ProgressView(console) as view:
        for backfill_id in ids:
            state = Runner(settings.db_url, backfill_id, limit, view.update, stop).run()
            if state == "running":
                console.print(
                    f"stopped: backfill {backfill_id} continues with "
                    f"`manage.py backfill --resume {backfill_id}`"
                )
                raise SystemExit(130)
            if state != "done":
                _finished(settings.db_url, backfill_id)
                raise SystemExit(1)
    for backfill_id in ids:
        _finished(settings.db_url, backfill_id)


def _start(dsn: str, request: Request, schema_dirs: tuple[Path, ...]) -> list[int]:
    """The backfills the request means: an unfinished one of the same command continues."""
    ids = []
    with connect(dsn, autocommit=True) as db:
        specs = plan(db, request, schema_dirs)
        with db.transaction():
            for spec in specs:
                found = store.find_unfinished(db, spec)
                if found is not None:
                    console.print(f"continuing backfill {found} ({spec.source_table})")
                    ids.append(found)
                else:
                    ids.append(store.create(db, spec))
                    console.print(f"started backfill {ids[-1]} ({spec.source_table})")
    return ids


def _finished(dsn: str, backfill_id: int) -> None:
    with connect(dsn) as db:
        p = store.get(db, backfill_id)
    line = (
        f"backfill {p.id} {p.state}: read {p.rows_read:,} rows in {p.pages:,} pages, queued "
        f"{p.queued:,}, pushed {p.pushed:,}, failed {p.failed:,}"
    )
    error = f": {scrub(p.error)}" if p.error else ""
    console.print(line + error, highlight=False, soft_wrap=True)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@backfill.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@pass_app
def backfill_list(app: AppContext, limit: int) -> None:
    """The latest backfills: state, rows read, queued, pushed, failed, and who runs them."""
    with connect(app.settings.db_url) as db:
        rows = store.recent(db, limit)
    console.print(backfill_table(rows))


@backfill.command("cancel")
@click.argument("backfill_id", metavar="ID", type=int)
@pass_app
def backfill_cancel(app: AppContext, backfill_id: int) -> None:
    """Stop backfill ID: its process stops before its next page. Events it wrote that no bridge
    has claimed yet are dropped; records already on their way still arrive."""
    with connect(app.settings.db_url) as db, db.transaction():
        store.get(db, backfill_id)
        cancelled, dropped = store.cancel(db, backfill_id)
    if cancelled:
        click.echo(f"cancelled backfill {backfill_id} ({dropped} queued record(s) dropped)")
    else:
        click.echo(f"backfill {backfill_id} is not running")
