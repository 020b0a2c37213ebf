"""The simulated environment's metadata API over HTTP: column definitions in the Web API's shape,
custom columns and alternate keys created through it, and writes refused the way Dataverse
refuses them (and counted in /_sim/stats)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.dynamics import DynamicsClient
from providers.dynamics.sim import make_simulator
from syncsvc.fields.model import FieldType
from tests.integration.providers.helpers import serving
from tests.integration.providers.test_dynamics_sim import Raw, error

CONTACT = "EntityDefinitions(LogicalName='contact')"
CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "tenant_id": "demo-tenant",
}


@pytest.fixture
def raw() -> Iterator[Raw]:
    with serving(make_simulator({})) as (server, sim):
        yield Raw(server, sim)


def label(text: str) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.Label",
        "LocalizedLabels": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel",
                "Label": text,
                "LanguageCode": 1033,
            }
        ],
    }


def string_column(schema: str, length: int) -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": schema,
        "DisplayName": label("Customer key"),
        "RequiredLevel": {"Value": "None", "CanBeChanged": True},
        "MaxLength": length,
        "FormatName": {"Value": "Text"},
    }


def refused_writes(raw: Raw) -> int:
    stats = requests.get(f"{raw.url}/_sim/stats", timeout=5).json()
    return int(stats["refused_writes"])


def test_attribute_definitions_come_in_the_web_api_shape(raw: Raw) -> None:
    response = raw.call("GET", f"{CONTACT}/Attributes")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#EntityDefinitions('contact')/Attributes")
    rows = {r["LogicalName"]: r for r in body["value"]}
    assert len(rows) >= 60
    last = rows["lastname"]
    assert last["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert (last["AttributeType"], last["MaxLength"]) == ("String", 50)
    assert last["RequiredLevel"]["Value"] == "ApplicationRequired"
    assert last["DisplayName"]["UserLocalizedLabel"]["Label"] == "Last Name"
    birthday = rows["birthdate"]
    assert birthday["DateTimeBehavior"] == {"Value": "DateOnly"}
    assert rows["fullname"]["IsValidForCreate"] is False
    assert "OptionSet" not in rows["preferredcontactmethodcode"], "options only when expanded"


def test_choice_values_come_from_the_cast_and_the_expanded_option_set(raw: Raw) -> None:
    response = raw.call(
        "GET",
        f"{CONTACT}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        "?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)",
    )
    rows = {r["LogicalName"]: r for r in response.json()["value"]}
    assert "lastname" not in rows and "statuscode" not in rows
    options = rows["preferredcontactmethodcode"]["OptionSet"]["Options"]
    assert [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"]) for o in options] == [
        (1, "Any"), (2, "Email"), (3, "Phone"), (4, "Fax"), (5, "Mail"),
    ]  # fmt: skip
    assert rows["preferredcontactmethodcode"]["GlobalOptionSet"] is None


def test_a_custom_column_and_an_alternate_key_are_created_through_the_metadata_api(
    raw: Raw,
) -> None:
    made = raw.call("POST", f"{CONTACT}/Attributes", string_column("new_CustomerKey", 40))
    assert made.status_code == 204 and "/Attributes(" in made.headers["OData-EntityId"]
    again = raw.call("POST", f"{CONTACT}/Attributes", string_column("new_CustomerKey", 40))
    assert again.status_code == 400 and "already exists" in error(again)[1]
    unprefixed = raw.call("POST", f"{CONTACT}/Attributes", string_column("CustomerKey", 40))
    assert unprefixed.status_code == 400 and "prefix" in error(unprefixed)[1]

    key = {"SchemaName": "new_customerkey_key", "DisplayName": label("Customer key"),
           "KeyAttributes": ["new_customerkey"]}  # fmt: skip
    assert raw.call("POST", f"{CONTACT}/Keys", key).status_code == 204
    keys = raw.call("GET", f"{CONTACT}/Keys").json()["value"]
    assert [(k["KeyAttributes"], k["EntityKeyIndexStatus"]) for k in keys] == [
        (["new_customerkey"], "Active")
    ]
    upsert = raw.call("PATCH", "contacts(new_customerkey='eu-1')", {"lastname": "Nowak"})
    assert upsert.status_code == 204
    assert raw.sim.view("contacts")[0]["key"] == "eu-1"


def test_the_client_reads_custom_columns_keys_and_choices(raw: Raw) -> None:
    raw.call("POST", f"{CONTACT}/Attributes", string_column("new_CustomerKey", 40))
    raw.call("POST", f"{CONTACT}/Keys", {"SchemaName": "k", "KeyAttributes": ["new_customerkey"]})
    token_url = f"{raw.url}/demo-tenant/oauth2/v2.0/token"
    info = ConnectionInfo(
        1, "t", "dynamics", raw.url, CREDENTIALS, {"token_url": token_url}, 100, 6000, 300
    )
    client = DynamicsClient(info)
    try:
        fields = client.describe_fields("contacts")
    finally:
        client.close()
    key = fields.fields["new_customerkey"]
    assert (key.type, key.max_length, key.unique, key.custom) == (FieldType.STRING, 40, True, True)
    method = fields.fields["preferredcontactmethodcode"]
    assert (method.type, method.option_for("Email")) == (FieldType.ENUMERATION, method.options[1])
    assert method.options[1].value == "2"
    assert not fields.fields["lastname"].unique and not fields.fields["fullname"].writable
    assert fields.knows_unique


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"shoe_size": 9}, "0x80048d19", "The property 'shoe_size' does not exist"),
        ({"numberofchildren": "three"}, "0x80048d19", "expected type 'Edm.Int32'"),
        ({"birthdate": "12/04/1961"}, "0x80048d19", "expected type 'Edm.Date'"),
        ({"lastonholdtime": "2026-01-01"}, "0x80048d19", "'Edm.DateTimeOffset'"),
        ({"preferredcontactmethodcode": 9}, "0x8004431a", "Accepted Values: 1,2,3,4,5"),
        ({"preferredcontactmethodcode": "Email"}, "0x80048d19", "'Edm.Int32'"),
        ({"lastname": "x" * 51}, "0x80044331", "maximum allowed length of '50'"),
        ({"numberofchildren": -1}, "0x80044331", "outside the valid range"),
        ({"fullname": "Ada Lovelace"}, "0x80048d19", "'fullname' is not valid for create"),
        ({"parentcustomerid": "x"}, "0x80048d19", "parentcustomerid@odata.bind"),
    ],
)
def test_a_bad_value_is_refused_with_dataverses_error_body_and_counted(
    raw: Raw, body: dict[str, Any], code: str, text: str
) -> None:
    response = raw.call("POST", "contacts", {"lastname": "Lovelace", **body})
    assert response.status_code == 400
    assert response.json().keys() == {"error"}
    got_code, message = error(response)
    assert got_code == code and text in message, message
    assert raw.sim.view("contacts") == []
    assert refused_writes(raw) == 1


def test_dataverse_does_not_insist_on_business_required_columns(raw: Raw) -> None:
    assert raw.call("POST", "contacts", {"firstname": "Ada"}).status_code == 204
    assert refused_writes(raw) == 0
