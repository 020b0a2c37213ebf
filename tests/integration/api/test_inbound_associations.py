"""Associations B → A (issue 14): a sales rep moves a synced contact to another synced company
in the CRM, and the contact's ``company_id`` in ``demo.contacts`` follows within one poll; the
link we pushed does not come back as a change, and nothing is written back to the CRM.

Salesforce: the rep sets the contact's ``AccountId`` lookup (``/_sim/edit``), which moves its
``SystemModstamp``; the poll reads the lookup with the contact.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from tests.integration.conftest import Pipeline, execute
from tests.support.inbound import fresh_sim, no_inbound_waiting, running_sim, upsert_rule
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "assoc-inbound"
POLL_SECONDS = 2
CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "refresh_token": "demo-refresh-token",
}


def salesforce_config(base_url: str) -> dict[str, Any]:
    key = {"source": "id", "target": "Syncsvc_Id__c", "transforms": ["to_string"]}
    return {
        "version": 1,
        "connections": [
            {
                "name": CONNECTION,
                "provider": "salesforce",
                "base_url": base_url,
                "options": {"token_url": f"{base_url}/services/oauth2/token"},
                "credentials": CREDENTIALS,
                "objects": {
                    "Contact": {
                        "mappings": [
                            key,
                            {"source": "first_name", "target": "FirstName"},
                            {"source": "last_name", "target": "LastName"},
                            {"source": "email", "target": "Email"},
                        ]
                    },
                    "Account": {"mappings": [key, {"source": "name", "target": "Name"}]},
                },
                "rules": [
                    upsert_rule("contacts", "demo.contacts", "Contact", "Syncsvc_Id__c"),
                    upsert_rule("companies", "demo.companies", "Account", "Syncsvc_Id__c"),
                ],
                "associations": [
                    {
                        "name": "contact-account",
                        "from": "Contact",
                        "to": "Account",
                        "via": "company_id",
                        "parent_rule": "companies",
                    }
                ],
                "inbound": {
                    "webhooks": False,
                    "poll_seconds": POLL_SECONDS,
                    "objects": {
                        "Contact": {
                            "table": "demo.contacts",
                            "key": {"column": "id", "field": "Syncsvc_Id__c"},
                            "mappings": [
                                {"source": "Email", "target": "email"},
                                {"source": "LastName", "target": "last_name"},
                            ],
                        }
                    },
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def salesforce_server() -> Iterator[SimServer]:
    yield from running_sim("salesforce")


@pytest.fixture
def salesforce(salesforce_server: SimServer) -> SimControl:
    return fresh_sim(salesforce_server)


def _edit(sim: SimControl, body: dict[str, Any]) -> None:
    resp = requests.post(f"{sim.base_url}/_sim/edit", json=body, timeout=10)
    assert resp.status_code in (200, 201), resp.text


def _by_key(sim: SimControl, obj: str, key: str) -> dict[str, Any] | None:
    return next((r for r in sim.records(obj) if str(r.get("Syncsvc_Id__c")) == key), None)


def _company_of(p: Pipeline, contact: int) -> Any:
    return execute(p.db, "SELECT company_id FROM demo.contacts WHERE id = %s", contact)[0][
        "company_id"
    ]


def _seed(p: Pipeline) -> tuple[int, int, int]:
    """Two companies and a contact of the first: (contact, first company, second company)."""
    companies = [
        int(r["id"])
        for r in execute(
            p.db,
            "INSERT INTO demo.companies (name, domain, city) VALUES "
            "('North', 'north.example', 'Oslo'), ('South', 'south.example', 'Rome') "
            "RETURNING id",
        )
    ]
    contact = int(
        execute(
            p.db,
            "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage, "
            "company_id) VALUES ('rep@example.com', 'Ada', 'Lovelace', 'lead', %s) RETURNING id",
            companies[0],
        )[0]["id"]
    )
    return contact, companies[0], companies[1]


def _linked(p: Pipeline) -> bool:
    found = p.db.execute(
        "SELECT count(*) FILTER (WHERE status = 'linked') AS linked, count(*) AS n "
        "FROM syncsvc.record_link"
    ).fetchone()
    return found is not None and found["n"] > 0 and found["linked"] == found["n"]


def test_salesforce_a_rep_moving_a_contact_moves_its_company_id(
    pipeline: Pipeline, salesforce: SimControl
) -> None:
    pipeline.apply(salesforce_config(salesforce.base_url))
    contact, north, south = _seed(pipeline)
    ada = wait_until(
        lambda: _by_key(salesforce, "Contact", str(contact)), 60, message=pipeline.describe
    )
    south_account = wait_until(lambda: _by_key(salesforce, "Account", str(south)), 60)
    north_account = wait_until(lambda: _by_key(salesforce, "Account", str(north)), 60)
    wait_until(
        lambda: (
            (_by_key(salesforce, "Contact", str(contact)) or {}).get("AccountId")
            == north_account["Id"]
        ),
        60,
        message=pipeline.describe,
    )
    wait_until(lambda: _linked(pipeline), 30, message=pipeline.describe)
    pipeline.wait_idle()
    # the link we made came back: nothing to write
    wait_until(lambda: no_inbound_waiting(pipeline), 15)
    assert _company_of(pipeline, contact) == north
    writes = len(salesforce.acks())

    _edit(
        salesforce,
        {"object": "Contact", "action": "update", "id": ada["Id"],
         "fields": {"AccountId": south_account["Id"]}},
    )  # fmt: skip
    wait_until(lambda: _company_of(pipeline, contact) == south, 10, message=pipeline.describe)

    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 15)
    assert len(salesforce.acks()) == writes, salesforce.acks()[writes:]
    assert (_by_key(salesforce, "Contact", str(contact)) or {}).get("AccountId") == south_account[
        "Id"
    ]
    failed = pipeline.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE status = 'failed'"
    ).fetchone()
    assert failed is not None and failed["n"] == 0
