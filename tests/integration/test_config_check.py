"""`config apply --check` asks each CRM for its fields and catches a mapping to one it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from providers.registry import provider_names
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.config.check import read_remote_fields
from syncsvc.config.loader import load_config_file
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.settings import Settings


def example_for(provider: str, url: str, tmp_path: Path, extra_target: str | None) -> Path:
    doc = example_pointed_at(provider, url)
    conn = doc["connections"][0]
    if extra_target:
        contacts = next(r["object"] for r in conn["rules"] if r["source"] == "demo.contacts")
        conn["objects"][contacts]["mappings"].append(
            {"source": "first_name", "target": extra_target, "custom": True}
        )
    path = tmp_path / f"{provider}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("provider", provider_names())
def test_check_reports_a_mapping_to_a_field_the_crm_does_not_have(
    provider: str, tmp_path: Path, settings: Settings
) -> None:
    server = SimServer(make_simulator(provider, example_sim_options(provider)), port=0).start()
    try:
        good = load_config_file(example_for(provider, server.url, tmp_path, None))
        assert read_remote_fields(good, settings).problems == []
        bad = load_config_file(example_for(provider, server.url, tmp_path, "Nonexistent_Field_X"))
        problems = read_remote_fields(bad, settings).problems
    finally:
        server.stop()
    assert len(problems) == 1, problems
    assert "has no" in problems[0] and "'Nonexistent_Field_X'" in problems[0]
    assert ".mappings[" in problems[0] and "].target" in problems[0]


def test_the_cli_refuses_to_apply_when_check_finds_problems(
    tmp_path: Path, service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd  # noqa: F401 - registers the command

    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    server = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    try:
        path = example_for("hubspot", server.url, tmp_path, "nonexistent_field_x")
        result = CliRunner().invoke(cli_pkg.cli, ["config", "apply", str(path), "--check"])
    finally:
        server.stop()
    assert result.exit_code == 1
    assert "nonexistent_field_x" in result.output and "nothing was applied" in result.output
