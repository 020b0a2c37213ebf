"""Zoho default mappings, value conventions and destination schemas."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.zoho import PROVIDER
from providers.zoho.transformer import DEAL_STAGES, DEFAULT_MAPPINGS, zoho_value
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import CompiledSpec, load_spec_file
from tests.unit.providers.value_cases import JSON_VALUES

MAPPING_KEYS = {"target", "source", "template", "transforms", "required", "custom"}
CONTACT = {
    "id": 7,
    "email": " Ada.Lovelace@Example.com ",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+1-555-0100",
    "lifecycle_stage": "lead",
    "company_id": 3,
    "updated_at": "2026-11-25T10:00:00+00:00",
}
COMPANY = {"id": 3, "name": "Lovelace Labs", "domain": "LovelaceLabs.example",
           "industry": "software", "city": "Berlin", "updated_at": "2026-11-25T10:00:00+00:00"}  # fmt: skip
DEAL = {"id": 11, "name": "Deal 42", "amount": Decimal("1500.50"), "stage": "contractsent",
        "close_date": dt.date(2027, 1, 15), "company_id": 3, "updated_at": "2026-11-25T10:00:00Z"}  # fmt: skip


def spec(module: str) -> CompiledSpec:
    return load_spec_file(PROVIDER.destination_schema_path(module))


def shaped(module: str, row: dict[str, Any]) -> dict[str, Any]:
    properties, issues = compile_mapper(DEFAULT_MAPPINGS[module], module).apply(row)
    assert issues == []
    return PROVIDER.transformer.shape(module, properties)


def test_default_mappings_cover_the_three_modules_in_the_config_format() -> None:
    assert set(DEFAULT_MAPPINGS) == set(PROVIDER.defaults.objects)
    for module, mappings in PROVIDER.transformer.default_mappings.items():
        targets = [m["target"] for m in mappings]
        assert len(targets) == len(set(targets)), module
        assert all(set(m) <= MAPPING_KEYS for m in mappings)
        key = PROVIDER.defaults.id_property[module]
        [key_mapping] = [m for m in mappings if m["target"] == key]
        assert key_mapping == {
            "source": "id",
            "target": "Syncsvc_Id",
            "transforms": ["to_string"],
            "required": True,
        }
        assert set(targets) <= spec(module).field_names, "every target is a known Zoho field"


def test_demo_rows_shape_into_zoho_records_that_pass_the_destination_schemas() -> None:
    contact = shaped("Contacts", CONTACT)
    assert contact == {
        "Syncsvc_Id": "7",
        "Email": "ada.lovelace@example.com",
        "First_Name": "Ada",
        "Last_Name": "Lovelace",
        "Phone": "+1-555-0100",
    }
    account = shaped("Accounts", COMPANY)
    assert account["Account_Name"] == "Lovelace Labs" and account["Industry"] == "Software"
    assert account["Website"] == "lovelacelabs.example"
    deal = shaped("Deals", DEAL)
    assert deal == {
        "Syncsvc_Id": "11",
        "Deal_Name": "Deal 42",
        "Amount": 1500.5,
        "Stage": "Negotiation/Review",
        "Closing_Date": "2027-01-15",
    }
    for module, record in (("Contacts", contact), ("Accounts", account), ("Deals", deal)):
        assert spec(module).check(record) == [], module


def test_values_zoho_requires_get_defaults() -> None:
    contact = shaped("Contacts", {**CONTACT, "last_name": "  "})
    assert contact["Last_Name"] == "Unknown"
    deal = shaped("Deals", {**DEAL, "stage": None, "close_date": None, "amount": None})
    assert (deal["Stage"], deal["Closing_Date"], deal["Amount"]) == (
        "Qualification",
        "2099-12-31",
        None,
    )
    assert spec("Deals").check(deal) == []


def test_every_demo_stage_maps_to_a_zoho_stage() -> None:
    demo_stages = spec_choices("demo.deals", "stage")
    assert set(demo_stages) == set(DEAL_STAGES)
    for stage in demo_stages:
        assert shaped("Deals", {**DEAL, "stage": stage})["Stage"] == DEAL_STAGES[stage]


def spec_choices(table: str, field: str) -> list[str]:
    path = Path(__file__).resolve().parents[3] / "schemas" / "internal" / f"{table}.json"
    choices: list[str] = json.loads(path.read_text())["fields"][field]["choices"]
    return choices


@pytest.mark.parametrize(
    ("module", "record", "field"),
    [
        ("Contacts", {"Syncsvc_Id": "1", "Last_Name": "L", "Email": "not-an-email"}, "Email"),
        ("Contacts", {"Syncsvc_Id": "1", "Last_Name": "x" * 81}, "Last_Name"),
        ("Contacts", {"Syncsvc_Id": "1"}, "Last_Name"),
        ("Accounts", {"Account_Name": "A"}, "Syncsvc_Id"),
        (
            "Deals",
            {
                "Syncsvc_Id": "1",
                "Deal_Name": "D",
                "Stage": "Qualification",
                "Closing_Date": "15/01/2027",
            },
            "Closing_Date",
        ),
        (
            "Deals",
            {"Syncsvc_Id": "1", "Deal_Name": "D", "Stage": "", "Closing_Date": "2027-01-15"},
            "Stage",
        ),
    ],
)
def test_a_bad_value_fails_the_destination_schema_naming_the_field(
    module: str, record: dict[str, Any], field: str
) -> None:
    assert [issue.field for issue in spec(module).check(record)] == [field]


def test_custom_fields_pass_through_the_schemas() -> None:
    record = {"Syncsvc_Id": "1", "Last_Name": "L", "Lifecycle__c": ["a"], "Score_1": 3}
    assert spec("Contacts").check(record) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *JSON_VALUES,
        (dt.datetime(2024, 5, 1, 12, 30, 15, 999), "2024-05-01T12:30:15+00:00"),
        (
            dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
            "2024-05-01T14:30:00+05:30",
        ),
        (["a", "b"], ["a", "b"]),
        ({"id": 5}, {"id": 5}),
    ],
)
def test_values_take_zoho_json_conventions(value: object, expected: object) -> None:
    assert zoho_value(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_a_non_finite_number_is_a_permanent_error_naming_the_field(value: object) -> None:
    with pytest.raises(PermanentError) as caught:
        PROVIDER.transformer.shape("Deals", {"Amount": value})
    assert caught.value.field == "Amount"
