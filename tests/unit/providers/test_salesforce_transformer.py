"""Salesforce: describe parsing into field definitions, encode/clear per field type, the example
config and the optional destination schemas."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.salesforce import PROVIDER
from providers.salesforce.fields import field_def, object_fields
from providers.salesforce.transformer import salesforce_value
from syncsvc.config.loader import load_config_file
from syncsvc.errors import PermanentError
from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldOption, FieldType
from syncsvc.fields.typed import typed_properties
from syncsvc.validation.fieldspec import load_spec_file
from tests.unit.providers.value_cases import JSON_VALUES

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "connections" / "salesforce.yaml"
TRANSFORMER = PROVIDER.transformer


def entry(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    """A describe ``fields`` entry with the defaults of a plain writable custom field."""
    base = {"name": name, "type": kind, "label": name, "length": 0, "nillable": True}
    base |= {"createable": True, "updateable": True, "defaultedOnCreate": False}
    base |= {"externalId": False, "custom": False, "picklistValues": []}
    return base | extra


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("string", FieldType.STRING),
        ("email", FieldType.STRING),
        ("phone", FieldType.STRING),
        ("url", FieldType.STRING),
        ("combobox", FieldType.STRING),
        ("textarea", FieldType.TEXT),
        ("double", FieldType.NUMBER),
        ("currency", FieldType.NUMBER),
        ("percent", FieldType.NUMBER),
        ("int", FieldType.INTEGER),
        ("long", FieldType.INTEGER),
        ("boolean", FieldType.BOOLEAN),
        ("date", FieldType.DATE),
        ("datetime", FieldType.DATETIME),
        ("picklist", FieldType.ENUMERATION),
        ("multipicklist", FieldType.MULTI_ENUMERATION),
        ("reference", FieldType.REFERENCE),
        ("id", FieldType.REFERENCE),
        ("address", FieldType.OTHER),
        ("location", FieldType.OTHER),
        ("time", FieldType.OTHER),
    ],
)
def test_describe_types_map_to_field_types_keeping_salesforces_name(
    kind: str, expected: FieldType
) -> None:
    parsed = field_def(entry("X", kind))
    assert (parsed.type, parsed.crm_type) == (expected, kind)


def test_describe_flags_become_required_read_only_unique_custom_and_length() -> None:
    last_name = field_def(entry("LastName", "string", length=80, nillable=False))
    assert last_name.required and last_name.max_length == 80 and not last_name.unique
    defaulted = field_def(entry("OwnerId", "reference", nillable=False, defaultedOnCreate=True))
    assert not defaulted.required, "a defaulted field need not be sent"
    formula = field_def(entry("Total__c", "currency", createable=False, updateable=False))
    assert not formula.writable and not formula.required
    key = field_def(entry("Ext_Id__c", "string", length=40, externalId=True, custom=True))
    assert key.unique and key.custom
    email = field_def(entry("Email", "email", length=80, idLookup=True))
    assert not email.unique, "idLookup fields are not accepted as a collection upsert key"
    assert field_def(entry("Amount", "currency", length=0)).max_length is None


def test_picklist_values_keep_the_api_value_and_label_and_drop_inactive_ones() -> None:
    parsed = field_def(
        entry(
            "CleanStatus",
            "picklist",
            length=40,
            picklistValues=[
                {"value": "Matched", "label": "In Sync", "active": True},
                {"value": "Pending", "label": "Not Compared", "active": True},
                {"value": "Old", "label": "Old", "active": False},
            ],
        )
    )
    assert parsed.options == (
        FieldOption("Matched", "In Sync"),
        FieldOption("Pending", "Not Compared"),
    )
    assert convert(parsed, "In Sync") == "Matched", "a label is sent as its API value"
    with pytest.raises(FieldValueError, match="Old"):
        convert(parsed, "Old")


def test_a_whole_describe_answer_knows_unique_fields_and_skips_nameless_entries() -> None:
    answer = {"name": "Lead", "fields": [entry("Company", "string"), {"type": "string"}]}
    fields = object_fields("Lead", answer)
    assert list(fields.fields) == ["Company"] and fields.knows_unique
    with pytest.raises(ValueError, match="no fields"):
        object_fields("Lead", [{"errorCode": "NOT_FOUND"}])


def fd(kind: FieldType, crm_type: str, **extra: Any) -> FieldDef:
    return FieldDef("F", kind, crm_type, **extra)


PICKS = (FieldOption("Red", "Red"), FieldOption("Blue", "Blue"))


@pytest.mark.parametrize(
    ("definition", "value", "wire"),
    [
        (fd(FieldType.STRING, "string", max_length=80), "Zoë", "Zoë"),
        (fd(FieldType.TEXT, "textarea"), "line 1\nline 2", "line 1\nline 2"),
        (fd(FieldType.NUMBER, "currency"), "12345.67", 12345.67),
        (fd(FieldType.NUMBER, "currency"), Decimal("100.00"), 100),
        (fd(FieldType.NUMBER, "double"), "0.1000000000000000055511", "0.1000000000000000055511"),
        (fd(FieldType.INTEGER, "int"), "42", 42),
        (fd(FieldType.BOOLEAN, "boolean"), "true", True),
        (fd(FieldType.BOOLEAN, "boolean"), False, False),
        (fd(FieldType.DATE, "date"), "2024-02-29", "2024-02-29"),
        (
            fd(FieldType.DATETIME, "datetime"),
            "2026-03-01T10:15:00+02:00",
            "2026-03-01T08:15:00.000Z",
        ),
        (fd(FieldType.ENUMERATION, "picklist", options=PICKS), "Blue", "Blue"),
        (
            fd(FieldType.MULTI_ENUMERATION, "multipicklist", options=PICKS),
            ["Red", "Blue"],
            "Red;Blue",
        ),
        (fd(FieldType.MULTI_ENUMERATION, "multipicklist", options=PICKS), "Blue;Red", "Blue;Red"),
        (fd(FieldType.REFERENCE, "reference"), "001000000000001AAA", "001000000000001AAA"),
    ],
)
def test_encode_gives_the_rest_api_wire_format(definition: FieldDef, value: Any, wire: Any) -> None:
    encoded = TRANSFORMER.encode(definition, convert(definition, value))
    assert encoded == wire and type(encoded) is type(wire)
    json.dumps(encoded)  # what the client sends


def test_null_clears_with_null_but_a_checkbox_with_false() -> None:
    assert TRANSFORMER.clear_value(fd(FieldType.STRING, "string")) is None
    assert TRANSFORMER.clear_value(fd(FieldType.ENUMERATION, "picklist")) is None
    assert TRANSFORMER.clear_value(fd(FieldType.DATE, "date")) is None
    assert TRANSFORMER.clear_value(fd(FieldType.BOOLEAN, "boolean")) is False


def test_typed_properties_refuse_bad_values_naming_the_salesforce_type() -> None:
    fields = object_fields(
        "Lead",
        {
            "fields": [
                entry("Rating", "picklist", picklistValues=[{"value": "Hot", "label": "Hot"}]),
                entry("Description", "textarea", length=5),
                entry("NumberOfEmployees", "int"),
                entry("DoNotCall", "boolean", nillable=False, defaultedOnCreate=True),
            ]
        },
    )
    out, issues = typed_properties(
        {"Rating": "Lukewarm", "Description": "123456", "NumberOfEmployees": "1.5"},
        fields,
        TRANSFORMER,
    )
    assert out == {}
    assert [(i.field, i.reason.split(":")[0]) for i in issues] == [
        ("Rating", "picklist field"),
        ("Description", "textarea field"),
        ("NumberOfEmployees", "int field"),
    ]
    out, issues = typed_properties({"DoNotCall": None, "Rating": None}, fields, TRANSFORMER)
    assert (out, issues) == ({"DoNotCall": False, "Rating": None}, [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *JSON_VALUES,
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00.000Z"),
        (
            dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:30:00.000Z",
        ),
        (["Red", "Blue"], "Red;Blue"),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
    ],
)
def test_values_without_a_definition_stay_json_typed(value: object, expected: object) -> None:
    got = salesforce_value(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")])
def test_a_non_finite_number_is_a_permanent_error_naming_the_field(bad: object) -> None:
    with pytest.raises(PermanentError) as caught:
        TRANSFORMER.shape("Opportunity", {"Amount": bad})
    assert caught.value.field == "Amount"


def test_no_default_mappings_and_no_default_id_property() -> None:
    assert dict(TRANSFORMER.default_mappings) == {}
    assert dict(PROVIDER.defaults.id_property) == {}


@pytest.mark.parametrize("object_name", PROVIDER.defaults.objects)
def test_destination_schemas_are_optional_and_require_nothing(object_name: str) -> None:
    path = PROVIDER.destination_schema_path(object_name)
    if not path.exists():
        return
    spec = load_spec_file(path)
    assert spec.additional == "allow"
    assert spec.check({}) == []
    assert "syncsvc" not in path.read_text().lower()


def test_the_example_config_names_its_mappings_and_external_id_field() -> None:
    [connection] = load_config_file(EXAMPLE).connections
    assert (connection.name, connection.provider) == ("salesforce-demo", "salesforce")
    rules = {(r.source, r.action, r.object, r.id_property) for r in connection.rules}
    for table, obj in [
        ("demo.contacts", "Contact"),
        ("demo.companies", "Account"),
        ("demo.deals", "Opportunity"),
    ]:
        assert {
            (table, "upsert", obj, "Syncsvc_Id__c"),
            (table, "archive", obj, "Syncsvc_Id__c"),
        } <= rules
        assert "Syncsvc_Id__c" in {m["target"] for m in connection.objects[obj]}
    options = json.loads((EXAMPLE.parent / "salesforce.sim.json").read_text())
    for obj in ("Contact", "Account", "Opportunity"):
        [key] = options["custom_fields"][obj]
        assert (key["name"], key["externalId"], key["unique"]) == ("Syncsvc_Id__c", True, True)
