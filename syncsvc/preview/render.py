"""A preview for the terminal (rich) and as JSON; every text shown goes through the scrubber."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from syncsvc.preview.evaluate import Problem
from syncsvc.preview.report import PreviewReport, ResultView, RowView
from syncsvc.scrub import scrub

MAX_VALUE = 60


def _value(value: Any) -> str:
    text = "∅" if value is None else json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str) and value:
        text = value
    text = scrub(text)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _problem(problem: Problem) -> str:
    field = f"{problem.field}: " if problem.field else ""
    reason = problem.reason.removeprefix(field) if field else problem.reason
    return scrub(f"{problem.stage} {field}{reason}")


def _detail(view: ResultView) -> str:
    result = view.result
    if result.problem is not None:
        return _problem(result.problem)
    if view.changes:
        return "\n".join(f"{c.field}: {_value(c.crm)} → {_value(c.ours)}" for c in view.changes)
    if view.crm_action == "unchanged":
        return "(the CRM already holds these values)"
    return "\n".join(f"{k} = {_value(v)}" for k, v in (result.payload or {}).items())


def _lines(row: RowView) -> list[tuple[str, str, str, str]]:
    outcome = row.outcome
    if outcome.problem is not None:
        return [("—", "—", "reject", _problem(outcome.problem))]
    if not row.results:
        return [("—", "—", "skip", "no rule matched")]
    return [
        (
            r.result.rule,
            r.result.action if r.result.op is None else f"{r.result.action} {r.result.object}",
            r.crm_action,
            _detail(r),
        )
        for r in row.results
    ]


def preview_table(report: PreviewReport) -> Table:
    table = Table(
        title=f"{report.connection} ({report.provider}): {len(report.rows)} sample row(s)",
        show_lines=True,
    )
    for column in ("record key", "rule", "action", "CRM", "payload / changes / problems"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        for i, (rule, action, crm, detail) in enumerate(_lines(row)):
            key = scrub(row.outcome.record_key) if i == 0 else ""
            table.add_row(key, scrub(rule), action, crm, detail)
    return table


def _share(share: float) -> str:
    return "under 0.01%" if 0 < share < 0.0001 else f"{share:.2%}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def summary_lines(report: PreviewReport) -> list[str]:
    crm = report.crm
    if crm.unavailable is not None:
        read = scrub(crm.unavailable)
    else:
        read = (
            f"CRM read: {len(crm.found)} of {len(crm.asked)} record(s) found, {crm.calls} call(s)"
        )
    c = report.counts
    how = "exact" if report.exact else "estimated from the sample"
    e = report.estimate
    lines = [
        read,
        f"backfill of {report.matching_rows} matching row(s) ({how}): create {c.create}, "
        f"update {c.update}, archive {c.archive}, skip {c.skipped}, reject {c.rejected}",
        f"API calls: about {e.calls} write call(s) for {e.records} record(s) at "
        f"{e.records_per_call} per call",
        f"  at {e.rate_limit_requests} requests / {e.rate_limit_seconds} s: "
        f"{_duration(e.seconds)} of the connection's whole limit, "
        f"{_share(e.share_of_day)} of a day's calls",
    ]
    if e.note:
        lines.append(f"  ({e.note})")
    return lines


def print_table(report: PreviewReport, console: Console) -> None:
    console.print(preview_table(report))
    for line in summary_lines(report):
        console.print(line, highlight=False, markup=False)


def as_json_text(report: PreviewReport) -> str:
    return scrub(json.dumps(report.as_json(), indent=2, ensure_ascii=False, default=str))
