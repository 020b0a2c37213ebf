"""HubSpot → a table the inbound path has never seen (``crm_in_hubspot.people``: a text key
``person_ref`` with a default, numeric, integer, date, timestamptz, boolean, a picklist's labels,
NULLs, a ``timestamptz`` soft-delete column), mapped both ways to HubSpot's standard contact
properties where it has them (``firstname``, ``lastname``, ``email``, ``annualrevenue``,
``date_of_birth``: text properties; ``hs_lead_status``: an enumeration, the table holding its
labels; ``message``) and to custom ones where it has none, with reverse transforms. A sales rep
creates, updates (unicode, numbers, dates, booleans, fields cleared to empty) and deletes in the
simulator (each ``on_delete``); the row is compared column by column, typed, after each step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from tests.integration.api.conftest import ApiProcess
from tests.integration.conftest import Pipeline
from tests.support.inbound import (
    fresh_sim,
    inbound_statuses,
    no_inbound_waiting,
    pushed_ops,
    running_sim,
    sim_edit,
    upsert_rule,
)
from tests.support.inbound_table import PeopleTable, story, wait_for_row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "hs-unseen-in"
SECRET = "unseen-inbound-app-secret"
TOKEN = "demo-token"
TABLE = PeopleTable(
    schema="crm_in_hubspot",
    key_column="person_ref",
    key_ddl="person_ref text PRIMARY KEY DEFAULT ('P-' || (nextval('crm_in_hubspot.refs')))",
    soft_column="deleted_at",
    soft_ddl="deleted_at timestamptz",
    before="CREATE SEQUENCE crm_in_hubspot.refs START 1001",
)
LEAD_STATUS = {
    "NEW": "New",
    "OPEN": "Open",
    "IN_PROGRESS": "In Progress",
    "BAD_TIMING": "Bad Timing",
}
"""HubSpot's ``hs_lead_status`` values → the labels the table holds."""
CUSTOM = [
    {"name": "person_ref", "label": "Person ref", "type": "string", "fieldType": "text",
     "hasUniqueValue": True},
    {"name": "employee_count", "label": "Employees", "type": "number", "fieldType": "number"},
    {"name": "last_seen_at", "label": "Last seen", "type": "datetime", "fieldType": "date"},
    {"name": "is_vip", "label": "VIP", "type": "bool", "fieldType": "booleancheckbox",
     "options": [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]},
]  # fmt: skip
OUTBOUND = [
    {"source": "person_ref", "target": "person_ref"},
    {"source": "given_name", "target": "firstname"},
    {"source": "family_name", "target": "lastname"},
    {"source": "email", "target": "email"},
    {"source": "revenue", "target": "annualrevenue", "transforms": ["to_string"]},
    {"source": "headcount", "target": "employee_count"},
    {"source": "birthday", "target": "date_of_birth", "transforms": [{"date": "%Y-%m-%d"}]},
    {"source": "last_seen", "target": "last_seen_at"},
    {"source": "vip", "target": "is_vip"},
    {"source": "stage", "target": "hs_lead_status"},
    {"source": "notes", "target": "message"},
]
INBOUND = [
    {"source": "firstname", "target": "given_name", "transforms": ["strip"]},
    {"source": "lastname", "target": "family_name", "transforms": ["strip"]},
    {"source": "email", "target": "email", "transforms": ["strip", "lower"]},
    {"source": "annualrevenue", "target": "revenue", "transforms": ["strip", "to_number"]},
    {"source": "employee_count", "target": "headcount", "transforms": ["to_number"]},
    {"source": "date_of_birth", "target": "birthday", "transforms": ["strip"]},
    {"source": "last_seen_at", "target": "last_seen"},
    {"source": "is_vip", "target": "vip"},
    {"source": "hs_lead_status", "target": "stage", "transforms": [{"map": LEAD_STATUS}]},
    {"source": "message", "target": "notes"},
]


