"""``connection resume``: end a connection's pause (its CRM refused its credentials)."""

from __future__ import annotations

import click

from syncsvc import pause
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.db import connect
from syncsvc.errors import ConfigError


@cli.group()
def connection() -> None:
    """Operate on one connection."""


@connection.command("resume")
@click.argument("name")
@pass_app
def connection_resume(app: AppContext, name: str) -> None:
    """Resume NAME, paused because its CRM refused its credentials: its waiting rows go now.

    `config apply` with fixed credentials resumes a connection too; resuming without a fix
    pauses it again at its next push.
    """
    with connect(app.settings.db_url) as db, db.transaction():
        row = db.execute("SELECT id FROM syncsvc.connection WHERE name = %s", (name,)).fetchone()
        if row is None:
            raise ConfigError(f"no connection named {name!r} (see `manage.py status`)")
        due = pause.resume(db, int(row["id"]), app.settings.sweep_grace_seconds)
    if due is None:
        click.echo(f"connection {name} is not paused")
    else:
        click.echo(f"resumed connection {name}: {due} waiting record(s) due now")
