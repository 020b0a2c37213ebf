"""``api`` (the HTTP API on gunicorn) and ``apikeys`` (create, list, revoke)."""

from __future__ import annotations

import datetime as dt

import click

from syncsvc.api import keys as keys_mod
from syncsvc.api.config import DEFAULT_BIND, DEFAULT_OPS_BIND
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app, require_secret_key
from syncsvc.db import connect
from syncsvc.secrets import secret_key


@cli.command()
@click.option(
    "--bind", default=DEFAULT_BIND, show_default=True, help="HOST:PORT for tenants (the API)."
)
@click.option(
    "--ops-bind",
    default=DEFAULT_OPS_BIND,
    show_default=True,
    help="HOST:PORT for operators: /healthz with its checks and /metrics (every tenant's "
    "connections and backlog). Keep it where only operators reach it.",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 3600))
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@pass_app
def api(
    app: AppContext,
    bind: str,
    ops_bind: str,
    workers: int,
    threads: int,
    timeout: int,
    access_log: bool,
) -> None:
    """Serve the HTTP API: poll feed, event ingest, /healthz, /openapi.json on --bind;
    /healthz (checks) and /metrics on --ops-bind."""
    from syncsvc.api.server import serve

    require_secret_key(app.raw_settings, "api")
    settings = app.settings
    secret_key(settings)  # create the local key (if any) once, before workers fork
    serve(settings, bind, workers, threads, timeout, access_log, ops_bind)


@cli.group()
def apikeys() -> None:
    """API keys for the HTTP API: one connection and one scope each.

    Scopes: read (GET changes), ack (read and acknowledge), ingest (POST events only),
    write (all of them)."""


@apikeys.command("create")
@click.argument("connection")
@click.option("--scope", type=click.Choice(keys_mod.SCOPES), required=True)
@click.option(
    "--rate-limit", help="Requests for this key, e.g. 100/minute (default: SYNCSVC_API_RATE_LIMIT)."
)
@pass_app
def apikeys_create(app: AppContext, connection: str, scope: str, rate_limit: str | None) -> None:
    """Create a key for CONNECTION and print it (once: only its hash is stored)."""
    with connect(app.settings.db_url) as db, db.transaction():
        key_id, key = keys_mod.create_key(db, connection, scope, rate_limit)
    click.echo(f"created key {key_id} ({scope}) for {connection}; it is shown only now:", err=True)
    click.echo(key)


@apikeys.command("list")
@click.argument("connection", required=False)
@pass_app
def apikeys_list(app: AppContext, connection: str | None) -> None:
    """List keys (of CONNECTION, or all): id, prefix, scope, use and revocation."""
    with connect(app.settings.db_url) as db:
        rows = keys_mod.list_keys(db, connection)
    if not rows:
        click.echo("no API keys")
        return
    header = (
        "id",
        "connection",
        "scope",
        "prefix",
        "rate limit",
        "created",
        "last used",
        "revoked",
    )
    lines = [header] + [
        (
            str(k.id),
            k.connection,
            k.scope,
            k.prefix + "...",
            k.rate_limit or "default",
            _when(k.created_at),
            _when(k.last_used_at),
            _when(k.revoked_at),
        )
        for k in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _when(value: dt.datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "-"


@apikeys.command("revoke")
@click.argument("key_id", metavar="ID", type=int)
@pass_app
def apikeys_revoke(app: AppContext, key_id: int) -> None:
    """Revoke key ID: its next request gets 401."""
    with connect(app.settings.db_url) as db, db.transaction():
        found = keys_mod.revoke_key(db, key_id)
    if not found:
        raise click.ClickException(f"no API key with id {key_id}")
    click.echo(f"revoked key {key_id}")