def config(base_url: str, on_delete: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "connections": [
            {
                "name": CONNECTION,
                "provider": "hubspot",
                "base_url": base_url,
                "credentials": {"access_token": TOKEN, "webhook_secret": SECRET},
                "objects": {"contacts": {"mappings": OUTBOUND}},
                "rules": [
                    upsert_rule("people", TABLE.name, "contacts", "person_ref"),
                    {
                        "name": "people-deleted",
                        "source": TABLE.name,
                        "operations": ["delete"],
                        "action": "archive",
                        "object": "contacts",
                        "id_property": "person_ref",
                    },
                ],
                "inbound": {
                    "webhooks": True,
                    "objects": {
                        "contacts": {
                            "table": TABLE.name,
                            "key": {"column": "person_ref", "field": "person_ref"},
                            "mappings": INBOUND,
                            "on_delete": on_delete,
                        }
                    },
                },
            }
        ],
    }


@pytest.fixture(scope="module")
def unseen_hubspot_in_server() -> Iterator[SimServer]:
    yield from running_sim("hubspot")


@pytest.fixture
def sim(unseen_hubspot_in_server: SimServer, api_server: ApiProcess) -> Iterator[SimControl]:
    hubspot = fresh_sim(unseen_hubspot_in_server)
    hubspot.configure(
        webhook_url=f"{api_server.url}/v1/inbound/{CONNECTION}", webhook_secret=SECRET
    )
    yield hubspot
    hubspot.configure(webhook_url="", webhook_secret="")


def create_properties(sim: SimControl) -> None:
    for body in CUSTOM:
        answer = requests.post(
            f"{sim.base_url}/crm/v3/properties/contacts",
            json={"groupName": "contactinformation", **body},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert answer.status_code in (201, 409), answer.text  # 409: made by an earlier test


def edit(sim: SimControl, action: str, **body: Any) -> dict[str, Any]:
    """A sales rep's change in HubSpot's UI."""
    return sim_edit(sim, "contacts", action=action, **body)


def by_ref(sim: SimControl, ref: str) -> dict[str, Any] | None:
    for record in sim.records("contacts"):
        if record["properties"].get("person_ref") == ref:
            return record
    return None


def told(pipeline: Pipeline) -> str:
    return f"{story(pipeline.db)}\n{pipeline.describe()}"


def settled(pipeline: Pipeline) -> None:
    pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(pipeline), 15, message=lambda: told(pipeline))


ADA = {
    "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.org",
    "revenue": Decimal("1234.50"), "headcount": 12, "birthday": date(1815, 12, 10),
    "last_seen": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "vip": None, "stage": "New",
    "notes": None,
}  # fmt: skip
BEA = {**ADA, "given_name": "Bea", "email": "bea@example.org", "vip": True, "notes": "Bea"}


