"""``backfill --dry-run``: what a backfill of a connection would do, counted, writing nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import psycopg
from psycopg import sql

from syncsvc.config.runtime import RuntimeConnection
from syncsvc.db import Row
from syncsvc.kinds import ChangeOp
from syncsvc.preview.evaluate import RowOutcome, evaluate_rows
from syncsvc.preview.source import key_columns, read_pages
from syncsvc.rules.sources import source_tables
from syncsvc.settings import Settings
from syncsvc.validation.registry import internal_spec

KNOWN_RECORDS = """
SELECT object, record_key FROM syncsvc.outbox
WHERE connection_id = %s AND record_key = ANY(%s)
  AND (external_id IS NOT NULL OR delivered_version IS NOT NULL)
"""


@dataclass
class BackfillCounts:
    """What a backfill would do, per outbox item and per dead letter.

    ``create``/``update``/``archive``: outbox items by what they ask of the CRM; an ``upsert``
    counts as ``update`` when the outbox shows the record was delivered before, else as
    ``create``. ``skipped``: rows no rule sends (no rule matched, or a ``skip`` rule did).
    ``rejected``: the dead letters the chain would write (one per row failing validation or a
    condition, one per rule whose mapping fails). ``rows``: source rows read."""

    rows: int = 0
    create: int = 0
    update: int = 0
    archive: int = 0
    skipped: int = 0
    rejected: int = 0
    by_rule: dict[str, dict[str, int]] = field(default_factory=dict)
    """The same counts (but ``rows`` and ``skipped``) per rule name."""
    sends: dict[str, int] = field(default_factory=dict)
    """Outbox items per ``object:op`` (``contacts:upsert``): the push sends each group in
    batch calls, creates and updates of an upsert together."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def delivered_records(
    db: psycopg.Connection[Row], conn: RuntimeConnection, outcomes: Sequence[RowOutcome]
) -> set[tuple[str, str]]:
    """(object, record key) of the rows among ``outcomes`` the outbox shows as delivered."""
    keys = [o.record_key for o in outcomes if o.verdict == "send"]
    if not keys:
        return set()
    return {(r["object"], r["record_key"]) for r in db.execute(KNOWN_RECORDS, (conn.id, keys))}


def add_outcomes(
    counts: BackfillCounts, outcomes: Iterable[RowOutcome], delivered: set[tuple[str, str]]
) -> None:
    """Count ``outcomes`` into ``counts``; ``delivered``: (object, record key) the CRM has."""
    for outcome in outcomes:
        counts.rows += 1
        if outcome.problem is not None:
            counts.rejected += 1
        sent = False
        for result in outcome.results:
            per_rule = counts.by_rule.setdefault(
                result.rule, {"create": 0, "update": 0, "archive": 0, "rejected": 0}
            )
            if result.problem is not None:
                counts.rejected += 1
                per_rule["rejected"] += 1
                continue
            if result.op is None:
                continue
            sent = True
            group = f"{result.object}:{result.op}"
            counts.sends[group] = counts.sends.get(group, 0) + 1
            kind: str = result.op
            if result.op == "upsert":
                known = (result.object or "", outcome.record_key) in delivered
                kind = "update" if known else "create"
            setattr(counts, kind, getattr(counts, kind) + 1)
            per_rule[kind] += 1
        if not sent and outcome.problem is None and not any(r.problem for r in outcome.results):
            counts.skipped += 1


def count_backfill(
    db: psycopg.Connection[Row],
    settings: Settings,
    conn: RuntimeConnection,
    *,
    rule: str | None = None,
    where: sql.Composable | None = None,
    since: sql.Composable | None = None,
    op: ChangeOp = "U",
    page_size: int = 1_000,
    table: str | None = None,
) -> BackfillCounts:
    """Count what ``backfill CONNECTION [--rule NAME] [--where ...] [--since ...]`` would do.

    Reads the source table(s) in key order, page by page, and runs every row through the
    chain's validate and transform functions (``evaluate_rows``) as a change ``op`` (``U`` by
    default: a backfilled row is an update of an existing row). ``rule`` picks the source table
    (that rule's); every enabled rule of that table is evaluated, as the chain does. ``where``
    and ``since`` are already-composed SQL on the source table's columns (the table is aliased
    ``t``), ANDed. No CRM is called and nothing is written: the only query besides the source
    reads is the outbox lookup that tells an upsert's update from its create. ``table`` reads
    that one source table instead of the rule's (or every rule's)."""
    counts = BackfillCounts()
    for source in [table] if table is not None else source_tables(conn.rules, conn.name, rule):
        spec = internal_spec(source, settings.internal_schema_dirs)
        keys = key_columns(db, source)
        for page in read_pages(db, source, keys, where, since, page_size):
            outcomes = evaluate_rows(db, conn, source, spec, keys, page, op)
            add_outcomes(counts, outcomes, delivered_records(db, conn, outcomes))
    return counts
