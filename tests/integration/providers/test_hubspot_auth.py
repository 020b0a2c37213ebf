"""OAuth access tokens: fetched, refreshed ahead of expiry, and once on an expired-token 401."""

from __future__ import annotations

import pytest

from providers.base import PushItem
from syncsvc.errors import ConfigError, CredentialsRefused
from tests.integration.providers.conftest import MakeClient, StartSim
from tests.integration.providers.helpers import OAUTH, push_until_tokens


def deal(n: int) -> PushItem:
    properties = {"dealname": f"Deal {n}", "syncsvc_id": str(n)}
    return PushItem(n, "deals", "upsert", str(n), "syncsvc_id", str(n), properties, None, 1)


def test_oauth_token_is_refreshed_when_it_expires_mid_run(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(token_ttl=4, rate_limit_requests=10_000)
    client = make_client(credentials=OAUTH, server=server)
    pushed = push_until_tokens(sim, lambda n: client.push("deals", "upsert", [deal(n)])[0])
    assert sim.extra_stats()["auth_expired"] == 0, "refresh came after expiry, not before"
    assert len(sim.dump("deals")) == pushed


def test_an_expired_token_answer_triggers_one_refresh_and_the_call_goes_through(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim()
    client = make_client(credentials=OAUTH, server=server)
    assert client.push("deals", "upsert", [deal(1)])[0].ok
    sim.configure({"expire_tokens": True})

    assert client.push("deals", "upsert", [deal(2)])[0].ok
    stats = sim.extra_stats()
    assert (stats["auth_expired"], stats["tokens_issued"]) == (1, 2)


def test_a_refused_refresh_token_is_credentials_refused(make_client: MakeClient) -> None:
    client = make_client(credentials={**OAUTH, "refresh_token": "revoked"})
    with pytest.raises(CredentialsRefused) as caught:
        client.push("deals", "upsert", [deal(1)])
    assert caught.value.code == "BAD_REFRESH_TOKEN"


def test_private_app_token_needs_no_token_endpoint(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(tokens=["pat-1"])
    client = make_client(credentials={"access_token": "pat-1"}, server=server)
    assert client.push("deals", "upsert", [deal(1)])[0].ok
    assert sim.extra_stats()["tokens_issued"] == 0


def test_credentials_without_a_token_or_oauth_client_fail_at_construction(
    make_client: MakeClient,
) -> None:
    with pytest.raises(ConfigError):
        make_client(credentials={"client_id": "only-this"})
