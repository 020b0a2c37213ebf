"""`config apply` caches the CRM's field definitions; `fields list` shows them without the CRM,
`fields refresh` reads them again; a CRM that cannot be asked is a warning, or with --check an
error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options


@pytest.fixture
def run_cli(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> type[CliRunner]:
    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    return CliRunner


def invoke(*args: str) -> Result:
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd, fieldscmd  # noqa: F401 - registers the commands

    return CliRunner().invoke(cli_pkg.cli, list(args))


def example(tmp_path: Path, url: str, name: str) -> Path:
    doc = example_pointed_at("hubspot", url)
    doc["connections"][0]["name"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_apply_caches_definitions_that_list_shows_with_the_crm_gone(
    tmp_path: Path, run_cli: type[CliRunner]
) -> None:
    server = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    try:
        applied = invoke("config", "apply", str(example(tmp_path, server.url, "hs-fields")))
    finally:
        server.stop()
    assert applied.exit_code == 0, applied.output
    assert "hs-fields: read" in applied.output and "contacts field definitions" in applied.output

    shown = invoke("fields", "list", "hs-fields", "contacts", "--json")
    assert shown.exit_code == 0, shown.output
    listed = json.loads(shown.output)
    names = {f["name"] for f in listed["fields"]}
    assert {"email", "firstname", "lastname"} <= names
    assert listed["fetched_at"] is not None

    table = invoke("fields", "list", "hs-fields", "contacts")
    assert table.exit_code == 0, table.output
    assert "hs-fields contacts" in table.output and "email" in table.output

    refreshed = invoke("fields", "refresh", "hs-fields")
    assert refreshed.exit_code != 0
    assert "cannot read hubspot" in refreshed.output and "fields for hs-fields" in refreshed.output


def test_refresh_reads_again_and_list_names_what_is_missing(
    tmp_path: Path, run_cli: type[CliRunner]
) -> None:
    server = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    try:
        assert invoke("config", "apply", str(example(tmp_path, server.url, "hs-r"))).exit_code == 0
        refreshed = invoke("fields", "refresh", "hs-r", "--object", "tickets-not-mapped")
        again = invoke("fields", "refresh", "hs-r")
    finally:
        server.stop()
    assert refreshed.exit_code != 0
    assert again.exit_code == 0, again.output
    assert "hs-r: " in again.output and "contacts field definitions cached" in again.output
    missing = invoke("fields", "list", "hs-r", "line_items")
    assert missing.exit_code != 0
    assert "run `manage.py fields refresh hs-r --object line_items`" in missing.output
    unknown = invoke("fields", "list", "no-such-connection", "contacts")
    assert unknown.exit_code != 0 and "no connection named 'no-such-connection'" in unknown.output


def test_an_unreachable_crm_is_a_warning_and_with_check_an_error(
    tmp_path: Path, run_cli: type[CliRunner]
) -> None:
    server = SimServer(make_simulator("hubspot", example_sim_options("hubspot")), port=0).start()
    url = server.url
    server.stop()
    path = example(tmp_path, url, "hs-down")
    strict = invoke("config", "apply", str(path), "--check")
    assert strict.exit_code != 0
    assert "cannot read hubspot" in strict.output and "nothing was applied" in strict.output
    lenient = invoke("config", "apply", str(path))
    assert lenient.exit_code == 0, lenient.output
    assert "warning:" in lenient.output and "cached field definitions stay in use" in lenient.output
    assert "created connection hs-down" in lenient.output
