"""``config apply`` and ``config export``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import click
import yaml
from rich.console import Console

from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.config.apply import ConfigRefused, apply_document, check_document
from syncsvc.config.loader import load_config_file
from syncsvc.config.model import ConfigDocument
from syncsvc.config.store import export_config
from syncsvc.db import connect
from syncsvc.errors import SyncError
from syncsvc.fields.model import ObjectFields
from syncsvc.preview.changes import changed_rules, runtime_connection
from syncsvc.preview.render import print_table
from syncsvc.preview.report import preview_rows
from syncsvc.scrub import error_text
from syncsvc.settings import Settings


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
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check everything, write nothing; preview the rules that change (see `preview`).",
)
@click.option(
    "--samples",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="With --dry-run: sample rows previewed per changed rule.",
)
@pass_app
def config_apply(app: AppContext, file: Path, check: bool, dry_run: bool, samples: int) -> None:
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
        preview_changes(app.settings, doc, outcome.remote.definitions, samples)
        return
    for name in result.created:
        click.echo(f"created connection {name}")
    for name in result.updated:
        click.echo(f"updated connection {name}")
    for name in result.resumed:
        click.echo(f"resumed connection {name} (it was paused: credentials refused)")
    if result.untouched:
        click.echo(f"left as they are (not in {file.name}): {', '.join(result.untouched)}")


def preview_changes(
    settings: Settings,
    doc: ConfigDocument,
    definitions: Mapping[str, Mapping[str, ObjectFields]],
    samples: int,
) -> None:
    """The rules ``doc`` adds or changes, previewed on ``samples`` rows of each source table
    they read (every rule of that table is evaluated, as the chain does)."""
    console = Console(width=160)
    with connect(settings.db_url, autocommit=True) as db:
        for spec in doc.connections:
            changes = changed_rules(db, spec)
            if not changes:
                click.echo(f"{spec.name}: no rule changes")
                continue
            conn = runtime_connection(db, settings, spec, definitions.get(spec.name))
            tables = {r.name: r.source for r in spec.rules}
            for table in dict.fromkeys(tables[c.rule] for c in changes):
                changed = [c for c in changes if tables[c.rule] == table]
                listed = "; ".join(f"rule {c.rule}: {', '.join(c.what)}" for c in changed)
                click.echo(f"{spec.name} {table}: {listed}")
                try:
                    report = preview_rows(db, settings, conn, rule=changed[0].rule, limit=samples)
                except SyncError as exc:
                    click.echo(f"  no preview: {error_text(exc)}")
                    continue
                print_table(report, console)


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
