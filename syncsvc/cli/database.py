"""Commands for the database and the local servers: migrate, capture, servers, secret-key."""

from __future__ import annotations

import click
import psycopg
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from syncsvc import capture as capture_mod
from syncsvc import migrate as migrate_mod
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.db import connect
from syncsvc.embedded import stop_local_servers

console = Console()


@cli.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_app
def migrate(app: AppContext, revision: str) -> None:
    """Create or upgrade the syncsvc schema (Alembic)."""
    migrate_mod.upgrade(app.settings.db_url, revision)
    click.echo(f"database migrated to {revision}")


@cli.group()
def capture() -> None:
    """Install capture triggers on tables whose changes should sync."""


@capture.command("add")
@click.argument("tables", nargs=-1, required=True)
@click.option(
    "--notify",
    type=click.Choice(capture_mod.NOTIFY_MODES),
    default="throttled",
    show_default=True,
    help="Wake the bridge with NOTIFY: on every statement, at most once per --throttle-ms "
    "per session, or never (the bridge then polls). Busy tables: throttled or off.",
)
@click.option("--throttle-ms", default=250, show_default=True, type=click.IntRange(1, 60000))
@pass_app
def capture_add(app: AppContext, tables: tuple[str, ...], notify: str, throttle_ms: int) -> None:
    """Capture inserts, updates and deletes of SCHEMA.TABLE (any table with a primary key)."""
    with connect(app.settings.db_url) as db, db.transaction():
        for table in tables:
            info = capture_mod.add_capture(db, table, notify, throttle_ms)
            click.echo(
                f"capturing {info.table_name} (key: {', '.join(info.key_columns)}, "
                f"notify: {info.notify})"
            )


@capture.command("remove")
@click.argument("tables", nargs=-1, required=True)
@pass_app
def capture_remove(app: AppContext, tables: tuple[str, ...]) -> None:
    """Stop capturing SCHEMA.TABLE (drops its triggers)."""
    with connect(app.settings.db_url) as db, db.transaction():
        for table in tables:
            removed = capture_mod.remove_capture(db, table)
            click.echo(f"{table}: {'no longer captured' if removed else 'was not captured'}")


@capture.command("list")
@pass_app
def capture_list(app: AppContext) -> None:
    """Show captured tables."""
    with connect(app.settings.db_url) as db:
        rows = capture_mod.list_captures(db)
    table = Table("table", "key", "notify", "triggers")
    shown = {"ok": "ok", "missing": "MISSING", "outdated": "OUTDATED: run capture add again"}
    for r in rows:
        table.add_row(r.table_name, ", ".join(r.key_columns), r.notify, shown[r.triggers])
    console.print(table if rows else "no captured tables")


@cli.group()
def servers() -> None:
    """The local PostgreSQL and Redis used when DATABASE_URL / REDIS_URL are unset."""


@servers.command("start")
@pass_app
def servers_start(app: AppContext) -> None:
    """Start them (if not running) and print their URLs."""
    s = app.settings
    click.echo(f"DATABASE_URL={s.database_url}\nREDIS_URL={s.redis_url}")


@servers.command("stop")
@pass_app
def servers_stop(app: AppContext) -> None:
    """Stop the local servers recorded under the data folder."""
    stopped = stop_local_servers(app.raw_settings.data_dir)
    click.echo("stopped: " + ", ".join(stopped) if stopped else "no local servers were running")


@cli.command("secret-key")
def secret_key() -> None:
    """Print a new key for SYNCSVC_SECRET_KEY."""
    click.echo(Fernet.generate_key().decode())


@cli.command("sql")
@click.argument("statement")
@pass_app
def run_sql(app: AppContext, statement: str) -> None:
    """Run one SQL STATEMENT on the service's database and print its rows (an operator's tool:
    handy with the local servers, which have no psql of their own)."""
    with connect(app.settings.db_url) as db:
        try:
            with db.transaction():
                cur = db.execute(statement.encode())
                rows = cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise click.ClickException(str(exc).strip()) from None
    if not rows:
        click.echo(f"{cur.rowcount} row(s) affected" if cur.rowcount >= 0 else "ok")
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
