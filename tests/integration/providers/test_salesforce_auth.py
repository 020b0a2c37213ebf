"""OAuth sessions against the simulated token endpoint: fetched, refreshed once on
``INVALID_SESSION_ID``, shared by threads, and refused grants."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from providers.base import ConnectionInfo, PushItem, PushResult
from providers.salesforce import SalesforceClient
from providers.salesforce.sim import SalesforceSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError, CredentialsRefused
from tests.integration.providers.helpers import OAUTH, push_until_tokens, serving

Sim = tuple[SimServer, SalesforceSim]
MakeClient = Callable[..., SalesforceClient]


@pytest.fixture
def sim() -> Iterator[Sim]:
    with serving(
        make_simulator({**example_sim_options("salesforce"), "rate_limit_requests": 10_000})
    ) as started:
        yield started


@pytest.fixture
def make_client(sim: Sim) -> Iterator[MakeClient]:
    clients: list[SalesforceClient] = []

    def make(credentials: Mapping[str, Any] = OAUTH, **options: Any) -> SalesforceClient:
        options.setdefault("token_url", sim[0].url + "/services/oauth2/token")
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="salesforce",
            base_url=sim[0].url,
            credentials=credentials,
            options=options,
            batch_size=200,
            rate_limit_requests=100,
            rate_limit_seconds=1,
        )
        client = SalesforceClient(connection)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def account(n: int) -> PushItem:
    payload = {"Syncsvc_Id__c": str(n), "Name": f"Account {n}"}
    return PushItem(n, "Account", "upsert", str(n), "Syncsvc_Id__c", str(n), payload, None, 1)


def upserting(client: SalesforceClient) -> Callable[[int], PushResult]:
    """Upserts account ``n`` alone; its result."""
    return lambda n: client.push("Account", "upsert", [account(n)])[0]


def test_an_expired_session_is_refreshed_once_and_the_call_goes_through(
    sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    assert client.push("Account", "upsert", [account(1)])[0].ok
    sim[1].configure({"expire_tokens": True})
    assert client.push("Account", "upsert", [account(2)])[0].ok
    stats = sim[1].extra_stats()
    assert (stats["auth_expired"], stats["tokens_issued"]) == (1, 2)
    assert len(sim[1].view("Account")) == 2


def test_sessions_that_time_out_mid_run_are_refreshed_on_the_401(
    sim: Sim, make_client: MakeClient
) -> None:
    sim[1].configure({"token_ttl": 0.3})
    client = make_client()
    pushed = push_until_tokens(sim[1], upserting(client), within=15, pause=0.05)
    assert len(sim[1].view("Account")) == pushed


def test_a_stated_session_timeout_refreshes_before_salesforce_refuses(
    sim: Sim, make_client: MakeClient
) -> None:
    sim[1].configure({"token_ttl": 2})
    client = make_client(session_timeout=2)
    push_until_tokens(sim[1], upserting(client), within=15, pause=0.05)
    assert sim[1].extra_stats()["auth_expired"] == 0


def test_threads_sharing_a_client_refresh_the_session_once(
    sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    assert client.push("Account", "upsert", [account(0)])[0].ok
    sim[1].configure({"expire_tokens": True})
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            assert client.push("Account", "upsert", [account(n)])[0].ok
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert sim[1].extra_stats()["tokens_issued"] == 2
    assert len(sim[1].view("Account")) == 9


def test_the_client_credentials_flow_needs_no_refresh_token(
    sim: Sim, make_client: MakeClient
) -> None:
    client = make_client(credentials={"client_id": "demo-client", "client_secret": "demo-secret"})
    assert client.push("Account", "upsert", [account(1)])[0].ok
    assert client.auth.instance_url == sim[0].url


def test_a_relative_token_url_is_on_the_base_url(sim: Sim, make_client: MakeClient) -> None:
    client = make_client(token_url="/services/oauth2/token")
    assert client.push("Account", "upsert", [account(1)])[0].ok


def test_a_refused_refresh_token_is_credentials_refused(make_client: MakeClient) -> None:
    client = make_client(credentials={**OAUTH, "refresh_token": "revoked"})
    with pytest.raises(CredentialsRefused) as caught:
        client.push("Account", "upsert", [account(1)])
    assert caught.value.code == "invalid_grant"


def test_a_fixed_session_id_works_and_a_wrong_one_is_credentials_refused(
    sim: Sim, make_client: MakeClient
) -> None:
    assert (
        make_client(credentials={"access_token": "demo-token"})
        .push("Account", "upsert", [account(1)])[0]
        .ok
    )
    assert sim[1].extra_stats()["tokens_issued"] == 0
    with pytest.raises(CredentialsRefused) as caught:
        make_client(credentials={"access_token": "wrong"}).push("Account", "upsert", [account(2)])
    assert caught.value.code == "HTTP_401" and "INVALID_SESSION_ID" in str(caught.value)


def test_a_session_refused_right_after_refresh_is_credentials_refused(
    sim: Sim, make_client: MakeClient
) -> None:
    sim[1].configure({"token_ttl": 0})
    with pytest.raises(CredentialsRefused):
        make_client().push("Account", "upsert", [account(1)])


def test_credentials_without_a_usable_grant_fail_at_construction(make_client: MakeClient) -> None:
    with pytest.raises(ConfigError):
        make_client(credentials={"client_id": "only-this"})
