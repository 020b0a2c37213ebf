"""``preview``, ``backfill --dry-run``'s counts and ``config apply --dry-run`` on a table the
project never saw (the unseen-table harness), against HubSpot and Salesforce simulators.

Rows already in the CRM show their field differences, rows not there show "create", rows that
fail validation or mapping show the problem, rows a condition skips show "skip"; the counts a
dry run gives equal what really pushing the same rows does; a dry-run config apply writes
nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from providers.simulation import SimServer
from syncsvc import capture
from syncsvc.config.runtime import load_runtime_config
from syncsvc.db import connect
from syncsvc.preview.counts import BackfillCounts, count_backfill
from tests.integration.conftest import Pipeline
from tests.integration.unseen import test_hubspot, test_salesforce
from tests.integration.unseen.harness import (
    Case,
    Record,
    config,
    create_table,
    crm_state,
    insert,
    letter_key,
    record_key,
    sample_row,
    update,
)
from tests.integration.unseen.test_hubspot import unseen_hubspot_server  # noqa: F401
from tests.integration.unseen.test_salesforce import salesforce_server  # noqa: F401
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

SKIP_MARK = "do-not-sync"
CaseFor = Callable[[SimControl], Case]


def hubspot_case(sim: SimControl) -> Case:
    return test_hubspot.case_for(sim)


def salesforce_case(sim: SimControl) -> Case:
    return test_salesforce.case_for(sim.base_url)


CASES: dict[str, tuple[str, CaseFor, str]] = {
    "hubspot": ("unseen_hubspot_server", hubspot_case, "firstname"),
    "salesforce": ("salesforce_server", salesforce_case, "FirstName"),
}
"""Per CRM: its simulator fixture, its case, and the CRM field ``given_name`` maps to."""


@pytest.fixture
def env(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in service_env.items():
        monkeypatch.setenv(key, value)


def invoke(*args: str) -> Result:
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd, previewcmd  # noqa: F401 - registers the commands

    return CliRunner().invoke(cli_pkg.cli, list(args))


def conditional_config(case: Case) -> dict[str, Any]:
    """The harness's config, its upsert rule skipping rows whose notes say so."""
    doc = config(case)
    doc["connections"][0]["rules"][0]["when"] = {
        "not": {"field": "notes", "op": "eq", "value": SKIP_MARK}
    }
    return doc


class World:
    """The table in four kinds of rows: synced then changed without capture, synced and
    unchanged, never synced, invalid (validation / mapping), and skipped by the condition."""

    def __init__(self, pipeline: Pipeline, case: Case, sim: SimControl) -> None:
        self.pipeline, self.case, self.sim = pipeline, case, sim
        db = pipeline.db
        self.table = create_table(db, case)
        case.setup(sim)
        pipeline.apply_as_user(conditional_config(case))
        synced = [sample_row(case, n) for n in range(10)]
        insert(db, self.table, synced)
        wait_until(lambda: len(crm_state(case, sim)) == 10, timeout=120, message=pipeline.describe)
        pipeline.wait_idle()
        capture.remove_capture(db, self.table)  # rows change the way a backfill finds them
        self.changed = [
            update(db, self.table, row, given_name=f"Renamed {i}")
            for i, row in enumerate(synced[:5])
        ]
        self.unchanged = synced[5:]
        self.new = [sample_row(case, n) for n in range(10, 18)]
        self.invalid = {**sample_row(case, 18), "given_name": "x" * 201}
        self.unmappable = {**sample_row(case, 19), "tier": "no-such-tier"}
        self.skipped = {**sample_row(case, 20), "notes": SKIP_MARK}
        insert(db, self.table, [*self.new, self.invalid, self.unmappable, self.skipped])
        capture.add_capture(db, self.table, notify="always")

    def connection(self) -> Any:
        with connect(self.pipeline.settings.db_url) as db:
            conns = load_runtime_config(db).connections.values()
        return next(c for c in conns if c.name == self.case.connection["name"])

    def count(self) -> BackfillCounts:
        with connect(self.pipeline.settings.db_url, autocommit=True) as db:
            return count_backfill(db, self.pipeline.settings, self.connection())

    def push_for_real(self) -> None:
        """Every row captured as an update, through the running bridge and workers."""
        schema, name = self.table.split(".")
        self.pipeline.db.execute(f'UPDATE "{schema}"."{name}" SET notes = notes')  # noqa: S608
        self.pipeline.wait_idle(120)


