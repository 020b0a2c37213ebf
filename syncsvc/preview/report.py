"""``manage.py preview``: a sample of source rows, what each would become, and how it differs
from what the CRM holds now; plus what a full backfill would do and cost.

The JSON form (``PreviewReport.as_json``)::

    {"connection": str, "provider": str, "mode": str, "rule": str | null, "op": "I" | "U",
     "crm_read": {"available": bool, "reason": str | null, "calls": int},
     "rows": [{"table": str, "record_key": str, "verdict": "send" | "skip" | "reject",
               "problem": PROBLEM | null,
               "results": [{"rule": str, "action": str, "object": str | null,
                            "op": str | null, "crm_action": str, "id_property": str | null,
                            "id_value": str | null, "payload": {...} | null,
                            "changes": [{"field": str, "crm": any, "ours": any}],
                            "problem": PROBLEM | null}]}],
     "backfill": {"rows": int, "exact": bool, "counts": {"rows", "create", "update", "archive",
                  "skipped", "rejected", "by_rule": {rule: {...}},
                             "sends": {"object:op": int}},
                  "estimate": {"records", "records_per_call", "calls", "rate_limit_requests",
                               "rate_limit_seconds", "seconds", "share_of_day", "note"}}}

    PROBLEM = {"stage": "validate" | "transform", "field": str | null, "reason": str}

``crm_action`` is what the CRM would see: ``create``, ``update``, ``unchanged`` (an update that
changes nothing), ``archive``, ``not found`` (an update or archive of a record the CRM does not
hold), ``skip``, ``reject``, or ``unknown`` (no CRM read: an upsert's create or update).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from syncsvc.config.runtime import RuntimeConnection
from syncsvc.db import Row
from syncsvc.kinds import ChangeOp
from syncsvc.preview.counts import (
    BackfillCounts,
    add_outcomes,
    count_backfill,
    delivered_records,
)
from syncsvc.preview.crmread import CrmRecords, read_current, wanted_from
from syncsvc.preview.diff import FieldChange, changes
from syncsvc.preview.estimate import QuotaEstimate, estimate_quota
from syncsvc.preview.evaluate import Problem, RowOutcome, RuleResult, evaluate_rows
from syncsvc.preview.source import count_rows, key_columns, read_pages
from syncsvc.rules.sources import source_tables
from syncsvc.settings import Settings
from syncsvc.validation.registry import internal_spec

MAX_LIMIT = 1_000
EXACT_COUNT_ROWS = 20_000
"""Up to this many matching rows the backfill counts are exact (every row evaluated); above,
they are the sample's proportions scaled to the matching rows."""


@dataclass
class ResultView:
    result: RuleResult
    crm_action: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class RowView:
    outcome: RowOutcome
    results: list[ResultView]


@dataclass
class PreviewReport:
    connection: str
    provider: str
    mode: str
    rule: str | None
    op: ChangeOp
    rows: list[RowView]
    crm: CrmRecords
    matching_rows: int
    exact: bool
    counts: BackfillCounts
    estimate: QuotaEstimate

    def as_json(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "provider": self.provider,
            "mode": self.mode,
            "rule": self.rule,
            "op": self.op,
            "crm_read": {
                "available": self.crm.unavailable is None,
                "reason": self.crm.unavailable,
                "calls": self.crm.calls,
            },
            "rows": [_row_json(r) for r in self.rows],
            "backfill": {
                "rows": self.matching_rows,
                "exact": self.exact,
                "counts": self.counts.as_dict(),
                "estimate": self.estimate.as_dict(),
            },
        }


def _problem_json(problem: Problem | None) -> dict[str, Any] | None:
    return None if problem is None else asdict(problem)


def _row_json(view: RowView) -> dict[str, Any]:
    outcome = view.outcome
    return {
        "table": outcome.table,
        "record_key": outcome.record_key,
        "verdict": outcome.verdict,
        "problem": _problem_json(outcome.problem),
        "results": [
            {
                "rule": r.result.rule,
                "action": r.result.action,
                "object": r.result.object,
                "op": r.result.op,
                "crm_action": r.crm_action,
                "id_property": r.result.id_property,
                "id_value": r.result.id_value,
                "payload": r.result.payload,
                "changes": [asdict(c) for c in r.changes],
                "problem": _problem_json(r.result.problem),
            }
            for r in view.results
        ],
    }


