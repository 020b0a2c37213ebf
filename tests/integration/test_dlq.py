"""Dead letters: listed with their reason, replayed through the current config after a fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.integration.conftest import Pipeline, execute
from tests.integration.test_end_to_end_hubspot import by_key, hubspot_config
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def run_cli(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd, database, dlq, status  # noqa: F401

    for key, value in service_env.items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli_pkg.cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_a_push_failure_is_replayed_after_the_crm_is_fixed(
    pipeline: Pipeline,
    hubspot: SimControl,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    config = hubspot_config(hubspot.base_url)
    mappings = config["connections"][0]["objects"]["contacts"]["mappings"]
    mappings.append(
        {"target": "favorite_color", "transforms": [{"constant": "teal"}], "custom": True}
    )
    pipeline.apply(config)
    rid = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('color@example.com', 'lead') RETURNING id",
    )[0]["id"]
    wait_until(lambda: len(pipeline.dead_letters()) == 1, 60, message=pipeline.describe)
    letter = pipeline.dead_letters()[0]
    assert (letter["stage"], letter["field"]) == ("push", "favorite_color")
    listed = [
        json.loads(line)
        for line in run_cli("dlq", "list", "--stage", "push", "--json").splitlines()
    ]
    assert [(d["record_key"], d["field"]) for d in listed] == [(str(rid), "favorite_color")]
    assert "favorite_color" in listed[0]["reason"]
    shown = json.loads(run_cli("dlq", "show", str(letter["id"])))
    assert shown["record_key"] == str(rid)

    # The fix: the CRM gets the custom property. Then replay.
    resp = hubspot.http.post(
        f"{hubspot.base_url}/crm/v3/properties/contacts",
        json={"name": "favorite_color", "label": "Favorite color", "type": "string",
              "fieldType": "text", "groupName": "contactinformation"},
        headers={"Authorization": "Bearer demo-token"},
        timeout=10,
    )  # fmt: skip
    assert resp.status_code in (200, 201), resp.text
    assert "requeued 1" in run_cli("dlq", "replay", "--yes")
    wait_until(
        lambda: by_key(hubspot, "contacts").get(str(rid), {}).get("favorite_color") == "teal", 60
    )
    pipeline.wait_idle()
    assert "no dead letters" in run_cli("dlq", "list")
    assert len(pipeline.dead_letters()) == 1, "the replayed letter stays, marked replayed"
    assert pipeline.dead_letters()[0]["replayed_at"] is not None


def test_a_validation_failure_is_replayed_with_the_fixed_schema(
    pipeline: Pipeline,
    hubspot: SimControl,
    run_cli,
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    # A stricter copy of the contacts spec wins (SYNCSVC_SCHEMA_PATH comes first): phone must be digits.
    spec_dir = Path(settings.internal_schema_dirs[0])
    spec_path = spec_dir / "demo.contacts.json"
    original = json.loads((settings.internal_schema_dirs[-1] / "demo.contacts.json").read_text())
    strict = json.loads(json.dumps(original))
    strict["fields"]["phone"]["pattern"] = "^[0-9]+$"
    spec_path.write_text(json.dumps(strict))
    try:
        pipeline.apply(hubspot_config(hubspot.base_url))
        rid = execute(
            pipeline.db,
            "INSERT INTO demo.contacts (email, phone, lifecycle_stage) VALUES ('ph@example.com', '+1 555', 'lead') RETURNING id",
        )[0]["id"]
        wait_until(lambda: len(pipeline.dead_letters()) == 1, 60, message=pipeline.describe)
        assert (pipeline.dead_letters()[0]["stage"], pipeline.dead_letters()[0]["field"]) == (
            "validate",
            "phone",
        )
        spec_path.write_text(json.dumps(original))  # the fix
        assert "requeued 1" in run_cli("dlq", "replay", "--yes", "--stage", "validate")
        wait_until(lambda: str(rid) in by_key(hubspot, "contacts"), 60, message=pipeline.describe)
        pipeline.wait_idle()
    finally:
        spec_path.unlink(missing_ok=True)


def test_purge_deletes_old_dead_letters(pipeline: Pipeline, hubspot: SimControl, run_cli) -> None:  # type: ignore[no-untyped-def]
    pipeline.apply(hubspot_config(hubspot.base_url))
    execute(pipeline.db, "INSERT INTO demo.contacts (email) VALUES ('nope')")
    wait_until(lambda: len(pipeline.dead_letters()) == 1, 60, message=pipeline.describe)
    assert "deleted 0" in run_cli("dlq", "purge", "--before", "2000-01-01", "--yes")
    assert "deleted 1" in run_cli("dlq", "purge", "--before", "2999-01-01", "--yes")
    assert pipeline.dead_letters() == []
