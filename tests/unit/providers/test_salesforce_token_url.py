"""Where a Salesforce connection gets its token, and the configurations refused before anything
is stored: the client-credentials flow only on the org's My Domain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.salesforce.auth import token_url
from syncsvc.config.loader import load_config_file
from syncsvc.errors import ConfigError

MY_DOMAIN = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com"


@pytest.mark.parametrize(
    ("grant", "base_url", "options", "expected"),
    [
        ("client_credentials", LOGIN, {"my_domain": "acme.my.salesforce.com"}, MY_DOMAIN),
        ("client_credentials", LOGIN, {"my_domain": MY_DOMAIN + "/"}, MY_DOMAIN),
        ("client_credentials", MY_DOMAIN, {}, MY_DOMAIN),
        ("refresh_token", LOGIN, {}, LOGIN),
        ("refresh_token", MY_DOMAIN, {"my_domain": MY_DOMAIN}, MY_DOMAIN),
        (
            "client_credentials",
            LOGIN,
            {"token_url": MY_DOMAIN + "/services/oauth2/token"},
            MY_DOMAIN,
        ),
    ],
)
def test_the_token_endpoint_of_each_flow(
    grant: str, base_url: str, options: dict[str, Any], expected: str
) -> None:
    assert token_url(grant, base_url, options) == expected + "/services/oauth2/token"


@pytest.mark.parametrize(
    ("base_url", "options"),
    [
        (LOGIN, {}),
        ("https://test.salesforce.com", {}),
        (MY_DOMAIN, {"token_url": "https://test.salesforce.com/services/oauth2/token"}),
        (LOGIN, {"token_url": "/services/oauth2/token"}),
        (LOGIN, {"my_domain": "login.salesforce.com"}),
    ],
)
def test_client_credentials_on_a_login_host_are_a_configuration_error(
    base_url: str, options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match="My Domain"):
        token_url("client_credentials", base_url, options)


def test_a_my_domain_that_is_not_a_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="my_domain"):
        token_url("refresh_token", LOGIN, {"my_domain": "https://acme.my.salesforce.com/x"})


def write(tmp_path: Path, connection: dict[str, Any]) -> Path:
    doc = {
        "version": 1,
        "connections": [
            {
                "name": "sf",
                "provider": "salesforce",
                **connection,
                "objects": {
                    "Contact": {"mappings": [{"source": "id", "target": "Syncsvc_Id__c"}]}
                },
                "rules": [
                    {"name": "c", "source": "demo.contacts", "operations": ["insert", "update"], "action": "upsert",
                     "object": "Contact", "id_property": "Syncsvc_Id__c"}
                ],
            }
        ],
    }  # fmt: skip
    path = tmp_path / "sf.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_config_apply_names_a_client_credentials_connection_without_a_my_domain(
    tmp_path: Path,
) -> None:
    credentials = {"client_id": "id", "client_secret": "secret"}
    path = write(tmp_path, {"credentials": credentials})
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, env={})
    message = str(caught.value)
    assert "connections[0].options" in message
    assert "options.my_domain" in message and "login.salesforce.com" in message
    fixed = write(tmp_path, {"credentials": credentials, "options": {"my_domain": MY_DOMAIN}})
    assert load_config_file(fixed, env={}).connections[0].options["my_domain"] == MY_DOMAIN
