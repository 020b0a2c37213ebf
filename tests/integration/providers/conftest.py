"""HubSpot simulators on local ports, and clients whose exchanges are checked against the
official OpenAPI files when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.hubspot import HubSpotClient
from providers.hubspot.sim import HubSpotSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from tests.integration.providers.helpers import simulators
from tests.integration.providers.hubspot_openapi import Recorder

StartSim = Callable[..., tuple[SimServer, HubSpotSim]]
MakeClient = Callable[..., HubSpotClient]
STATIC = {"access_token": "demo-token"}


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """Simulators of the example account (its custom properties, e.g. the demo's unique
    ``syncsvc_id``) unless a test's options say otherwise."""
    with simulators(
        lambda options: make_simulator({**example_sim_options("hubspot"), **options})
    ) as start:
        yield start


@pytest.fixture
def hubspot_sim(start_sim: StartSim) -> tuple[SimServer, HubSpotSim]:
    return start_sim()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Every exchange a test's clients make is checked against the OpenAPI files at the end."""
    recorded = Recorder()
    yield recorded
    problems = recorded.problems()
    assert not problems, "\n".join(map(str, problems))


@pytest.fixture
def make_client(
    hubspot_sim: tuple[SimServer, HubSpotSim], recorder: Recorder
) -> Iterator[MakeClient]:
    clients: list[HubSpotClient] = []

    def make(
        credentials: Mapping[str, Any] = STATIC,
        batch_size: int = 100,
        server: SimServer | None = None,
    ) -> HubSpotClient:
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="hubspot",
            base_url=(server or hubspot_sim[0]).url,
            credentials=credentials,
            options={},
            batch_size=batch_size,
            rate_limit_requests=100,
            rate_limit_seconds=10,
        )
        client = HubSpotClient(connection, session=recorder.attach(requests.Session()))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