@pytest.mark.parametrize("crm", sorted(CASES))
def test_preview_shows_diffs_creates_problems_and_skips_and_the_dry_run_counts_come_true(
    crm: str, pipeline: Pipeline, env: None, request: pytest.FixtureRequest
) -> None:
    fixture, case_for, first_name = CASES[crm]
    server: SimServer = request.getfixturevalue(fixture)
    sim = SimControl(server.url)
    sim.reset()
    case = case_for(sim)
    world = World(pipeline, case, sim)
    name = case.connection["name"]

    shown = invoke("preview", name, "--limit", "100", "--format", "json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["crm_read"] == {"available": True, "reason": None, "calls": 1}
    rows = {r["record_key"]: r for r in report["rows"]}
    assert len(rows) == 21

    def only(row: Record) -> dict[str, Any]:
        results = rows[letter_key(row)]["results"]
        assert len(results) == 1, results
        result: dict[str, Any] = results[0]
        return result

    for i, row in enumerate(world.changed):
        result = only(row)
        assert (result["rule"], result["op"], result["crm_action"]) == (
            "customers",
            "upsert",
            "update",
        )
        assert result["id_value"] == record_key(row)
        assert [c["field"] for c in result["changes"]] == [first_name], result["changes"]
        assert result["changes"][0]["ours"] == f"Renamed {i}"
        assert result["changes"][0]["crm"] == sample_row(case, i)["given_name"]
    for row in world.unchanged:
        result = only(row)
        assert (result["crm_action"], result["changes"]) == ("unchanged", []), result
    for row in world.new:
        result = only(row)
        assert result["crm_action"] == "create"
        assert result["payload"][case.id_property] == record_key(row)

    invalid = rows[letter_key(world.invalid)]
    assert invalid["verdict"] == "reject" and invalid["results"] == []
    assert invalid["problem"]["stage"] == "validate"
    assert invalid["problem"]["field"] == "given_name"
    unmappable = only(world.unmappable)
    assert unmappable["crm_action"] == "reject"
    assert unmappable["problem"]["stage"] == "transform"
    assert "'no-such-tier' is not one of the field's options" in unmappable["problem"]["reason"]
    skipped = rows[letter_key(world.skipped)]
    assert (skipped["verdict"], skipped["results"], skipped["problem"]) == ("skip", [], None)

    expected = {"rows": 21, "create": 8, "update": 10, "archive": 0, "skipped": 1, "rejected": 2}
    assert {k: report["backfill"]["counts"][k] for k in expected} == expected
    assert report["backfill"]["exact"] is True
    estimate = report["backfill"]["estimate"]
    assert estimate["records"] == 18 and estimate["calls"] == 1  # one batch call holds 18

    table = invoke("preview", name, "--limit", "25")
    assert table.exit_code == 0, table.output
    for word in ("update", "unchanged", "create", "reject", "skip", "Renamed 0", "given_name"):
        assert word in table.output, table.output
    assert "create 8, update 10, archive 0, skip 1, reject 2" in table.output

    # The dry run's counts are what really pushing the same rows does.
    counts = world.count()
    assert (counts.rows, counts.create, counts.update, counts.archive) == (21, 8, 10, 0)
    assert (counts.skipped, counts.rejected) == (1, 2)
    before = len(crm_state(case, sim))
    world.push_for_real()
    wait_until(lambda: len(crm_state(case, sim)) == before + counts.create, timeout=120)
    outbox = pipeline.db.execute(
        "SELECT record_key, op FROM syncsvc.outbox WHERE source_table = %s", (world.table,)
    ).fetchall()
    letters = pipeline.dead_letters()
    assert len(outbox) == counts.create + counts.update + counts.archive
    assert {r["op"] for r in outbox} == {"upsert"}
    assert len(letters) == counts.rejected
    touched = {r["record_key"] for r in outbox} | {d["record_key"] for d in letters}
    all_keys = set(rows)
    assert len(all_keys - touched) == counts.skipped == 1
    assert all_keys - touched == {letter_key(world.skipped)}

    # After the push, the CRM holds what the rows say: every sent record is unchanged.
    again = json.loads(invoke("preview", name, "--limit", "100", "--format", "json").output)
    actions = [r["results"][0]["crm_action"] for r in again["rows"] if r["verdict"] == "send"]
    assert actions == ["unchanged"] * 18


def test_config_apply_dry_run_previews_the_changed_rule_and_writes_nothing(
    pipeline: Pipeline,
    env: None,
    unseen_hubspot_server: SimServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    sim = SimControl(unseen_hubspot_server.url)
    sim.reset()
    case = hubspot_case(sim)
    world = World(pipeline, case, sim)
    doc = conditional_config(case)
    doc["connections"][0]["rules"][0]["when"] = {
        "not": {"field": "tier", "op": "eq", "value": "Open"}
    }
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(doc))

    def state() -> tuple[Any, ...]:
        db = pipeline.db
        return (
            db.execute("SELECT generation FROM syncsvc.config_state").fetchall(),
            db.execute(
                "SELECT id, version, status, payload, delivered_version FROM syncsvc.outbox "
                "ORDER BY id"
            ).fetchall(),
            db.execute("SELECT name, condition FROM syncsvc.sync_rule ORDER BY id").fetchall(),
            db.execute("SELECT count(*) AS n FROM syncsvc.dead_letter").fetchall(),
            db.execute("SELECT count(*) AS n FROM syncsvc.sync_event").fetchall(),
        )

    before, crm_before = state(), crm_state(case, sim)
    shown = invoke("config", "apply", "--dry-run", "--samples", "4", str(path))
    assert shown.exit_code == 0, shown.output
    assert "nothing written (--dry-run)" in shown.output
    assert f"{case.connection['name']} {world.table}: rule customers: when" in shown.output
    assert "rule customers-deleted" not in shown.output  # unchanged rules are not previewed
    assert "4 sample row(s)" in shown.output
    assert state() == before
    assert crm_state(case, sim) == crm_before


def test_preview_errors_and_a_crm_that_cannot_be_reached(
    pipeline: Pipeline,
    env: None,
    unseen_hubspot_server: SimServer,  # noqa: F811
) -> None:
    sim = SimControl(unseen_hubspot_server.url)
    sim.reset()
    case = hubspot_case(sim)
    World(pipeline, case, sim)
    name = case.connection["name"]

    unknown = invoke("preview", "no-such-connection")
    assert unknown.exit_code != 0
    assert "no connection named 'no-such-connection'" in unknown.output
    no_rule = invoke("preview", name, "--rule", "nope")
    assert no_rule.exit_code != 0 and "has no enabled rule 'nope'" in no_rule.output

    gone = conditional_config(case)
    gone["connections"][0]["base_url"] = "http://127.0.0.1:9"  # nothing listens there
    pipeline.apply(gone)
    shown = invoke("preview", name, "--format", "json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert report["crm_read"]["available"] is False
    assert report["crm_read"]["reason"].startswith("no CRM read: hubspot unreachable")
    assert len(report["rows"]) == 10  # the local part is still there
    assert {r["results"][0]["crm_action"] for r in report["rows"] if r["results"]} <= {"unknown"}

    disabled = conditional_config(case)
    disabled["connections"][0]["enabled"] = False
    pipeline.apply(disabled)
    refused = invoke("preview", name)
    assert refused.exit_code != 0 and "is disabled" in refused.output
