"""Zoho OAuth: access tokens fetched from the Accounts server, refreshed ahead of expiry and
once on an ``INVALID_TOKEN`` 401."""

from __future__ import annotations

import threading

import pytest

from providers.base import PushItem
from syncsvc.errors import ConfigError, CredentialsRefused, RateLimited
from tests.integration.providers import test_zoho_client as shared
from tests.integration.providers.helpers import OAUTH, push_until_tokens
from tests.integration.providers.test_zoho_client import MakeClient, StartSim

# The simulator and client fixtures of the client tests, shared by name.
start_sim, zoho, make_client = shared.start_sim, shared.zoho, shared.make_client


def deal(n: int) -> PushItem:
    payload = {
        "Syncsvc_Id": str(n),
        "Deal_Name": f"Deal {n}",
        "Stage": "Qualification",
        "Closing_Date": "2027-01-15",
    }
    return PushItem(n, "Deals", "upsert", str(n), "Syncsvc_Id", str(n), payload, None, 1)


def test_the_token_is_refreshed_ahead_of_expiry_mid_run(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(token_ttl=4, rate_limit_requests=10_000)
    client = make_client(server=server)
    pushed = push_until_tokens(sim, lambda n: client.push("Deals", "upsert", [deal(n)])[0])
    assert sim.extra_stats()["auth_expired"] == 0, "refresh came after expiry, not before"
    assert len(sim.view("Deals")) == pushed


def test_an_invalid_token_401_triggers_one_refresh_and_the_call_goes_through(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim()
    client = make_client(server=server)
    assert client.push("Deals", "upsert", [deal(1)])[0].ok
    sim.configure({"expire_tokens": True})

    assert client.push("Deals", "upsert", [deal(2)])[0].ok
    stats = sim.extra_stats()
    assert (stats["auth_expired"], stats["tokens_issued"]) == (1, 2)


def test_threads_sharing_a_client_refresh_the_token_once(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(rate_limit_requests=10_000)
    client = make_client(server=server)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            assert client.push("Deals", "upsert", [deal(n)])[0].ok
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sim.extra_stats()["tokens_issued"] == 1


def test_a_refused_refresh_token_is_credentials_refused(make_client: MakeClient) -> None:
    client = make_client(credentials={**OAUTH, "refresh_token": "revoked"})
    with pytest.raises(CredentialsRefused) as caught:
        client.push("Deals", "upsert", [deal(1)])
    assert caught.value.code == "INVALID_CODE"


def test_a_wrong_client_secret_is_credentials_refused(make_client: MakeClient) -> None:
    client = make_client(credentials={**OAUTH, "client_secret": "nope"})
    with pytest.raises(CredentialsRefused) as caught:
        client.list_fields("Deals")
    assert caught.value.code == "INVALID_CLIENT"


def test_too_many_token_requests_is_a_rate_limit(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(token_issue_limit=1)
    client = make_client(server=server)
    assert client.push("Deals", "upsert", [deal(1)])[0].ok
    sim.configure({"expire_tokens": True})
    with pytest.raises(RateLimited) as caught:
        client.push("Deals", "upsert", [deal(2)])
    assert (caught.value.retry_after or 0) >= 30


def test_a_static_access_token_needs_no_token_endpoint(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(tokens=["1000.static.token"])
    client = make_client(server=server, credentials={"access_token": "1000.static.token"})
    assert client.push("Deals", "upsert", [deal(1)])[0].ok
    assert sim.extra_stats()["tokens_issued"] == 0


def test_the_token_url_may_still_carry_an_env_reference(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, _ = start_sim()
    token_url = "${ZOHO_TEST_SURELY_UNSET:-" + server.url + "}/oauth/v2/token"
    client = make_client(server=server, token_url=token_url)
    assert client.auth.token_url == server.url + "/oauth/v2/token"
    assert client.push("Deals", "upsert", [deal(1)])[0].ok


def test_bad_credentials_and_options_fail_at_construction(make_client: MakeClient) -> None:
    with pytest.raises(ConfigError):
        make_client(credentials={"client_id": "only-this"})
    with pytest.raises(ConfigError):
        make_client(token_url="accounts.zoho.com/oauth/v2/token")
    with pytest.raises(ConfigError):
        make_client(workflow_magic=True)
