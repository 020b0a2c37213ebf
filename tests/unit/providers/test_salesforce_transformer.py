"""Salesforce default mappings, value conventions and destination schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.salesforce import PROVIDER
from providers.salesforce.defaults import KEY_FIELD
from providers.salesforce.transformer import DEFAULT_MAPPINGS, salesforce_value
from syncsvc.config.loader import load_config_file
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import load_spec_file
from tests.unit.providers.value_cases import JSON_VALUES

MAPPING_KEYS = {"target", "source", "template", "transforms", "required", "custom"}
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "connections" / "salesforce.yaml"


def test_default_mappings_cover_the_three_objects_and_always_carry_the_key() -> None:
    assert set(DEFAULT_MAPPINGS) == set(PROVIDER.defaults.objects)
    for object_name, mappings in PROVIDER.transformer.default_mappings.items():
        targets = [m["target"] for m in mappings]
        assert len(targets) == len(set(targets)), object_name
        for mapping in mappings:
            assert set(mapping) <= MAPPING_KEYS
        key = next(m for m in mappings if m["target"] == PROVIDER.defaults.id_property[object_name])
        assert key == {
            "source": "id",
            "target": KEY_FIELD,
            "transforms": ["to_string"],
            "required": True,
        }


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
def test_values_stay_json_typed(value: object, expected: object) -> None:
    got = salesforce_value(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")])
def test_a_non_finite_number_is_a_permanent_error_naming_the_field(bad: object) -> None:
    with pytest.raises(PermanentError) as caught:
        PROVIDER.transformer.shape("Opportunity", {"Amount": bad})
    assert caught.value.field == "Amount"


def test_shape_keeps_numbers_numbers_and_none_clears() -> None:
    shaped = PROVIDER.transformer.shape(
        "Opportunity", {"Amount": Decimal("10.00"), "CloseDate": dt.date(2025, 1, 2), "Name": None}
    )
    assert shaped == {"Amount": 10, "CloseDate": "2025-01-02", "Name": None}


@pytest.mark.parametrize("object_name", ["Contact", "Account", "Opportunity"])
def test_destination_schemas_compile_and_allow_custom_fields(object_name: str) -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    assert spec.additional == "allow"
    assert KEY_FIELD in spec.field_names


DEMO_ROWS: dict[str, dict[str, Any]] = {
    "Contact": {
        "id": 7,
        "email": " Ada@Example.COM ",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": None,
        "lifecycle_stage": "lead",
        "company_id": 3,
    },
    "Account": {
        "id": 3,
        "name": "Engines",
        "domain": "AE.example",
        "industry": "software",
        "city": "London",
    },
    "Opportunity": {
        "id": 11,
        "name": "Engine",
        "amount": 1234.5,
        "stage": "decisionmakerboughtin",
        "close_date": "2026-12-24",
        "company_id": 3,
    },
}


def _shaped(object_name: str, row: dict[str, Any]) -> dict[str, Any]:
    mapper = compile_mapper(DEFAULT_MAPPINGS[object_name], f"defaults.{object_name}")
    properties, issues = mapper.apply(row)
    assert issues == []
    return PROVIDER.transformer.shape(object_name, properties)


@pytest.mark.parametrize("object_name", sorted(DEMO_ROWS))
def test_default_mappings_of_a_demo_row_pass_the_destination_schema(object_name: str) -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    mapper = compile_mapper(DEFAULT_MAPPINGS[object_name], object_name)
    assert set(mapper.targets) <= spec.field_names
    shaped = _shaped(object_name, DEMO_ROWS[object_name])
    assert spec.check(shaped) == []
    assert shaped[KEY_FIELD] == str(DEMO_ROWS[object_name]["id"])


def test_demo_values_take_salesforce_conventions() -> None:
    assert _shaped("Contact", DEMO_ROWS["Contact"])["Email"] == "ada@example.com"
    assert _shaped("Account", DEMO_ROWS["Account"])["Industry"] == "Technology"
    deal = _shaped("Opportunity", DEMO_ROWS["Opportunity"])
    assert (deal["StageName"], deal["Amount"], deal["CloseDate"]) == (
        "Proposal/Price Quote",
        1234.5,
        "2026-12-24",
    )


def test_required_salesforce_fields_get_defaults() -> None:
    contact = _shaped("Contact", {**DEMO_ROWS["Contact"], "last_name": None})
    assert contact["LastName"] == "[not provided]"
    deal = _shaped("Opportunity", {**DEMO_ROWS["Opportunity"], "stage": None, "close_date": None})
    assert (deal["StageName"], deal["CloseDate"]) == ("Prospecting", "2099-12-31")


def test_long_names_are_cut_to_the_field_lengths() -> None:
    contact = _shaped("Contact", {**DEMO_ROWS["Contact"], "first_name": "A" * 100})
    assert len(contact["FirstName"]) == 40
    assert load_spec_file(PROVIDER.destination_schema_path("Contact")).check(contact) == []


@pytest.mark.parametrize(
    ("object_name", "change", "field"),
    [
        ("Contact", {"Email": "x@"}, "Email"),
        ("Contact", {"LastName": ""}, "LastName"),
        ("Opportunity", {"StageName": "closedwon"}, "StageName"),
        ("Opportunity", {"CloseDate": "24/12/2026"}, "CloseDate"),
        ("Opportunity", {"Amount": "a lot"}, "Amount"),
        ("Account", {KEY_FIELD: ""}, KEY_FIELD),
    ],
)
def test_a_bad_value_fails_the_schema_naming_the_field(
    object_name: str, change: dict[str, Any], field: str
) -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    shaped = {**_shaped(object_name, DEMO_ROWS[object_name]), **change}
    assert [issue.field for issue in spec.check(shaped)] == [field]


def test_the_example_config_loads_and_documents_the_default_mappings() -> None:
    doc = load_config_file(EXAMPLE)
    [connection] = doc.connections
    assert (connection.name, connection.provider) == ("salesforce-demo", "salesforce")
    assert connection.objects == DEFAULT_MAPPINGS
    rules = {(r.source, r.action, r.object, r.id_property) for r in connection.rules}
    for table, obj in [
        ("demo.contacts", "Contact"),
        ("demo.companies", "Account"),
        ("demo.deals", "Opportunity"),
    ]:
        assert {(table, "upsert", obj, KEY_FIELD), (table, "archive", obj, KEY_FIELD)} <= rules
