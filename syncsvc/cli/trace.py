"""``trace SCHEMA.TABLE KEY``: everything that happened to one record, as tables or JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Column, Table

from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.db import Row, connect
from syncsvc.trace import RecordTrace, trace

console = Console()

STATUS_STYLE = {"delivered": "green", "retry": "yellow", "wait": "cyan", "dead": "red"}


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if value else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _events(rows: list[Row]) -> Table:
    table = Table("event", "op", "captured", "dispatched", "dispatches", "connections left")
    for e in rows:
        table.add_row(
            str(e["id"]),
            e["op"],
            _when(e["created_at"]),
            _when(e["dispatched_at"]),
            str(e["attempts"]),
            _text(e["targets"]),
        )
    return table


def _attempts(rows: list[Row]) -> Table:
    table = Table(
        Column("time (UTC)", no_wrap=True),
        *("version", "op", "status", "attempt", "ms", "HTTP", "code", "CRM id"),
    )
    table.add_column("CRM's answer", overflow="fold", min_width=30)
    for r in rows:
        style = STATUS_STYLE.get(r["status"], "")
        table.add_row(
            _when(r["at"]),
            str(r["version"]),
            r["op"],
            f"[{style}]{r['status']}[/{style}]" if style else r["status"],
            str(r["attempt"]),
            _text(r["duration_ms"]),
            _text(r["http_status"]),
            _text(r["error_code"]),
            _text(r["external_id"]),
            _text(r["error_message"]),
        )
    return table


def _render(t: RecordTrace) -> None:
    key = ", ".join(f"{k}={v}" for k, v in t.key.items())
    console.print(f"[bold]{t.table}[/bold] {key}  (record key {t.record_key!r})")
    if t.events:
        console.print(f"\n[bold]captured, not yet persisted everywhere[/bold]: {len(t.events)}")
        console.print(_events(t.events))
    else:
        console.print("\nno captured change in flight")
    if not t.outbox:
        console.print("\nno outbox row: no connection has this record (yet)")
    for o in t.outbox:
        console.print(
            f"\n[bold]{o['connection']}[/bold] ({o['provider']}) {o['object']}: "
            f"status [bold]{o['status']}[/bold], version {o['version']}, delivered version "
            f"{_text(o['delivered_version']) or '-'}, failed attempts {o['attempts']}, "
            f"CRM id [bold]{_text(o['external_id']) or '-'}[/bold]"
        )
        if o["status"] == "pending":
            console.print(f"  next attempt {_when(o['next_attempt_at'])}")
        if o["last_error"]:
            console.print(f"  last error: {o['last_error']}")
        for link in o.get("links", []):
            console.print(
                f"  link {link['association']} → {link['parent_object']} "
                f"{_text(link['parent_key']) or '-'}: [bold]{link['status']}[/bold]"
                + (
                    " (waiting for the parent to reach the CRM)"
                    if link["status"] == "pending"
                    else ""
                )
                + (f", last error: {link['last_error']}" if link["last_error"] else "")
            )
        if o["log"]:
            console.print(_attempts(o["log"]))
        else:
            console.print("  no attempt logged (within the sync log's retention)")
    if t.dead_letters:
        table = Table("dead letter", "connection", "stage", "version", "field", "created")
        table.add_column("reason", overflow="fold")
        table.add_column("replayed")
        for d in t.dead_letters:
            table.add_row(
                str(d["id"]),
                _text(d["connection"]),
                d["stage"],
                str(d["version"]),
                _text(d["field"]),
                _when(d["created_at"]),
                d["reason"],
                _when(d["replayed_at"]),
            )
        console.print("\n[bold]dead letters[/bold]")
        console.print(table)
    else:
        console.print("\nno dead letters")


@cli.command("trace")
@click.argument("table")
@click.argument("key")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="At most this many attempts per connection (newest first), events and dead letters.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@pass_app
def trace_cmd(app: AppContext, table: str, key: str, limit: int, as_json: bool) -> None:
    """What happened to one record of SCHEMA.TABLE: captured events still in flight, its
    outbox row at each connection (status, version, CRM id, last error), every delivery attempt
    with the CRM's answer (the sync log), and its dead letters.

    KEY is the record's key: its value for a one-column key, `col=value,…` for a composite one
    (e.g. `region=eu,customer_no=42`).
    """
    with connect(app.settings.db_url) as db:
        found = trace(db, table, key, limit)
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2, default=str))
    else:
        _render(found)
