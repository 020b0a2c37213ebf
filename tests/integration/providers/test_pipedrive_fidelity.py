"""Pipedrive's OAuth token answers name the company domain apps are to call (``api_domain``);
a strict simulator refuses an access token anywhere else (issue 11, mismatch 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from providers.base import ConnectionInfo
from providers.pipedrive import PipedriveClient
from providers.pipedrive.sim import PipedriveSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from tests.integration.providers.helpers import OAUTH, by_id, simulators
from tests.integration.providers.test_pipedrive_client import API_TOKEN, keys, person

Started = tuple[SimServer, PipedriveSim]


@pytest.fixture
def strict_sim() -> Iterator[Started]:
    options = {**example_sim_options("pipedrive"), "strict": True}
    with simulators(lambda o: make_simulator({**options, **o})) as start:
        yield start()


def client_at(server: SimServer, credentials: dict[str, Any], seen: list[str]) -> PipedriveClient:
    """A client configured as for api.pipedrive.com (the simulator's main host), recording the
    URL of every request it makes."""
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: seen.append(str(r.request.url)))
    connection = ConnectionInfo(
        id=1,
        name="test",
        provider="pipedrive",
        base_url=server.url,
        credentials=credentials,
        options={"token_url": server.url + "/oauth/token"},
        batch_size=50,
        rate_limit_requests=80,
        rate_limit_seconds=2,
    )
    return PipedriveClient(connection, session=session)


def hosts(urls: list[str]) -> set[str]:
    return {urlsplit(u).netloc for u in urls}


def test_oauth_calls_go_to_the_company_domain_the_token_answer_names(strict_sim: Started) -> None:
    server, sim = strict_sim
    seen: list[str] = []
    client = client_at(server, dict(OAUTH), seen)
    try:
        results = by_id(client.push("persons", "upsert", [person(1), person(2)]))
    finally:
        client.close()

    assert all(r.ok for r in results.values()), results
    assert keys(sim, "persons") == ["1", "2"]
    company = server.url_of("company")
    api_calls = [u for u in seen if "/oauth/token" not in u]
    assert api_calls and all(u.startswith(company + "/") for u in api_calls), seen
    assert sim.extra_stats()["auth_wrong_host"] == 0


def test_an_api_token_still_calls_the_configured_base_url(strict_sim: Started) -> None:
    server, _ = strict_sim
    seen: list[str] = []
    client = client_at(server, dict(API_TOKEN), seen)
    try:
        assert by_id(client.push("persons", "upsert", [person(3)]))[3].ok
    finally:
        client.close()
    assert hosts(seen) == hosts([server.url])


def test_the_strict_main_host_refuses_an_oauth_token(strict_sim: Started) -> None:
    server, _ = strict_sim
    token = requests.post(
        server.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": OAUTH["refresh_token"]},
        auth=(OAUTH["client_id"], OAUTH["client_secret"]),
        timeout=5,
    ).json()
    assert token["api_domain"] == server.url_of("company")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    main = requests.get(server.url + "/api/v2/persons", headers=headers, timeout=5)
    assert (main.status_code, main.json()["error"]) == (401, "unauthorized access")
    company = requests.get(token["api_domain"] + "/api/v2/persons", headers=headers, timeout=5)
    assert company.status_code == 200