def _view(result: RuleResult, crm: CrmRecords) -> ResultView:
    if result.problem is not None:
        return ResultView(result, "reject")
    if result.op is None:
        return ResultView(result, "skip")
    key = (result.object or "", str(result.id_value))
    if crm.unavailable is not None or key not in crm.asked:
        return ResultView(result, result.op if result.op != "upsert" else "unknown")
    held = crm.found.get(key)
    if result.op == "archive":
        return ResultView(result, "archive" if held is not None else "not found")
    if held is None:
        return ResultView(result, "not found" if result.op == "update" else "create")
    diff = changes(result.payload or {}, held)
    if result.op == "create":
        return ResultView(result, "create", diff)
    return ResultView(result, "update" if diff else "unchanged", diff)


def _row_views(outcomes: list[RowOutcome], crm: CrmRecords) -> list[RowView]:
    views = []
    for outcome in outcomes:
        results = [_view(r, crm) for r in outcome.results]
        views.append(RowView(outcome, results))
    return views


def _scaled(sample: BackfillCounts, total: int) -> BackfillCounts:
    """The sample's proportions applied to ``total`` rows (rounded up, so never zero)."""
    if sample.rows == 0:
        return BackfillCounts(rows=total)

    def scale(n: int) -> int:
        return math.ceil(n * total / sample.rows) if n else 0

    return BackfillCounts(
        rows=total,
        create=scale(sample.create),
        update=scale(sample.update),
        archive=scale(sample.archive),
        skipped=scale(sample.skipped),
        rejected=scale(sample.rejected),
        by_rule={rule: {k: scale(n) for k, n in c.items()} for rule, c in sample.by_rule.items()},
        sends={group: scale(n) for group, n in sample.sends.items()},
    )


def preview_rows(
    db: psycopg.Connection[Row],
    settings: Settings,
    conn: RuntimeConnection,
    *,
    rule: str | None = None,
    limit: int = 10,
    where: sql.Composable | None = None,
    since: sql.Composable | None = None,
    op: ChangeOp = "U",
    read_crm: bool = True,
) -> PreviewReport:
    """The first ``limit`` rows (in key order) of each source table the connection (or
    ``rule``) reads, evaluated as the chain would, with the CRM's current records read by
    their id property where the CRM can be read; and the counts and API-call estimate of a
    backfill of every matching row. Writes nothing."""
    limit = max(1, min(limit, MAX_LIMIT))
    outcomes: list[RowOutcome] = []
    sample_counts = BackfillCounts()
    total = 0
    for table in source_tables(conn.rules, conn.name, rule):
        spec = internal_spec(table, settings.internal_schema_dirs)
        keys = key_columns(db, table)
        total += count_rows(db, table, where, since)
        for page in read_pages(db, table, keys, where, since, limit, limit):
            outcomes.extend(evaluate_rows(db, conn, table, spec, keys, page, op))
    crm = CrmRecords()
    if not read_crm:
        crm.unavailable = "no CRM read: not asked for"
    elif not conn.pushes:
        crm.unavailable = "no CRM read: a poll connection (the CRM reads the change feed)"
    else:
        crm = read_current(settings, conn, wanted_from(outcomes))
    exact = total <= EXACT_COUNT_ROWS
    if exact:
        counts = count_backfill(db, settings, conn, rule=rule, where=where, since=since, op=op)
    else:
        add_outcomes(sample_counts, outcomes, delivered_records(db, conn, outcomes))
        counts = _scaled(sample_counts, total)
    return PreviewReport(
        connection=conn.name,
        provider=conn.provider.name,
        mode=conn.mode,
        rule=rule,
        op=op,
        rows=_row_views(outcomes, crm),
        crm=crm,
        matching_rows=total,
        exact=exact,
        counts=counts,
        estimate=estimate_quota(conn, counts),
    )