def test_an_unseen_table_takes_hubspot_edits_typed_and_each_delete_mode(
    pipeline: Pipeline, sim: SimControl
) -> None:
    db = pipeline.db
    TABLE.create(db)
    create_properties(sim)
    pipeline.apply_as_user(config(sim.base_url, "delete"))

    ada_ref = TABLE.insert(db, ADA)
    bea_ref = TABLE.insert(db, BEA)
    for ref in (ada_ref, bea_ref):
        wait_until(lambda r=ref: by_ref(sim, r), 30, message=lambda: told(pipeline))
    settled(pipeline)
    assert inbound_statuses(pipeline).get("applied", 0) == 0  # our own pushes came back: echoes
    ada_id = str(by_ref(sim, ada_ref)["id"])  # type: ignore[index]
    bea_id = str(by_ref(sim, bea_ref)["id"])  # type: ignore[index]

    # update: unicode, a number as HubSpot's text, an integer, dates, a boolean, a picklist value
    edit(sim, "update", id=ada_id, properties={
        "firstname": "Łukasz ✓", "lastname": "Ōtsuka-李", "annualrevenue": "98765.43",
        "employee_count": "250", "date_of_birth": "1990-02-28",
        "last_seen_at": "2026-03-04T05:06:07.250Z", "is_vip": "true",
        "hs_lead_status": "IN_PROGRESS", "message": "größer als 3 → ✓",
    })  # fmt: skip
    updated = {
        **ADA, "given_name": "Łukasz ✓", "family_name": "Ōtsuka-李",
        "revenue": Decimal("98765.43"), "headcount": 250, "birthday": date(1990, 2, 28),
        "last_seen": datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC), "vip": True,
        "stage": "In Progress", "notes": "größer als 3 → ✓", "deleted_at": None,
    }  # fmt: skip
    wait_for_row(db, TABLE, ada_ref, updated, lambda: told(pipeline))

    # cleared in HubSpot (empty) → NULL; a value set back to what we first pushed is taken too
    edit(sim, "update", id=ada_id, properties={
        "firstname": "Ada", "lastname": "", "annualrevenue": "", "employee_count": "",
        "date_of_birth": "", "last_seen_at": "", "is_vip": "", "hs_lead_status": "",
        "message": "",
    })  # fmt: skip
    cleared = {
        **updated, "given_name": "Ada", "family_name": None, "revenue": None, "headcount": None,
        "birthday": None, "last_seen": None, "vip": None, "stage": None, "notes": None,
    }  # fmt: skip
    wait_for_row(db, TABLE, ada_ref, cleared, lambda: told(pipeline))
    edit(sim, "update", id=ada_id, properties={"annualrevenue": " 7 ", "is_vip": "false"})
    wait_for_row(
        db, TABLE, ada_ref, {**cleared, "revenue": Decimal("7.00"), "vip": False}, pipeline.describe
    )

    # create: a new row under the table's own key, which goes back into the contact
    created = edit(sim, "create", properties={
        "email": " Zoe.Ng@Example.ORG ", "firstname": "Zoë", "annualrevenue": "0.5",
        "employee_count": "3", "date_of_birth": "2001-07-31", "is_vip": "false",
        "hs_lead_status": "BAD_TIMING",
    })  # fmt: skip
    zoe = wait_until(
        lambda: TABLE.row(db, email="zoe.ng@example.org"), 15, message=lambda: told(pipeline)
    )
    assert zoe["person_ref"].startswith("P-")
    zoe_want = {
        "given_name": "Zoë", "family_name": None, "revenue": Decimal("0.50"), "headcount": 3,
        "birthday": date(2001, 7, 31), "last_seen": None, "vip": False, "stage": "Bad Timing",
        "notes": None, "deleted_at": None,
    }  # fmt: skip
    wait_for_row(db, TABLE, zoe["person_ref"], zoe_want, lambda: told(pipeline))
    wait_until(
        lambda: (by_ref(sim, zoe["person_ref"]) or {}).get("id") == created["id"],
        15,
        message=lambda: told(pipeline),
    )

    # delete: the row goes
    edit(sim, "delete", id=ada_id)
    wait_until(
        lambda: TABLE.row(db, person_ref=ada_ref) is None, 15, message=lambda: told(pipeline)
    )

    # soft delete: the row stays, stamped
    settled(pipeline)
    pipeline.apply_as_user(config(sim.base_url, {"soft_delete": "deleted_at"}))
    edit(sim, "delete", id=bea_id)
    bea = wait_until(
        lambda: (r := TABLE.row(db, person_ref=bea_ref)) and r["deleted_at"] and r,
        15,
        message=lambda: told(pipeline),
    )
    assert isinstance(bea["deleted_at"], datetime) and bea["given_name"] == "Bea"

    # ignore: the row stays as it is
    settled(pipeline)
    pipeline.apply_as_user(config(sim.base_url, "ignore"))
    before = TABLE.row(db, person_ref=zoe["person_ref"])
    ignored = inbound_statuses(pipeline).get("ignored", 0)
    edit(sim, "delete", id=created["id"])
    wait_until(
        lambda: (
            inbound_statuses(pipeline).get("ignored", 0) > ignored and no_inbound_waiting(pipeline)
        ),
        15,
        message=lambda: told(pipeline),
    )
    settled(pipeline)
    assert TABLE.row(db, person_ref=zoe["person_ref"]) == before

    # Two creates of ours and the one key written back into Zoë's contact; the inbound writes
    # (and deletes) were not captured back to HubSpot.
    ops = pushed_ops(sim, "contacts")
    assert sorted(ops) == ["update", "upsert", "upsert"], sim.acks()
    assert inbound_statuses(pipeline).get("failed", 0) == 0, pipeline.db.execute(
        "SELECT crm_id, detail FROM syncsvc.inbound_event WHERE status = 'failed'"
    ).fetchall()
