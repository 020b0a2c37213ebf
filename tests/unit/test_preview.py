"""The preview's pure parts: comparing our values with a CRM's, the call estimate, the JSON
and table forms (scrubbed), the mapping normalisation behind ``config apply --dry-run``."""

from __future__ import annotations

import json

from rich.console import Console

from providers.registry import get_provider
from syncsvc.preview.changes import _mapping
from syncsvc.preview.counts import BackfillCounts, add_outcomes
from syncsvc.preview.crmread import CrmRecords
from syncsvc.preview.diff import changes, same
from syncsvc.preview.estimate import estimate_quota
from syncsvc.preview.evaluate import Problem, RowOutcome, RuleResult
from syncsvc.preview.render import as_json_text, print_table
from syncsvc.preview.report import PreviewReport, RowView, _view
from syncsvc.scrub import remember_secrets
from tests.support.runtime import runtime_connection


def test_values_compare_by_meaning_not_by_format() -> None:
    assert same("12.50", 12.5) and same(3, "3.0")
    assert same("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000+0000")
    assert same("2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05.000Z")
    assert same(None, "") and same("", None) and same([], None)
    assert same(True, "true") and same(["b", "a"], ["a", "b"])
    assert not same("Ada", "ada") and not same("1", "2") and not same("x", None)
    assert not same("2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z")


def test_changes_name_only_fields_the_crm_returned_and_that_differ() -> None:
    found = changes({"a": "1", "b": "new", "c": "x"}, {"a": 1.0, "b": "old"})
    assert [(c.field, c.crm, c.ours) for c in found] == [("b", "old", "new")]


def _outcome(key: str, *results: RuleResult, problem: Problem | None = None) -> RowOutcome:
    return RowOutcome("s.t", key, {"id": key}, {}, list(results), problem)


def _upsert(key: str, obj: str = "contacts") -> RuleResult:
    return RuleResult("r", "upsert", obj, "upsert", "ref", key, {"ref": key, "name": "n"})


def test_counts_split_upserts_by_what_the_outbox_delivered() -> None:
    counts = BackfillCounts()
    bad = RuleResult("r", "upsert", "contacts", problem=Problem("transform", "f", "bad"))
    add_outcomes(
        counts,
        [
            _outcome("1", _upsert("1")),
            _outcome("2", _upsert("2")),
            _outcome("3"),  # no rule matched
            _outcome("4", RuleResult("skipper", "skip", "contacts")),
            _outcome("5", problem=Problem("validate", "email", "not an email")),
            _outcome("6", bad),
            _outcome("7", RuleResult("gone", "archive", "contacts", "archive", "ref", "7")),
        ],
        delivered={("contacts", "2")},
    )
    assert (counts.rows, counts.create, counts.update, counts.archive) == (7, 1, 1, 1)
    assert (counts.skipped, counts.rejected) == (2, 2)
    assert counts.sends == {"contacts:upsert": 2, "contacts:archive": 1}


def test_the_estimate_counts_batch_calls_per_object_and_op() -> None:
    counts = BackfillCounts(create=150, update=100, archive=1)
    counts.sends = {"contacts:upsert": 250, "contacts:archive": 1}
    hubspot = estimate_quota(runtime_connection(1), counts)  # 100 per call, 100 / 10 s
    assert (hubspot.records, hubspot.calls, hubspot.records_per_call) == (251, 4, 100)
    assert hubspot.seconds == 0.4
    pipedrive = estimate_quota(runtime_connection(2, provider=get_provider("pipedrive")), counts)
    assert (pipedrive.records_per_call, pipedrive.calls) == (1, 251)
    assert "search" in pipedrive.note


def test_crm_actions_follow_what_the_crm_holds() -> None:
    crm = CrmRecords(found={("contacts", "1"): {"ref": "1", "name": "old"}})
    crm.asked = {("contacts", "1"), ("contacts", "2")}
    changed = _view(_upsert("1"), crm)
    assert changed.crm_action == "update"
    assert [c.field for c in changed.changes] == ["name"]
    assert _view(_upsert("2"), crm).crm_action == "create"
    assert _view(_upsert("3"), CrmRecords(unavailable="no CRM read: x")).crm_action == "unknown"
    archive = RuleResult("gone", "archive", "contacts", "archive", "ref", "2")
    assert _view(archive, crm).crm_action == "not found"


def test_json_and_table_never_show_a_secret() -> None:
    secret = "s3cr3t-token-value"
    remember_secrets({"token": secret})
    result = RuleResult("r", "upsert", "contacts", "upsert", "ref", "1", {"ref": "1", "t": secret})
    row = _outcome("1", result)
    report = PreviewReport(
        connection="c",
        provider="hubspot",
        mode="push",
        rule=None,
        op="U",
        rows=[RowView(row, [_view(result, CrmRecords(unavailable="no CRM read: x"))])],
        crm=CrmRecords(unavailable=f"no CRM read: refused {secret}"),
        matching_rows=1,
        exact=True,
        counts=BackfillCounts(rows=1, create=1),
        estimate=estimate_quota(runtime_connection(1), BackfillCounts()),
    )
    text = as_json_text(report)
    assert secret not in text
    assert json.loads(text)["rows"][0]["results"][0]["crm_action"] == "unknown"
    console = Console(width=160, record=True)
    print_table(report, console)
    shown = console.export_text()
    assert secret not in shown and "no CRM read" in shown


def test_mappings_compare_as_the_store_keeps_them() -> None:
    stored = {"target": "a", "source": "x", "transforms": [], "required": False,
              "custom": False, "on_null": "clear", "template": None}  # fmt: skip
    assert _mapping(stored) == _mapping({"target": "a", "source": "x"})
    assert _mapping({"target": "a", "source": "x", "on_null": "skip"}) != _mapping(stored)
