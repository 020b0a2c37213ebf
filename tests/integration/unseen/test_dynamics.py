"""The unseen table synced to Dataverse contacts: standard columns, a custom alternate-key column
and a custom Boolean column created through the metadata API, choices by label."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from tests.integration.conftest import Pipeline
from tests.integration.unseen.harness import Case, Record, record_key, run_case, utc
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

API = "/api/data/v9.2"
CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "tenant_id": "demo-tenant",
}
ROLES = {"Decision Maker": 1, "Employee": 2, "Influencer": 3}
"""contact.accountrolecode: the table holds the labels, Dataverse the values."""
KEY = "new_customerkey"
ACTIVE = "new_isactive"


@pytest.fixture(scope="session")
def dynamics_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("dynamics", {}), port=0).start()
    yield server
    server.stop()


def _label(text: str) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def create_columns(sim: SimControl) -> None:
    """What an administrator does once: two custom columns and an alternate key on one."""
    token = requests.post(
        f"{sim.base_url}/demo-tenant/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": f"{sim.base_url}/.default",
              **{k: v for k, v in CREDENTIALS.items() if k != "tenant_id"}},
        timeout=10,
    ).json()["access_token"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}", "OData-Version": "4.0"}
    contact = f"{sim.base_url}{API}/EntityDefinitions(LogicalName='contact')"
    bodies = [
        ("Attributes", {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                        "SchemaName": "new_CustomerKey", "DisplayName": _label("Customer key"),
                        "MaxLength": 100, "FormatName": {"Value": "Text"}}),
        ("Attributes", {"@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
                        "SchemaName": "new_IsActive", "DisplayName": _label("Active customer"),
                        "OptionSet": {"TrueOption": {"Value": 1, "Label": _label("Yes")},
                                      "FalseOption": {"Value": 0, "Label": _label("No")}}}),
        ("Keys", {"SchemaName": "new_customerkey_key", "DisplayName": _label("Customer key"),
                  "KeyAttributes": [KEY]}),
    ]  # fmt: skip
    for nav, body in bodies:
        response = requests.post(f"{contact}/{nav}", json=body, headers=headers, timeout=10)
        assert response.status_code == 204, response.text


def expected(row: Record) -> Record:
    moment = row["last_contacted"]
    return {
        "firstname": row["given_name"],
        "lastname": row["family_name"],
        "emailaddress1": row["email_address"],
        "annualincome": None if row["annual_revenue"] is None else float(row["annual_revenue"]),
        "numberofchildren": row["employees"],
        "anniversary": None if row["founded"] is None else row["founded"].isoformat(),
        "lastonholdtime": None if moment is None else utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ACTIVE: row["is_active"],
        "accountrolecode": None if row["tier"] is None else ROLES[row["tier"]],
        "description": row["notes"],
        KEY: record_key(row),
    }


def actual(record: Record) -> Record:
    return {name: record.get(name) for name in expected_names()}


def expected_names() -> tuple[str, ...]:
    return ("firstname", "lastname", "emailaddress1", "annualincome", "numberofchildren",
            "anniversary", "lastonholdtime", ACTIVE, "accountrolecode", "description", KEY)  # fmt: skip


def case(url: str) -> Case:
    return Case(
        crm="dynamics",
        object="contacts",
        id_property=KEY,
        mappings=[
            {"template": "{region}-{customer_no}", "target": KEY},
            {"source": "given_name", "target": "firstname"},
            {"source": "family_name", "target": "lastname"},
            {"source": "email_address", "target": "emailaddress1"},
            {"source": "annual_revenue", "target": "annualincome"},
            {"source": "employees", "target": "numberofchildren"},
            {"source": "founded", "target": "anniversary"},
            {"source": "last_contacted", "target": "lastonholdtime"},
            {"source": "is_active", "target": ACTIVE},
            {"source": "tier", "target": "accountrolecode"},
            {"source": "notes", "target": "description"},
        ],
        tiers=tuple(ROLES),
        notes_max=2000,
        expected=expected,
        actual=actual,
        key_of=lambda record: record.get(KEY),
        setup=create_columns,
        refused_calls=lambda sim: int(sim.stats()["refused_writes"]),
        connection={
            "name": "unseen-dynamics",
            "provider": "dynamics",
            "mode": "push",
            "base_url": url,
            "credentials": CREDENTIALS,
            "options": {"token_url": f"{url}/demo-tenant/oauth2/v2.0/token"},
            "rate_limit": {"requests": 6000, "per_seconds": 300},
            "batch_size": 100,
        },
    )


def test_an_unseen_table_syncs_to_dataverse_contacts(
    pipeline: Pipeline, dynamics_server: SimServer
) -> None:
    sim = SimControl(dynamics_server.url)
    run_case(pipeline, case(dynamics_server.url), sim)
    assert sim.stats()["refused_writes"] == 0
