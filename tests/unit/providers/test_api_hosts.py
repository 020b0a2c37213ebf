"""Which API host a token answer may send our calls to (``providers.hosts``), and the Zoho
token source that applies it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from providers.hosts import accepted_api_host, is_loopback
from providers.pipedrive.auth import TokenSource as PipedriveTokens
from providers.zoho.auth import TokenSource, token_url
from providers.zoho.defaults import API_DOMAINS
from syncsvc.errors import ConfigError, CredentialsRefused

ZOHO_TOKEN_URL = "https://accounts.zoho.eu/oauth/v2/token"


def zoho_host(named: str, configured: tuple[str, ...] = (), token: str = ZOHO_TOKEN_URL) -> str:
    return accepted_api_host(
        named,
        provider="zoho",
        field="api_domain",
        domains=API_DOMAINS,
        configured=configured,
        token_url=token,
    )


@pytest.mark.parametrize(
    "named",
    ["https://www.zohoapis.eu", "https://www.zohoapis.com.au/", "https://zohoapis.in",
     "https://WWW.ZOHOAPIS.COM", "https://www.zohoapis.com:443"],
)  # fmt: skip
def test_https_hosts_on_the_crms_own_domains_are_taken(named: str) -> None:
    assert zoho_host(named) == named.rstrip("/")


@pytest.mark.parametrize(
    "named",
    [
        "https://evil.example",
        "https://zohoapis.eu.evil.example",  # the suffix must end the name
        "https://evilzohoapis.eu",  # and start at a dot
        "http://www.zohoapis.eu",  # plain http off loopback
        "https://www.zohoapis.eu:8443",  # another port
        "https://user:pw@www.zohoapis.eu",  # user info
        "https://www.zohoapis.eu/elsewhere",  # a path
        "ftp://www.zohoapis.eu",
        "not a url",
        "http://127.0.0.1:8104",  # loopback, but the token endpoint is not
        "https://www.zohoapis.eu" + "/" * 3000,
    ],
)
def test_any_other_host_is_refused_and_named(named: str) -> None:
    with pytest.raises(CredentialsRefused, match="api_domain") as caught:
        zoho_host(named)
    assert caught.value.code == "UNTRUSTED_API_HOST"


def test_a_host_the_configuration_names_is_taken_on_any_scheme_and_port() -> None:
    proxy = "http://zoho-proxy.internal:8080"
    assert zoho_host(proxy, configured=(proxy + "/crm",)) == proxy
    with pytest.raises(CredentialsRefused):
        zoho_host("http://zoho-proxy.internal:8081", configured=(proxy,))


def test_loopback_is_taken_only_from_a_loopback_token_endpoint() -> None:
    local_token = "http://127.0.0.1:8104/oauth/v2/token"
    for named in ("http://127.0.0.1:40111", "http://localhost:40111", "http://[::1]:40111"):
        assert is_loopback(named)
        assert zoho_host(named, token=local_token) == named
        with pytest.raises(CredentialsRefused):
            zoho_host(named)


def answer(body: dict[str, Any], status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


OAUTH = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}


def test_the_zoho_token_source_keeps_an_accepted_api_domain_and_refuses_another() -> None:
    answers = [
        {"access_token": "t1", "expires_in": 3600, "api_domain": "https://www.zohoapis.eu"},
        {"access_token": "t2", "expires_in": 3600, "api_domain": "https://collector.example"},
    ]
    sent: list[str] = []

    def post(url: str, form: dict[str, str]) -> requests.Response:
        sent.append(url)
        return answer(answers[len(sent) - 1])

    source = TokenSource(OAUTH, {"data_center": "eu"}, post, base_url="https://www.zohoapis.com")
    assert source.token() == "t1"
    assert source.api_domain == "https://www.zohoapis.eu"
    with pytest.raises(CredentialsRefused, match=r"collector\.example"):
        source.refresh(stale="t1")
    assert sent == [ZOHO_TOKEN_URL, ZOHO_TOKEN_URL]


def test_the_data_center_names_the_accounts_server() -> None:
    assert token_url({}) == "https://accounts.zoho.com/oauth/v2/token"
    assert token_url({"data_center": "CA"}) == "https://accounts.zohocloud.ca/oauth/v2/token"
    with pytest.raises(ConfigError, match="unknown"):
        token_url({"data_center": "mars"})
    with pytest.raises(ConfigError, match="not both"):
        token_url({"data_center": "eu", "token_url": ZOHO_TOKEN_URL})


def test_the_pipedrive_token_source_takes_only_a_company_domain_on_pipedrive_com() -> None:
    named = iter(["https://acme.pipedrive.com", "https://acme.pipedrive.com.evil.example"])

    def post(form: dict[str, str], basic: tuple[str, str]) -> requests.Response:
        body = {"access_token": "t", "expires_in": 3600, "api_domain": next(named)}
        return answer(body)

    configured = ("https://api.pipedrive.com", "https://oauth.pipedrive.com/oauth/token")
    source = PipedriveTokens(OAUTH, post, configured=configured)
    source.token()
    assert source.api_domain == "https://acme.pipedrive.com"
    with pytest.raises(CredentialsRefused, match="not a pipedrive API host"):
        source.refresh(stale="t")
