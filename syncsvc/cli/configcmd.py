"""``config apply`` and ``config export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import yaml

from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.config.apply import ConfigRefused, apply_document, check_document
from syncsvc.config.loader import load_config_file
from syncsvc.config.store import export_config
from syncsvc.db import connect


@cli.group()
def config() -> None:
    """Load connections, rules and field mappings from YAML into the database."""


@config.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Treat a CRM whose fields cannot be read (unreachable, credentials refused) as an "
    "error instead of a warning.",
)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@pass_app
def config_apply(app: AppContext, file: Path, check: bool, dry_run: bool) -> None:
    """Check FILE completely, then store it (connections named in FILE are replaced).

    Each CRM is asked for the field definitions of the objects its connection writes; mappings
    to fields it does not have, or does not let you write, are errors. The definitions are
    cached (see `fields list`) and values are checked against them from then on. A CRM that
    cannot be asked is a warning (its cached definitions stay in use) unless --check is given.
    """
    doc = load_config_file(file)
    try:
        outcome = (check_document if dry_run else apply_document)(doc, app.settings, check)
    except ConfigRefused as refused:
        for problem in refused.problems:
            click.echo(f"error: {problem}", err=True)
        raise
    for name, definitions in outcome.remote.definitions.items():
        for obj, fields in definitions.items():
            click.echo(f"{name}: read {len(fields.fields)} {obj} field definitions", err=True)
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    result = outcome.result
    if result is None:
        click.echo(
            f"{file}: OK ({len(doc.connections)} connection(s)); nothing written (--dry-run)"
        )
        return
    for name in result.created:
        click.echo(f"created connection {name}")
    for name in result.updated:
        click.echo(f"updated connection {name}")
    for name in result.resumed:
        click.echo(f"resumed connection {name} (it was paused: credentials refused)")
    if result.untouched:
        click.echo(f"left as they are (not in {file.name}): {', '.join(result.untouched)}")


@config.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.option("--connection", "names", multiple=True, help="Only these connections.")
@pass_app
def config_export(app: AppContext, output: Path | None, names: tuple[str, ...]) -> None:
    """Write the stored config as YAML (credentials stay encrypted or as ${ENV} references)."""
    with connect(app.settings.db_url) as db:
        doc = export_config(db, list(names) or None)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if output:
        output.write_text(text)
        click.echo(f"wrote {len(doc['connections'])} connection(s) to {output}")
    else:
        sys.stdout.write(text)
