"""Client-credentials tokens: minted, renewed ahead of expiry, and once on a 401."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from providers.base import ConnectionInfo, PushItem
from providers.dynamics import DynamicsClient
from providers.dynamics.auth import token_settings
from providers.dynamics.sim import DynamicsSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError, CredentialsRefused
from tests.integration.providers.helpers import push_until_tokens, simulators

CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "tenant_id": "demo-tenant",
}


DEMO = example_sim_options("dynamics")
Start = Callable[..., tuple[SimServer, DynamicsSim]]


@pytest.fixture
def start() -> Iterator[Start]:
    with simulators(lambda options: make_simulator({**DEMO, **options})) as run:
        yield run


def client(
    server: SimServer, credentials: dict[str, str] = CREDENTIALS, **options: Any
) -> DynamicsClient:
    options.setdefault("token_url", f"{server.url}/demo-tenant/oauth2/v2.0/token")
    connection = ConnectionInfo(
        1, "t", "dynamics", server.url, credentials, options, 100, 6000, 300
    )
    return DynamicsClient(connection)


def account(n: int) -> PushItem:
    payload = {"syncsvc_externalid": str(n), "name": f"Account {n}"}
    return PushItem(n, "accounts", "upsert", str(n), "syncsvc_externalid", str(n), payload, None, 1)


def test_a_token_is_renewed_before_it_expires_mid_run(start: Start) -> None:
    server, sim = start(token_ttl=4)
    dynamics = client(server)
    pushed = push_until_tokens(
        sim, lambda n: dynamics.push("accounts", "upsert", [account(n)])[0], within=15
    )
    assert sim.extra_stats()["auth_expired"] == 0, "the renewal came after expiry, not before"
    assert len(sim.view("accounts")) == pushed


def test_a_401_mints_one_new_token_and_the_call_goes_through(start: Start) -> None:
    server, sim = start()
    dynamics = client(server)
    assert dynamics.push("accounts", "upsert", [account(1)])[0].ok
    sim.configure({"expire_tokens": True})
    assert dynamics.push("accounts", "upsert", [account(2)])[0].ok
    stats = sim.extra_stats()
    assert (stats["auth_expired"], stats["tokens_issued"]) == (1, 2)
    assert dynamics.list_fields("accounts")


def test_a_token_the_api_keeps_refusing_is_credentials_refused(start: Start) -> None:
    server, sim = start(token_ttl=0)
    with pytest.raises(CredentialsRefused):
        client(server).push("accounts", "upsert", [account(1)])
    assert sim.extra_stats()["tokens_issued"] == 2


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({**CREDENTIALS, "client_secret": "wrong"}, "invalid_client"),
        ({**CREDENTIALS, "client_id": "someone-else"}, "unauthorized_client"),
    ],
)
def test_refused_client_credentials_are_credentials_refused(
    start: Start, credentials: dict[str, str], code: str
) -> None:
    server, _ = start()
    with pytest.raises(CredentialsRefused) as caught:
        client(server, credentials).push("accounts", "upsert", [account(1)])
    assert caught.value.code == code
    assert "AADSTS" in str(caught.value)


def test_a_scope_without_default_is_refused_like_entra_does(start: Start) -> None:
    server, _ = start()
    with pytest.raises(CredentialsRefused) as caught:
        client(server, scope="https://org.crm.dynamics.com/user_impersonation").list_fields(
            "accounts"
        )
    assert caught.value.code == "invalid_scope"


def test_token_url_and_scope_come_from_options_or_the_real_defaults() -> None:
    assert token_settings("https://contoso.crm4.dynamics.com", CREDENTIALS, {}) == (
        "https://login.microsoftonline.com/demo-tenant/oauth2/v2.0/token",
        "https://contoso.crm4.dynamics.com/.default",
    )
    url, scope = token_settings("http://127.0.0.1:8105", CREDENTIALS, {"token_url": "http://x/t"})
    assert (url, scope) == ("http://x/t", "http://127.0.0.1:8105/.default")


def test_an_env_reference_left_in_the_token_url_is_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = {"token_url": "${SYNCSVC_TEST_TOKEN_HOST:-http://sim:8105}/t/oauth2/v2.0/token"}
    monkeypatch.delenv("SYNCSVC_TEST_TOKEN_HOST", raising=False)
    assert (
        token_settings("http://h", CREDENTIALS, reference)[0]
        == "http://sim:8105/t/oauth2/v2.0/token"
    )
    monkeypatch.setenv("SYNCSVC_TEST_TOKEN_HOST", "https://login.example")
    assert token_settings("http://h", CREDENTIALS, reference)[0] == (
        "https://login.example/t/oauth2/v2.0/token"
    )


@pytest.mark.parametrize(
    ("credentials", "options"),
    [
        ({"client_id": "a", "client_secret": "b"}, {}),  # no tenant and no token_url
        ({"client_id": "a", "tenant_id": "t"}, {}),  # no secret
        (CREDENTIALS, {"token_url": "${SYNCSVC_TEST_SURELY_UNSET}/t/oauth2/v2.0/token"}),
        (CREDENTIALS, {"token_url": "login.example/t/oauth2/v2.0/token"}),
        (CREDENTIALS, {"tokenurl": "https://typo.example/"}),
        (CREDENTIALS, {"logical_names": ["new_projects"]}),
    ],
)
def test_bad_connection_settings_fail_at_construction(
    credentials: dict[str, str], options: dict[str, str]
) -> None:
    connection = ConnectionInfo(1, "t", "dynamics", "https://org.crm.dynamics.com", credentials,
                                options, 100, 6000, 300)  # fmt: skip
    with pytest.raises(ConfigError):
        DynamicsClient(connection)
