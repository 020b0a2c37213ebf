"""I-4: a CRM that is down, throttling or slow delays only its own connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options
from tests.integration.conftest import Pipeline, execute
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def salesforce() -> Iterator[SimControl]:
    options = example_sim_options("salesforce")
    server = SimServer(make_simulator("salesforce", options), port=0).start()
    yield SimControl(server.url)
    server.stop()


def keys(sim: SimControl, obj: str) -> set[str]:
    """What the CRM holds; nothing is visible while it refuses connections."""
    try:
        resp = sim.http.get(f"{sim.base_url}/_sim/view", params={"object": obj}, timeout=10)
    except requests.ConnectionError:
        return set()
    resp.raise_for_status()
    return {str(r["key"]) for r in resp.json()["records"]}


@pytest.mark.parametrize(
    "fault", [{"mode": "refuse"}, {"mode": "rate_limit"}, {"mode": "slow", "delay": 15}]
)
def test_hubspot_keeps_syncing_while_salesforce_misbehaves(
    pipeline: Pipeline, hubspot: SimControl, salesforce: SimControl, fault: dict[str, Any]
) -> None:
    salesforce.reset()
    hs = example_pointed_at("hubspot", hubspot.base_url)
    sf = example_pointed_at("salesforce", salesforce.base_url)
    pipeline.apply({"version": 1, "connections": hs["connections"] + sf["connections"]})
    sf_contacts = next(
        r["object"] for r in sf["connections"][0]["rules"] if r["source"] == "demo.contacts"
    )

    salesforce.fault(seconds=25, **fault)
    rows = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "SELECT 'iso' || g || '@example.com', 'Iso', 'Lation' || g, 'lead' "
        "FROM generate_series(1, 300) g RETURNING id",
    )
    wanted = {str(r["id"]) for r in rows}
    # HubSpot gets everything while Salesforce is still misbehaving...
    wait_until(lambda: keys(hubspot, "contacts") >= wanted, 20, message=pipeline.describe)
    assert not keys(salesforce, sf_contacts) >= wanted, "Salesforce should still be held up"
    # ...and Salesforce catches up once it recovers, with nothing lost.
    wait_until(lambda: keys(salesforce, sf_contacts) >= wanted, 120, message=pipeline.describe)
    pipeline.wait_idle(60)
    assert pipeline.dead_letters() == []
