"""Issue 11, item 3: refused credentials pause the connection, they never dead-letter its rows.

A wrong client secret (or a CRM that answers 401 to every call) is the connection's fault, not
the records': the rows wait in the outbox without counting an attempt, the connection shows
``paused: credentials`` in ``status`` and ``/metrics``, and ``config apply`` with the fixed
secret (or ``connection resume``) delivers every waiting row exactly once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import requests
import yaml
from click.testing import CliRunner, Result
from prometheus_client import CollectorRegistry, generate_latest

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.api.app import create_context
from syncsvc.api.metrics import BacklogCollector
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.settings import Settings
from tests.integration.conftest import Pipeline, execute
from tests.support.contacts import insert_contacts, pause_of
from tests.support.flower import flower
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

WRONG_SECRET = "wrong-secret-Qz81x"
PROVIDERS = ["hubspot", "salesforce", "pipedrive", "zoho", "dynamics"]


@pytest.fixture
def run_cli(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in service_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "200")  # the status table, unwrapped


def invoke(*args: str) -> Result:
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import configcmd, connectioncmd, status  # noqa: F401 - registers them

    return CliRunner().invoke(cli_pkg.cli, list(args))


def with_secret(config: dict[str, Any], secret: str) -> dict[str, Any]:
    config["connections"][0]["credentials"]["client_secret"] = secret
    return config


def outbox(pipeline: Pipeline) -> dict[str, Any]:
    row = execute(
        pipeline.db,
        "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, "
        "count(*) FILTER (WHERE status = 'dead') AS dead, "
        "count(*) FILTER (WHERE status = 'delivered') AS delivered, "
        "count(*) FILTER (WHERE lease_until > now()) AS leased, "
        "coalesce(max(attempts), 0) AS max_attempts FROM syncsvc.outbox",
    )[0]
    return dict(row)


def waiting_paused(pipeline: Pipeline, name: str, n: int) -> bool:
    """Paused, and all ``n`` rows persisted and set aside (none leased, none in a push)."""
    box = outbox(pipeline)
    return pause_of(pipeline.db, name) is not None and box["pending"] == n and box["leased"] == 0


def metrics_text(settings: Settings) -> str:
    registry = CollectorRegistry()
    registry.register(BacklogCollector(create_context(settings)))
    return generate_latest(registry).decode()


def paused_gauge(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("syncsvc_connection_paused{") and f'connection="{name}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def assert_paused_and_nothing_dead(pipeline: Pipeline, name: str, n: int) -> None:
    box = outbox(pipeline)
    assert box["dead"] == 0 and box["delivered"] == 0 and box["pending"] == n, box
    assert box["max_attempts"] == 0, "a refused credential is not a failed attempt"
    assert pipeline.dead_letters() == []
    pause = pause_of(pipeline.db, name)
    assert pause is not None and pause["reason"] == "credentials"
    assert WRONG_SECRET not in pause["message"]


def test_a_wrong_secret_pauses_and_config_apply_delivers_all_500_exactly_once(
    pipeline: Pipeline, hubspot: SimControl, settings: Settings, run_cli: None, tmp_path: Path
) -> None:
    config = example_pointed_at("hubspot", hubspot.base_url)
    name = config["connections"][0]["name"]
    good_secret = config["connections"][0]["credentials"]["client_secret"]
    pipeline.apply(with_secret(config, WRONG_SECRET))
    wanted = insert_contacts(pipeline.db, 500, "paused")

    wait_until(lambda: waiting_paused(pipeline, name, 500), 90, message=pipeline.describe)
    assert_paused_and_nothing_dead(pipeline, name, 500)
    assert "invalid client_secret" in (pause_of(pipeline.db, name) or {})["message"]
    assert hubspot.records("contacts") == []

    shown = invoke("status")
    assert shown.exit_code == 0, shown.output
    assert f"{name}: paused: credentials: " in shown.output
    row = next(line for line in shown.output.splitlines() if f" {name} " in line)
    assert "│ paused: credentials " in row
    assert WRONG_SECRET not in shown.output
    text = metrics_text(settings)
    assert paused_gauge(text, name) == 1.0
    assert 'reason="credentials"' in text

    config_file = tmp_path / "fixed.yaml"
    config_file.write_text(yaml.safe_dump(with_secret(config, good_secret)))
    applied = invoke("config", "apply", str(config_file))
    assert applied.exit_code == 0, applied.output
    assert f"resumed connection {name}" in applied.output

    def delivered() -> bool:
        keys = {r["properties"].get("syncsvc_id") for r in hubspot.records("contacts")}
        return keys >= wanted

    wait_until(delivered, 120, message=pipeline.describe)
    pipeline.wait_idle(60)
    keys = Counter(r["properties"].get("syncsvc_id") for r in hubspot.records("contacts"))
    assert set(keys) == wanted and len(keys) == 500
    assert [k for k, n in keys.items() if n > 1] == []
    created = Counter(a["key"] for a in hubspot.acks() if a["object"] == "contacts")
    assert set(created) == wanted
    assert [k for k, n in created.items() if n > 1] == [], "a waiting row was sent twice"
    assert pipeline.dead_letters() == []
    assert pause_of(pipeline.db, name) is None
    assert paused_gauge(metrics_text(settings), name) == 0.0
    row = next(line for line in invoke("status").output.splitlines() if f" {name} " in line)
    assert "│ active " in row


@pytest.fixture
def crm(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimControl]]:
    provider: str = request.param
    server = SimServer(make_simulator(provider, example_sim_options(provider)), port=0).start()
    yield provider, SimControl(server.url)
    server.stop()


def sim_keys(sim: SimControl, obj: str) -> set[str]:
    resp = requests.get(f"{sim.base_url}/_sim/view", params={"object": obj}, timeout=10)
    resp.raise_for_status()
    return {str(r["key"]) for r in resp.json()["records"]}


@pytest.mark.parametrize("crm", PROVIDERS, indirect=True)
def test_a_refused_token_request_pauses_instead_of_dead_lettering(
    pipeline: Pipeline, crm: tuple[str, SimControl]
) -> None:
    provider, sim = crm
    config = example_pointed_at(provider, sim.base_url)
    name = config["connections"][0]["name"]
    good_secret = config["connections"][0]["credentials"]["client_secret"]
    contacts = next(
        r["object"] for r in config["connections"][0]["rules"] if r["source"] == "demo.contacts"
    )
    pipeline.apply(with_secret(config, WRONG_SECRET))
    wanted = insert_contacts(pipeline.db, 30, f"p-{provider}-")

    wait_until(lambda: waiting_paused(pipeline, name, 30), 90, message=pipeline.describe)
    assert_paused_and_nothing_dead(pipeline, name, 30)
    assert sim_keys(sim, contacts) == set()

    pipeline.apply(with_secret(config, good_secret))  # what `config apply` stores
    wait_until(lambda: sim_keys(sim, contacts) >= wanted, 90, message=pipeline.describe)
    pipeline.wait_idle(60)
    assert sim_keys(sim, contacts) == wanted
    assert pipeline.dead_letters() == []


def test_connection_resume_sends_the_waiting_rows_of_an_api_that_answered_401(
    pipeline: Pipeline, hubspot: SimControl, settings: Settings, run_cli: None
) -> None:
    config = example_pointed_at("hubspot", hubspot.base_url)
    name = config["connections"][0]["name"]
    unknown = invoke("connection", "resume", "no-such-connection")
    assert unknown.exit_code != 0
    assert unknown.output.strip().splitlines() == [
        "Error: no connection named 'no-such-connection' (see `manage.py status`)"
    ]

    pipeline.apply(config)
    hubspot.fault("http_error", seconds=600, status=401)  # every call refused, token or not
    try:
        wanted = insert_contacts(pipeline.db, 40, "resume")
        wait_until(lambda: waiting_paused(pipeline, name, 40), 90, message=pipeline.describe)
        assert_paused_and_nothing_dead(pipeline, name, 40)
        assert paused_gauge(metrics_text(settings), name) == 1.0
    finally:
        hubspot.fault("none")
    resumed = invoke("connection", "resume", name)
    assert resumed.exit_code == 0, resumed.output
    assert f"resumed connection {name}: 40 waiting record(s) due now" in resumed.output

    def delivered() -> bool:
        keys = {r["properties"].get("syncsvc_id") for r in hubspot.records("contacts")}
        return keys >= wanted

    wait_until(delivered, 60, message=pipeline.describe)
    pipeline.wait_idle(60)
    created = Counter(a["key"] for a in hubspot.acks() if a["object"] == "contacts")
    assert set(created) == wanted and max(created.values()) == 1
    assert pipeline.dead_letters() == []
    again = invoke("connection", "resume", name)
    assert again.exit_code == 0 and f"connection {name} is not paused" in again.output


def test_flower_names_the_pushes_of_a_paused_connection(
    pipeline: Pipeline, hubspot: SimControl, service_env: dict[str, str], tmp_path: Path
) -> None:
    auth = ("ops", "flower-pw-Lk2")
    env = {**service_env, "SYNCSVC_FLOWER_USER": auth[0], "SYNCSVC_FLOWER_PASSWORD": auth[1]}
    config = example_pointed_at("hubspot", hubspot.base_url)
    name = config["connections"][0]["name"]
    with flower(env, tmp_path) as (url, _):

        def task_names() -> set[str]:
            tasks = requests.get(f"{url}/api/tasks", auth=auth, timeout=10).json()
            return {str(t.get("name")) for t in tasks.values()}

        def shown(task_name: str) -> Callable[[], bool]:
            def check() -> bool:
                insert_contacts(pipeline.db, 1, f"named-{uuid4().hex[:6]}-")  # live writes go on
                return task_name in task_names()

            return check

        pipeline.apply(config)
        wait_until(shown(f"syncsvc.push[{name}]"), 60, interval=1.0, message=pipeline.describe)

        pipeline.apply(with_secret(config, WRONG_SECRET))
        paused_name = f"syncsvc.push[{name} paused: credentials]"
        wait_until(shown(paused_name), 90, interval=1.0, message=lambda: str(task_names()))
    assert pause_of(pipeline.db, name) is not None
    assert pipeline.dead_letters() == []
