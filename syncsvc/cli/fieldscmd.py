"""``fields refresh`` and ``fields list``: the CRM's field definitions each connection uses."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.config.runtime import RuntimeConnection, load_runtime_config
from syncsvc.config.store import bump_generation
from syncsvc.db import connect
from syncsvc.errors import ConfigError
from syncsvc.fields.model import FieldDef, ObjectFields
from syncsvc.fields.remote import read_definitions
from syncsvc.fields.store import load_fields, save_fields
from syncsvc.settings import Settings

MAX_SHOWN_OPTIONS = 6


@cli.group()
def fields() -> None:
    """The CRM's field definitions (types, options, required, read-only) per connection."""


def _stored_connection(settings: Settings, name: str) -> RuntimeConnection:
    with connect(settings.db_url) as db:
        config = load_runtime_config(db)
    for conn in config.connections.values():
        if conn.name == name:
            return conn
    known = ", ".join(sorted(c.name for c in config.connections.values())) or "none"
    raise ConfigError(f"no connection named {name!r} (connections: {known})")


@fields.command("refresh")
@click.argument("connection")
@click.option(
    "--object",
    "objects",
    multiple=True,
    help="Read this object's fields (repeatable). Default: every object the connection maps.",
)
@pass_app
def fields_refresh(app: AppContext, connection: str, objects: tuple[str, ...]) -> None:
    """Read CONNECTION's field definitions from its CRM again and cache them."""
    settings = app.settings
    conn = _stored_connection(settings, connection)
    wanted = list(objects) or list(
        dict.fromkeys([*conn.mappers, *(r.object for r in conn.rules if r.action != "skip")])
    )
    if not wanted:
        raise ConfigError(f"{connection} maps no objects; name one with --object")
    definitions = read_definitions(conn.connection_info(settings), wanted)
    with connect(settings.db_url) as db, db.transaction():
        for obj_fields in definitions.values():
            save_fields(db, conn.id, obj_fields)
        bump_generation(db)
    for obj, obj_fields in definitions.items():
        click.echo(f"{connection}: {len(obj_fields.fields)} {obj} field definitions cached")


def _options(d: FieldDef) -> str:
    shown = [o.value if o.value == o.label else f"{o.value}={o.label}" for o in d.options]
    more = len(shown) - MAX_SHOWN_OPTIONS
    return ", ".join(shown[:MAX_SHOWN_OPTIONS]) + (f" (+{more})" if more > 0 else "")


def _access(d: FieldDef) -> str:
    if d.createable and d.updateable:
        return "write"
    if d.createable:
        return "create only"
    if d.updateable:
        return "update only"
    return "read-only"


def fields_table(connection: str, obj: ObjectFields) -> Table:
    fetched = obj.fetched_at.strftime("%Y-%m-%d %H:%M:%S %Z") if obj.fetched_at else "never"
    table = Table(
        "name", "label", "type", "CRM type", "access", "required", "unique", "max length",
        "options",
        title=f"{connection} {obj.object}: {len(obj.fields)} fields (read {fetched})",
    )  # fmt: skip
    for d in sorted(obj.fields.values(), key=lambda d: (d.custom, d.name)):
        table.add_row(
            d.name + (" (custom)" if d.custom else ""),
            d.label,
            str(d.type),
            d.crm_type,
            _access(d),
            "yes" if d.required else "",
            "yes" if d.unique else "",
            "" if d.max_length is None else str(d.max_length),
            _options(d),
        )
    return table


@fields.command("list")
@click.argument("connection")
@click.argument("object_name", metavar="OBJECT")
@click.option("--json", "as_json", is_flag=True, help="Print the definitions as JSON.")
@pass_app
def fields_list(app: AppContext, connection: str, object_name: str, as_json: bool) -> None:
    """Show the cached field definitions of CONNECTION's OBJECT (no call to the CRM)."""
    settings = app.settings
    conn = _stored_connection(settings, connection)
    with connect(settings.db_url) as db:
        cached = load_fields(db, conn.id, object_name)
    obj = cached.get(object_name)
    if obj is None:
        raise ConfigError(
            f"no {object_name} field definitions cached for {connection}; "
            f"run `manage.py fields refresh {connection} --object {object_name}`"
        )
    if as_json:
        out = {
            "connection": connection,
            "object": object_name,
            "fetched_at": obj.fetched_at.isoformat() if obj.fetched_at else None,
            **obj.to_json(),
        }
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return
    Console(width=160).print(fields_table(connection, obj))
