"""The unseen table synced to Salesforce Leads: standard fields (FirstName, LastName, Company,
Email, AnnualRevenue, NumberOfEmployees, Rating, Description) plus the custom fields an admin
would add (the External ID key, a founding date, a last-contact time, an active checkbox), created
through the Tooling API as an admin's tooling would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from tests.integration.conftest import Pipeline
from tests.integration.unseen.harness import Case, Record, run_case, utc
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

API = "/services/data/v62.0"
KEY = "Customer_Key__c"
NO_LAST_NAME = "[not provided]"
COMPANY = "Unseen Customers Ltd"
CUSTOM_FIELDS: dict[str, dict[str, Any]] = {
    KEY: {
        "type": "Text",
        "label": "Customer Key",
        "length": 40,
        "externalId": True,
        "unique": True,
    },
    "Founded__c": {"type": "Date", "label": "Founded"},
    "Last_Contacted__c": {"type": "DateTime", "label": "Last Contacted"},
    "Active__c": {"type": "Checkbox", "label": "Active", "defaultValue": "false"},
}


@pytest.fixture(scope="session")
def salesforce_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("salesforce", {}), port=0).start()
    yield server
    server.stop()


def create_custom_fields(sim: SimControl) -> None:
    """What an admin does before syncing: the Lead fields the mappings need (Tooling API)."""
    auth = {"Authorization": "Bearer demo-token"}
    describe = sim.http.get(f"{sim.base_url}{API}/sobjects/Lead/describe", headers=auth, timeout=10)
    describe.raise_for_status()
    have = {f["name"] for f in describe.json()["fields"]}
    for name, metadata in CUSTOM_FIELDS.items():
        if name in have:  # metadata outlives /_sim/reset, as an org's does
            continue
        body = {"FullName": f"Lead.{name}", "Metadata": metadata}
        made = sim.http.post(
            f"{sim.base_url}{API}/tooling/sobjects/CustomField", json=body, headers=auth, timeout=10
        )
        assert made.status_code == 201, made.text


def expected(row: Record) -> Record:
    revenue, moment = row["annual_revenue"], row["last_contacted"]
    return {
        KEY: f"{row['region']}-{row['customer_no']}",
        "FirstName": row["given_name"],
        "LastName": row["family_name"] or NO_LAST_NAME,
        "Company": COMPANY,
        "Email": row["email_address"],
        "AnnualRevenue": None if revenue is None else float(revenue),
        "NumberOfEmployees": row["employees"],
        "Founded__c": None if row["founded"] is None else row["founded"].isoformat(),
        "Last_Contacted__c": None if moment is None else salesforce_datetime(moment),
        "Active__c": row["is_active"] is True,
        "Rating": row["tier"],
        "Description": row["notes"],
    }


def salesforce_datetime(moment: datetime) -> str:
    """How Salesforce returns a date-time: UTC, milliseconds, ``+0000``."""
    at = utc(moment)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


FIELDS = (KEY, "FirstName", "LastName", "Company", "Email", "AnnualRevenue", "NumberOfEmployees")
FIELDS += ("Founded__c", "Last_Contacted__c", "Active__c", "Rating", "Description")


def actual(record: Record) -> Record:
    return {name: record.get(name) for name in FIELDS}


def case_for(url: str) -> Case:
    return Case(
        crm="salesforce",
        object="Lead",
        id_property=KEY,
        mappings=[
            {
                "source": ["region", "customer_no"],
                "target": KEY,
                "transforms": [{"concat": "-"}],
                "required": True,
            },
            {"source": "given_name", "target": "FirstName"},
            {
                "source": "family_name",
                "target": "LastName",
                "transforms": [{"default": NO_LAST_NAME}],
            },
            {"target": "Company", "transforms": [{"constant": COMPANY}]},
            {"source": "email_address", "target": "Email"},
            {"source": "annual_revenue", "target": "AnnualRevenue"},
            {"source": "employees", "target": "NumberOfEmployees"},
            {"source": "founded", "target": "Founded__c"},
            {"source": "last_contacted", "target": "Last_Contacted__c"},
            {"source": "is_active", "target": "Active__c"},
            {"source": "tier", "target": "Rating"},
            {"source": "notes", "target": "Description"},
        ],
        tiers=("Hot", "Warm", "Cold"),
        notes_max=32000,
        expected=expected,
        actual=actual,
        key_of=lambda record: record.get(KEY),
        setup=create_custom_fields,
        refused_calls=lambda sim: int(sim.stats()["refused_calls"]),
        connection={
            "name": "salesforce-unseen",
            "provider": "salesforce",
            "mode": "push",
            "base_url": url,
            "options": {"token_url": f"{url}/services/oauth2/token", "api_version": "v62.0"},
            "credentials": {
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "refresh_token": "demo-refresh-token",
            },
            "rate_limit": {"requests": 20, "per_seconds": 1},
            "batch_size": 200,
        },
    )


def test_an_unseen_table_syncs_to_salesforce_leads(
    pipeline: Pipeline, salesforce_server: SimServer
) -> None:
    sim = SimControl(salesforce_server.url)
    sim.reset()
    run_case(pipeline, case_for(salesforce_server.url), sim)
    assert requests.get(f"{sim.base_url}/_sim/stats", timeout=10).json()["refused"] == {}
