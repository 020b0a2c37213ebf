"""The unseen table synced to Zoho CRM Contacts (standard fields where Zoho has them, custom
fields created through ``POST /crm/v8/settings/fields`` where it has none)."""

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

TIERS = ("Advertisement", "Cold Call", "Partner", "Trade Show")
"""Values of Zoho's standard Contacts ``Lead_Source`` picklist, as Zoho displays them."""
DESCRIPTION_MAX = 32000
"""Zoho's length of the standard multi-line ``Description`` field."""
CUSTOM_FIELDS = [
    {"field_label": "Customer Key", "data_type": "text", "length": 60,
     "unique": {"case_sensitive": False}},
    {"field_label": "Annual Revenue", "data_type": "currency", "length": 16, "decimal_place": 2},
    {"field_label": "Employees", "data_type": "integer"},
    {"field_label": "Last Contacted", "data_type": "datetime"},
    {"field_label": "Active", "data_type": "boolean"},
]  # fmt: skip
"""Contacts has no standard field for these: the case creates them like an admin would."""
OAUTH = {"client_id": "demo-client", "client_secret": "demo-secret",
         "refresh_token": "demo-refresh-token"}  # fmt: skip
MAPPINGS: list[dict[str, Any]] = [
    {"template": "{region}-{customer_no}", "target": "Customer_Key", "required": True},
    {"source": "given_name", "target": "First_Name"},
    # Last_Name is mandatory in Zoho: a customer without a family name is sent as "Unknown".
    {"source": "family_name", "target": "Last_Name", "transforms": [{"default": "Unknown"}]},
    {"source": "email_address", "target": "Email"},
    {"source": "annual_revenue", "target": "Annual_Revenue"},
    {"source": "employees", "target": "Employees"},
    {"source": "founded", "target": "Date_of_Birth"},
    {"source": "last_contacted", "target": "Last_Contacted"},
    {"source": "is_active", "target": "Active"},
    {"source": "tier", "target": "Lead_Source"},
    {"source": "notes", "target": "Description"},
]
FIELDS = [m["target"] for m in MAPPINGS]


def expected(row: Record) -> Record:
    revenue, moment = row["annual_revenue"], row["last_contacted"]
    return {
        "Customer_Key": record_key(row),
        "First_Name": row["given_name"],
        "Last_Name": row["family_name"] or "Unknown",
        "Email": row["email_address"],
        "Annual_Revenue": None if revenue is None else float(revenue),
        "Employees": row["employees"],
        "Date_of_Birth": None if row["founded"] is None else row["founded"].isoformat(),
        "Last_Contacted": None if moment is None else utc(moment).isoformat(),
        "Active": bool(row["is_active"]),  # a NULL unticks the checkbox
        "Lead_Source": row["tier"],
        "Description": row["notes"],
    }


def actual(record: Record) -> Record:
    return {name: record.get(name, False if name == "Active" else None) for name in FIELDS}


def create_fields(sim: SimControl) -> None:
    issued = sim.http.post(
        sim.base_url + "/oauth/v2/token",
        params={"grant_type": "refresh_token", **OAUTH},
        timeout=10,
    ).json()
    token = issued["access_token"]
    answer = sim.http.post(
        issued["api_domain"] + "/crm/v8/settings/fields",  # the data centre's API host
        params={"module": "Contacts"},
        json={"fields": CUSTOM_FIELDS},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    )
    codes = {e["code"] for e in answer.json()["fields"]}
    assert codes <= {"SUCCESS", "DUPLICATE_DATA"}, answer.text  # created, or by an earlier run


@pytest.fixture(scope="session")
def zoho_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("zoho", {}), port=0).start()
    yield server
    server.stop()


def test_an_unseen_table_syncs_to_zoho(pipeline: Pipeline, zoho_server: SimServer) -> None:
    sim = SimControl(zoho_server.url)
    sim.reset()
    case = Case(
        crm="zoho",
        object="Contacts",
        id_property="Customer_Key",
        mappings=MAPPINGS,
        tiers=TIERS,
        notes_max=DESCRIPTION_MAX,
        expected=expected,
        actual=actual,
        key_of=lambda record: record.get("Customer_Key"),
        setup=create_fields,
        refused_calls=lambda s: int(s.stats()["refused_calls"]),
        connection={
            "name": "zoho-unseen",
            "provider": "zoho",
            "mode": "push",
            "base_url": zoho_server.url,
            "options": {"token_url": zoho_server.url + "/oauth/v2/token"},
            "credentials": OAUTH,
            "rate_limit": {"requests": 1000, "per_seconds": 10},
        },
    )
    run_case(pipeline, case, sim)
    assert requests.get(zoho_server.url + "/_sim/stats", timeout=10).json()["refused_records"] == 0
