"""Source rows through the chain's own validate and transform functions, writing nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from syncsvc.config.runtime import CompiledRule, RuntimeConnection
from syncsvc.db import Row
from syncsvc.kinds import Action, ChangeOp, PushOp
from syncsvc.pipeline.batch import Batch, EventRecord, OutboxItem, Reject
from syncsvc.pipeline.transform import decide
from syncsvc.pipeline.validate import validate_batch
from syncsvc.validation.fieldspec import CompiledSpec

Verdict = Literal["send", "skip", "reject"]


@dataclass(frozen=True)
class Problem:
    """Why a record would be dead-lettered: the chain's stage, the field and the reason."""

    stage: str
    field: str | None
    reason: str


@dataclass
class RuleResult:
    """What one matching rule makes of a record: an outbox item (``op`` and ``payload``), a
    problem (the record would be dead-lettered), or nothing (a ``skip`` rule)."""

    rule: str
    action: Action
    object: str | None
    op: PushOp | None = None
    id_property: str | None = None
    id_value: str | None = None
    payload: dict[str, Any] | None = None
    problem: Problem | None = None


@dataclass
class RowOutcome:
    """One source row: its record key and what each matching rule makes of it.

    ``problem`` is set when the row fails validation (or a condition fails): no rule result
    then. No results and no problem means no rule matched (or a ``skip`` rule did)."""

    table: str
    record_key: str
    pk: dict[str, Any]
    row: dict[str, Any]
    results: list[RuleResult] = field(default_factory=list)
    problem: Problem | None = None

    @property
    def verdict(self) -> Verdict:
        if self.problem is not None or any(r.problem for r in self.results):
            return "reject"
        if any(r.op for r in self.results):
            return "send"
        return "skip"

    @property
    def rejects(self) -> list[Problem]:
        """Every dead letter the chain would write for this row."""
        own = [self.problem] if self.problem else []
        return own + [r.problem for r in self.results if r.problem]


def _problem(reject: Reject) -> Problem:
    return Problem(reject["stage"], reject["field"], reject["reason"])


def _result(rule: CompiledRule, out: OutboxItem | Reject | None) -> RuleResult:
    result = RuleResult(rule=rule.name, action=rule.action, object=rule.object)
    if out is None:
        return result
    if "stage" in out:
        result.problem = _problem(out)  # type: ignore[arg-type]
        return result
    item: OutboxItem = out
    result.op = item["op"]
    result.id_property = item["id_property"]
    result.id_value = item["id_value"]
    result.payload = item["payload"]
    return result


def evaluate_rows(
    db: psycopg.Connection[Row],
    conn: RuntimeConnection,
    table: str,
    spec: CompiledSpec,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    op: ChangeOp = "U",
) -> list[RowOutcome]:
    """What the chain would make of ``rows`` of ``table`` captured as ``op``, in their order.

    The rows go through ``validate_batch`` and ``decide`` (the functions the chain's validate and
    transform tasks run), against every rule ``conn`` has for ``table``; nothing is written."""
    records = [
        EventRecord(pk={k: row.get(k) for k in keys}, op=op, version=0, row=dict(row))
        for row in rows
    ]
    batch = Batch(connection_id=conn.id, table=table, event_ids=[], records=records)
    checked = validate_batch(db, batch, spec)
    outcomes = {
        r["record_key"]: RowOutcome(table, r["record_key"], r["pk"], r.get("row") or {})
        for r in records
        if "record_key" in r
    }
    for reject in checked["rejects"]:
        outcome = outcomes.get(reject["record_key"])
        if outcome is not None:
            outcome.problem = _problem(reject)
    rules = conn.rules_for(table)
    for record in checked["records"]:
        outcome = outcomes[record.get("record_key", "")]
        decided, failed = decide(conn, rules, record, table)
        outcome.results = [_result(rule, out) for rule, out in decided]
        if failed is not None:
            outcome.problem = _problem(failed)
    return list(outcomes.values())
