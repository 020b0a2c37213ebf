"""Salesforce refuses the client-credentials flow on login.salesforce.com / test.salesforce.com:
it needs the org's My Domain (issue 11, mismatch 2). The simulator's second host plays
login.salesforce.com for the client's own session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo, PushItem
from providers.salesforce import SalesforceClient
from providers.salesforce.sim import SalesforceSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import CredentialsRefused
from tests.integration.providers.helpers import serving
from tests.support.hosts import rerouted

Sim = tuple[SimServer, SalesforceSim]
CLIENT_CREDENTIALS = {"client_id": "demo-client", "client_secret": "demo-secret"}
LOGIN = "https://login.salesforce.com"


@pytest.fixture
def sim() -> Iterator[Sim]:
    with serving(make_simulator(example_sim_options("salesforce"))) as started:
        yield started


def client(server: SimServer, base_url: str, **options: Any) -> SalesforceClient:
    """A client whose https://login.salesforce.com is the simulator's login host."""
    session = rerouted(requests.Session(), LOGIN, server.url_of("login"))
    connection = ConnectionInfo(
        id=1,
        name="test",
        provider="salesforce",
        base_url=base_url,
        credentials=CLIENT_CREDENTIALS,
        options=options,
        batch_size=200,
        rate_limit_requests=100,
        rate_limit_seconds=1,
    )
    return SalesforceClient(connection, session=session)


def account(n: int) -> PushItem:
    payload = {"Syncsvc_Id__c": str(n), "Name": f"Account {n}"}
    return PushItem(n, "Account", "upsert", str(n), "Syncsvc_Id__c", str(n), payload, None, 1)


def test_client_credentials_get_their_token_from_the_my_domain_not_the_login_host(
    sim: Sim,
) -> None:
    server, org = sim
    my_domain = client(server, base_url=server.url)  # no token_url: Salesforce's defaults
    try:
        results = my_domain.push("Account", "upsert", [account(1), account(2)])
    finally:
        my_domain.close()
    assert all(r.ok for r in results), results
    assert sorted(r["key"] for r in org.view("Account")) == ["1", "2"]
    stats = org.extra_stats()
    assert (stats["tokens_issued"], stats["login_host_refused"]) == (1, 0)


def test_my_domain_option_with_the_login_base_url_calls_the_instance_url(sim: Sim) -> None:
    server, org = sim
    login_base = client(server, base_url=LOGIN, my_domain=server.url)
    try:
        assert login_base.push("Account", "upsert", [account(3)])[0].ok
        assert login_base.auth.instance_url == server.url
    finally:
        login_base.close()
    assert [r["key"] for r in org.view("Account")] == ["3"]


def test_the_login_host_refusal_is_a_credentials_failure(sim: Sim) -> None:
    server, org = sim
    at_login = client(
        server, base_url=server.url, token_url=server.url_of("login") + "/services/oauth2/token"
    )
    try:
        with pytest.raises(
            CredentialsRefused, match="request not supported on this domain"
        ) as caught:
            at_login.push("Account", "upsert", [account(4)])
    finally:
        at_login.close()
    assert caught.value.code == "invalid_grant"
    assert org.extra_stats()["login_host_refused"] == 1
    assert org.view("Account") == []
