"""The HubSpot simulator's properties over HTTP: the metadata endpoint, custom properties made
through the admin endpoint, and writes checked against the property types as HubSpot does."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from providers.hubspot.sim import HubSpotSim
from providers.simulation import SimServer

Sim = tuple[SimServer, HubSpotSim]
AUTH = {"Authorization": "Bearer demo-token"}
PROPERTY_KEYS = {
    "name",
    "label",
    "type",
    "fieldType",
    "groupName",
    "description",
    "options",
    "displayOrder",
    "calculated",
    "externalOptions",
    "hasUniqueValue",
    "hidden",
    "formField",
    "modificationMetadata",
    "createdAt",
    "updatedAt",
    "archived",
}
"""Every property in ``GET /crm/v3/properties/{objectType}`` carries these (the OpenAPI's
``Property``: https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties)."""


def properties(server: SimServer, obj: str) -> dict[str, dict[str, Any]]:
    response = requests.get(f"{server.url}/crm/v3/properties/{obj}", headers=AUTH, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results"}
    return {p["name"]: p for p in body["results"]}


def create_property(server: SimServer, obj: str, body: dict[str, Any]) -> requests.Response:
    url = f"{server.url}/crm/v3/properties/{obj}"
    return requests.post(url, json=body, headers=AUTH, timeout=5)


def write(server: SimServer, obj: str, properties: dict[str, Any]) -> requests.Response:
    body = {"inputs": [{"properties": properties, "objectWriteTraceId": "1"}]}
    url = f"{server.url}/crm/v3/objects/{obj}/batch/create"
    return requests.post(url, json=body, headers=AUTH, timeout=5)


@pytest.mark.parametrize(("obj", "at_least"), [("contacts", 60), ("companies", 45), ("deals", 35)])
def test_standard_properties_come_in_hubspots_shape(
    start_sim: Any, obj: str, at_least: int
) -> None:
    server, _ = start_sim(custom_properties={})
    props = properties(server, obj)
    assert len(props) >= at_least
    for prop in props.values():
        assert set(prop) >= PROPERTY_KEYS, prop["name"]
        assert prop["hubspotDefined"] is True
        assert set(prop["modificationMetadata"]) >= {"archivable", "readOnlyValue"}
    assert props["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    assert "syncsvc_id" not in props


def test_standard_enumerations_hold_hubspots_internal_values(start_sim: Any) -> None:
    server, _ = start_sim(custom_properties={})
    stage = properties(server, "deals")["dealstage"]
    assert {"value": "closedwon", "label": "Closed Won"}.items() <= stage["options"][5].items()
    industry = properties(server, "companies")["industry"]
    values = {o["value"] for o in industry["options"]}
    assert {"COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES"} <= values
    assert len(values) > 140
    status = {
        o["value"]: o["label"] for o in properties(server, "contacts")["hs_lead_status"]["options"]
    }
    assert status["IN_PROGRESS"] == "In Progress"


def test_a_custom_enumeration_created_through_the_admin_endpoint_is_listed_and_enforced(
    hubspot_sim: Sim,
) -> None:
    server, _ = hubspot_sim
    body = {
        "name": "plan",
        "label": "Plan",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}],
    }
    created = create_property(server, "contacts", body)
    assert created.status_code == 201
    assert created.json()["options"][0] == {
        "label": "Gold",
        "value": "gold",
        "displayOrder": 0,
        "hidden": False,
    }
    assert "hubspotDefined" not in properties(server, "contacts")["plan"]
    assert write(server, "contacts", {"email": "a@example.com", "plan": "gold"}).status_code == 201
    refused = write(server, "contacts", {"email": "b@example.com", "plan": "Gold"})
    assert refused.status_code == 400
    detail = json.loads(refused.json()["message"].split(": ", 1)[1])[0]
    assert detail["error"] == "INVALID_OPTION" and detail["name"] == "plan"
    assert detail["message"] == "Gold was not one of the allowed options: [gold, silver]"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "label": "X", "type": "bool", "fieldType": "text", "groupName": "g"},
         "Invalid fieldType text for property type bool"),
        ({"name": "Bad Name", "label": "X", "type": "string", "fieldType": "text", "groupName": "g"},
         "is invalid"),
        ({"name": "x", "label": "X", "type": "enumeration", "fieldType": "select", "groupName": "g"},
         "at least one option"),
        ({"name": "x", "type": "string", "fieldType": "text", "groupName": "g"},
         "required attributes are not set ['label']"),
    ],
)  # fmt: skip
def test_bad_property_definitions_are_refused(hubspot_sim: Sim, body: Any, message: str) -> None:
    server, _ = hubspot_sim
    response = create_property(server, "contacts", body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("obj", "properties_", "error", "name"),
    [
        ("contacts", {"no_such_property": "x"}, "PROPERTY_DOESNT_EXIST", "no_such_property"),
        ("contacts", {"hs_object_id": "7"}, "READ_ONLY_VALUE", "hs_object_id"),
        ("deals", {"amount": "ten"}, "INVALID_LONG", "amount"),
        ("deals", {"dealstage": "won"}, "INVALID_OPTION", "dealstage"),
        ("companies", {"is_public": "yes"}, "INVALID_BOOLEAN", "is_public"),
        ("companies", {"closedate": "yesterday"}, "INVALID_DATE", "closedate"),
        ("contacts", {"message": "m" * 65_537}, "INVALID_STRING_LENGTH", "message"),
        ("deals", {"amount": " 10"}, "LEADING_TRAILING_WHITESPACE", "amount"),
        ("contacts", {"hs_buying_role": "CHAMPION;KING"}, "INVALID_OPTION", "hs_buying_role"),
    ],
)
def test_bad_values_are_refused_with_hubspots_error_body_and_counted(
    hubspot_sim: Sim, obj: str, properties_: dict[str, Any], error: str, name: str
) -> None:
    server, sim = hubspot_sim
    response = write(server, obj, properties_)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: [")
    assert body["correlationId"]
    detail = json.loads(body["message"].split(": ", 1)[1])[0]
    assert (detail["isValid"], detail["error"], detail["name"]) == (False, error, name)
    assert body["errors"][0]["in"] == name and body["errors"][0]["code"] == error
    assert sim.dump(obj) == []
    stats = requests.get(server.url + "/_sim/stats", timeout=5).json()
    assert (stats["refused_writes"], stats["refused_values"]) == (1, 1)


def test_a_date_property_takes_midnight_utc_only(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    body = {"name": "founded", "label": "Founded", "type": "date", "fieldType": "date",
            "groupName": "companyinformation"}  # fmt: skip
    assert create_property(server, "companies", body).status_code == 201
    refused = write(server, "companies", {"founded": "2026-03-01T10:16:19.200Z"})
    detail = json.loads(refused.json()["message"].split(": ", 1)[1])[0]
    assert detail["message"] == "2026-03-01T10:16:19.200Z is at 10:16:19.200 UTC, not midnight!"
    assert write(server, "companies", {"founded": "1772323200000"}).status_code == 201
    assert write(server, "companies", {"founded": "2026-03-02"}).status_code == 201


def test_values_read_back_as_hubspot_keeps_them(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    created = write(
        server,
        "deals",
        {"dealname": "A", "amount": "1234.50", "closedate": "2026-03-01T10:00:00+02:00"},
    )
    assert created.status_code == 201
    props = created.json()["results"][0]["properties"]
    assert props["amount"] == "1234.5"
    assert props["closedate"] == "2026-03-01T08:00:00.000Z"


def test_unique_properties_are_limited_to_ten_per_object(hubspot_sim: Sim) -> None:
    server, _ = hubspot_sim
    statuses = [
        create_property(
            server,
            "deals",
            {"name": f"ref_{n}", "label": f"Ref {n}", "type": "string", "fieldType": "text",
             "groupName": "dealinformation", "hasUniqueValue": True},
        ).status_code
        for n in range(11)
    ]  # fmt: skip
    assert statuses == [201] * 9 + [400] * 2  # the example account's syncsvc_id is the tenth
