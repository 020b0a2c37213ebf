"""The unseen-table suite against Pipedrive: a customers table synced to persons.

Standard fields: ``name`` (given and family name), ``emails``, ``label_ids`` (the tier, by the
account's person labels: Customer, Hot lead, Warm lead, Cold lead). Pipedrive has no boolean and
no date-time field type and no standard long-text field on persons, so the case creates custom
fields through ``POST /v1/personFields``: the record key (Text, searchable: the rule's
``id_property``), Numerical revenue and employees, a Date, a Text holding the ISO 8601 timestamp,
a Single option "Active" (Yes/No) and a Large text for the notes (65,535 characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from tests.integration.conftest import Pipeline
from tests.integration.unseen.harness import Case, Record, record_key, run_case, utc
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

TOKEN = {"x-api-token": "demo-api-token"}
KEY_FIELD = "Customer key"
LABELS = {"Customer": 1, "Hot lead": 2, "Warm lead": 3, "Cold lead": 4}
CUSTOM: list[dict[str, Any]] = [
    {"name": KEY_FIELD, "field_type": "varchar"},
    {"name": "Annual revenue", "field_type": "double"},
    {"name": "Employees", "field_type": "double"},
    {"name": "Founded", "field_type": "date"},
    {"name": "Last contacted", "field_type": "varchar"},
    {"name": "Active", "field_type": "enum", "options": [{"label": "Yes"}, {"label": "No"}]},
    {"name": "Notes", "field_type": "text"},
]
NOTES_MAX = 65535


@pytest.fixture(scope="session")
def pipedrive_server() -> Iterator[SimServer]:
    server = SimServer(make_simulator("pipedrive", {"key_field": KEY_FIELD}), port=0).start()
    yield server
    server.stop()


class Account:
    """The custom fields the case created: keys by name, the Active field's option ids."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.active: dict[bool, int] = {}

    def setup(self, sim: SimControl) -> None:
        for spec in CUSTOM:
            answer = sim.http.post(
                f"{sim.base_url}/v1/personFields", json=spec, headers=TOKEN, timeout=10
            )
            assert answer.status_code == 200, answer.text
            field = answer.json()["data"]
            self.keys[field["name"]] = field["key"]
            if field["name"] == "Active":
                ids = {o["label"]: o["id"] for o in field["options"]}
                self.active = {True: ids["Yes"], False: ids["No"]}

    def custom(self, record: Record, name: str) -> Any:
        return (record.get("custom_fields") or {}).get(self.keys[name])


def expected(account: Account, row: Record) -> Record:
    revenue, founded, contacted = row["annual_revenue"], row["founded"], row["last_contacted"]
    return {
        "name": " ".join(p for p in (row["given_name"], row["family_name"]) if p),
        "email": row["email_address"],
        "revenue": None if revenue is None else float(revenue),
        "employees": row["employees"],
        "founded": None if founded is None else founded.isoformat(),
        "last_contacted": None if contacted is None else utc(contacted),
        "active": None if row["is_active"] is None else account.active[row["is_active"]],
        "labels": None if row["tier"] is None else [LABELS[row["tier"]]],
        "notes": row["notes"],
    }


def actual(account: Account, record: Record) -> Record:
    emails = record.get("emails") or []
    contacted = account.custom(record, "Last contacted")
    return {
        "name": record.get("name"),
        "email": emails[0]["value"] if emails else None,
        "revenue": account.custom(record, "Annual revenue"),
        "employees": account.custom(record, "Employees"),
        "founded": account.custom(record, "Founded"),
        "last_contacted": None
        if contacted is None
        else datetime.fromisoformat(contacted).astimezone(UTC),
        "active": account.custom(record, "Active"),
        "labels": record.get("label_ids"),
        "notes": account.custom(record, "Notes"),
    }


def case_for(url: str, account: Account) -> Case:
    return Case(
        crm="pipedrive",
        object="persons",
        id_property=KEY_FIELD,
        mappings=[
            {"template": "{region}-{customer_no}", "target": KEY_FIELD},
            {"template": "{given_name} {family_name}", "target": "name"},
            {"source": "email_address", "target": "emails"},
            {"source": "annual_revenue", "target": "Annual revenue"},
            {"source": "employees", "target": "Employees"},
            {"source": "founded", "target": "Founded"},
            {"source": "last_contacted", "target": "Last contacted"},
            {
                "source": "is_active",
                "target": "Active",
                "transforms": [{"map": {"true": "Yes", "false": "No"}}],
            },
            {"source": "tier", "target": "label_ids"},
            {"source": "notes", "target": "Notes"},
        ],
        tiers=tuple(LABELS),
        notes_max=NOTES_MAX,
        expected=lambda row: expected(account, row),
        actual=lambda record: actual(account, record),
        key_of=lambda record: account.custom(record, KEY_FIELD),
        setup=account.setup,
        refused_calls=lambda sim: int(sim.stats()["refused_writes"]),
        connection={
            "name": "unseen-pipedrive",
            "provider": "pipedrive",
            "mode": "push",
            "base_url": url,
            "credentials": {"api_token": "demo-api-token"},
            "rate_limit": {"requests": 80, "per_seconds": 2},
            "batch_size": 50,
        },
    )


def test_an_unseen_table_syncs_to_pipedrive_persons(
    pipeline: Pipeline, pipedrive_server: SimServer
) -> None:
    sim = SimControl(pipedrive_server.url)
    sim.reset()
    account = Account()
    case = case_for(pipedrive_server.url, account)
    run_case(pipeline, case, sim)
    keys = {account.custom(r, KEY_FIELD) for r in sim.records("persons")}
    assert all(k and "-" in k for k in keys)
    assert record_key({"region": "eu", "customer_no": 1000}) == "eu-1000"
