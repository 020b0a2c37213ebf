"""``preview``: what a connection would make of a sample of its source rows, writing nothing."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.config.runtime import RuntimeConnection, load_runtime_config
from syncsvc.db import connect
from syncsvc.errors import ConfigError
from syncsvc.preview.render import as_json_text, print_table
from syncsvc.preview.report import MAX_LIMIT, preview_rows


def named_connection(connections: list[RuntimeConnection], name: str) -> RuntimeConnection:
    for conn in connections:
        if conn.name == name:
            return conn
    known = ", ".join(sorted(c.name for c in connections)) or "none"
    raise ConfigError(f"no connection named {name!r} (connections: {known})")


@cli.command("preview")
@click.argument("connection")
@click.option("--rule", help="Only this rule's source table (every rule's by default).")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=10,
    show_default=True,
    help="Sample rows per source table, in key order.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option("--no-crm", is_flag=True, help="Do not read the CRM's current records.")
@pass_app
def preview(
    app: AppContext, connection: str, rule: str | None, limit: int, fmt: str, no_crm: bool
) -> None:
    """Show what CONNECTION would send for a sample of its source rows, writing nothing.

    Each row goes through the chain's own validation, rules, conditions and mappings: its
    record key, the rule and action, the mapped payload or the problem that would dead-letter
    it. Where the CRM can be read, the records it holds now are read by their id property
    (batch reads, within the connection's rate limit) and shown as field-by-field changes.
    Then the counts of a backfill of every matching row and the API calls it would take.
    """
    settings = app.settings
    with connect(settings.db_url, autocommit=True) as db:
        conn = named_connection(list(load_runtime_config(db).connections.values()), connection)
        if not conn.enabled:
            raise ConfigError(f"connection {connection} is disabled: enable it to preview it")
        report = preview_rows(db, settings, conn, rule=rule, limit=limit, read_crm=not no_crm)
    if fmt == "json":
        sys.stdout.write(as_json_text(report) + "\n")
        return
    print_table(report, Console(width=160))
