"""The unseen table → HubSpot contacts, on a simulator that holds only HubSpot's standard
properties until the case creates its own through ``POST /crm/v3/properties/contacts``.

Standard targets: ``firstname``, ``lastname``, ``email``, ``annualrevenue`` (a text property in
HubSpot's contacts), ``hs_lead_status`` (the table holds its labels; HubSpot gets the internal
values) and ``message`` (a textarea: 65,536 characters). HubSpot's contacts have no writable
standard number, date, datetime or boolean property for employees, founding date, last contact
(``notes_last_contacted`` is read-only) or activity, so the case creates those as custom
properties, with the unique ``customer_ref`` that identifies records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from tests.integration.conftest import Pipeline
from tests.integration.unseen.harness import Case, Record, record_key, run_case
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

TOKEN = "demo-token"
LEAD_STATUS = {
    "New": "NEW",
    "Open": "OPEN",
    "In Progress": "IN_PROGRESS",
    "Bad Timing": "BAD_TIMING",
}
"""The labels the table holds → the values HubSpot stores (``hs_lead_status`` options)."""
CUSTOM = [
    {"name": "customer_ref", "label": "Customer ref", "type": "string", "fieldType": "text",
     "hasUniqueValue": True},
    {"name": "employee_count", "label": "Employees", "type": "number", "fieldType": "number"},
    {"name": "founded_on", "label": "Founded", "type": "date", "fieldType": "date"},
    {"name": "last_contacted_at", "label": "Last contacted", "type": "datetime",
     "fieldType": "date"},
    {"name": "is_active", "label": "Active", "type": "bool", "fieldType": "booleancheckbox",
     "options": [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]},
]  # fmt: skip
MAPPINGS: list[dict[str, Any]] = [
    {"template": "{region}-{customer_no}", "target": "customer_ref"},
    {"source": "given_name", "target": "firstname"},
    {"source": "family_name", "target": "lastname"},
    {"source": "email_address", "target": "email"},
    {"source": "annual_revenue", "target": "annualrevenue"},
    {"source": "employees", "target": "employee_count"},
    {"source": "founded", "target": "founded_on"},
    {"source": "last_contacted", "target": "last_contacted_at"},
    {"source": "is_active", "target": "is_active"},
    {"source": "tier", "target": "hs_lead_status"},
    {"source": "notes", "target": "message"},
]


@pytest.fixture(scope="session")
def unseen_hubspot_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("hubspot", {}), port=0).start()
    yield server
    server.stop()


def create_properties(sim: SimControl) -> None:
    for body in CUSTOM:
        response = requests.post(
            f"{sim.base_url}/crm/v3/properties/contacts",
            json={"groupName": "contactinformation", **body},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text


def _number(value: Any) -> str | None:
    return None if value is None else repr(float(value))


def expected(row: Record) -> Record:
    """A table row as HubSpot holds it (strings; a NULL clears, so the property is absent)."""
    contacted = row["last_contacted"]
    return {
        "customer_ref": record_key(row),
        "firstname": row["given_name"],
        "lastname": row["family_name"],
        "email": row["email_address"],
        "annualrevenue": _number(row["annual_revenue"]),
        "employee_count": None if row["employees"] is None else str(row["employees"]),
        "founded_on": None if row["founded"] is None else row["founded"].isoformat(),
        "last_contacted_at": None
        if contacted is None
        else contacted.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "is_active": None if row["is_active"] is None else str(row["is_active"]).lower(),
        "hs_lead_status": None if row["tier"] is None else LEAD_STATUS[row["tier"]],
        "message": row["notes"],
    }


def actual(record: Record) -> Record:
    properties: dict[str, Any] = record["properties"]
    return {name: properties.get(name) for name in expected_names()}


def expected_names() -> list[str]:
    return [m["target"] for m in MAPPINGS]


def case_for(sim: SimControl) -> Case:
    return Case(
        crm="hubspot",
        object="contacts",
        id_property="customer_ref",
        mappings=MAPPINGS,
        tiers=tuple(LEAD_STATUS),
        notes_max=65_536,
        expected=expected,
        actual=actual,
        key_of=lambda record: record["properties"].get("customer_ref"),
        setup=create_properties,
        refused_calls=lambda control: int(control.stats()["refused_writes"]),
        connection={
            "name": "hubspot-unseen",
            "provider": "hubspot",
            "base_url": sim.base_url,
            "credentials": {"access_token": TOKEN},
            "rate_limit": {"requests": 100, "per_seconds": 10},
        },
    )


def test_an_unseen_table_syncs_to_hubspot_standard_and_custom_properties(
    pipeline: Pipeline, unseen_hubspot_server: SimServer
) -> None:
    sim = SimControl(unseen_hubspot_server.url)
    sim.reset()
    run_case(pipeline, case_for(sim), sim)


def test_the_case_expects_hubspots_own_formats() -> None:
    row = {
        "region": "eu",
        "customer_no": 7,
        "given_name": "Zoë",
        "family_name": None,
        "email_address": "z@example.org",
        "annual_revenue": None,
        "employees": 21,
        "founded": datetime(1950, 2, 3).date(),
        "last_contacted": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "is_active": False,
        "tier": "In Progress",
        "notes": None,
    }
    want = expected(row)
    assert want["customer_ref"] == "eu-7"
    assert want["hs_lead_status"] == "IN_PROGRESS"
    assert want["last_contacted_at"] == "2026-01-02T03:04:05.000Z"
    assert (want["founded_on"], want["is_active"]) == ("1950-02-03", "false")
