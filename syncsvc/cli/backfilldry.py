"""``backfill --dry-run``: what a backfill would send, counted per table and rule, writing
nothing (``syncsvc.preview.counts``)."""

from __future__ import annotations

from pathlib import Path

from psycopg import sql
from rich.console import Console
from rich.table import Table

from syncsvc.backfill import predicate
from syncsvc.backfill.plan import Request, plan
from syncsvc.backfill.store import Spec
from syncsvc.config.runtime import load_runtime_config
from syncsvc.db import connect
from syncsvc.kinds import ChangeOp
from syncsvc.preview.counts import BackfillCounts, count_backfill
from syncsvc.settings import Settings

KINDS = ("create", "update", "archive", "rejected")


def _since(spec: Spec) -> sql.Composable | None:
    if spec.since_column is None or spec.since is None:
        return None
    return sql.SQL("t.{} >= {}").format(sql.Identifier(spec.since_column), sql.Literal(spec.since))


def count_request(
    settings: Settings, request: Request, schema_dirs: tuple[Path, ...]
) -> list[tuple[Spec, BackfillCounts]]:
    """The counts of each backfill ``request`` would start (checked as a real one is)."""
    out = []
    with connect(settings.db_url, autocommit=True) as db:
        specs = plan(db, request, schema_dirs)
        conn = load_runtime_config(db).connections[specs[0].connection_id]
        for spec in specs:
            where = predicate.as_sql(spec.where_sql) if spec.where_sql else None
            op: ChangeOp = "U" if spec.op == "U" else "I"
            counts = count_backfill(
                db,
                settings,
                conn,
                where=where,
                since=_since(spec),
                op=op,
                page_size=spec.page_size,
                table=spec.source_table,
            )
            out.append((spec, counts))
    return out


def counts_table(spec: Spec, counts: BackfillCounts, connection: str) -> Table:
    """One table's counts: per rule (only the chosen one with ``--rule``), then the rows no
    rule sends."""
    table = Table(title=f"{connection} {spec.source_table}: {counts.rows:,} row(s) read")
    table.add_column("rule")
    for kind in KINDS:
        table.add_column(kind, justify="right")
    for rule, per_rule in sorted(counts.by_rule.items()):
        if spec.rule_name is not None and rule != spec.rule_name:
            continue
        table.add_row(rule, *(f"{per_rule.get(k, 0):,}" for k in KINDS))
    if spec.rule_name is None:
        table.add_row(
            "(all rules)",
            f"{counts.create:,}",
            f"{counts.update:,}",
            f"{counts.archive:,}",
            f"{counts.rejected:,}",
        )
    table.caption = (
        f"skipped (no rule sends them): {counts.skipped:,}; rejected: dead letters a real "
        "backfill would write (validation, conditions, mapping). Nothing was written."
    )
    return table


def print_dry_run(
    console: Console, settings: Settings, request: Request, schema_dirs: tuple[Path, ...]
) -> None:
    for spec, counts in count_request(settings, request, schema_dirs):
        console.print(counts_table(spec, counts, request.connection))
