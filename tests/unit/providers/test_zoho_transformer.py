"""Zoho's wire format per field type (encode / clear), its JSON value conventions, and the
example config that states its own mappings (the provider has no demo-shaped defaults)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.zoho import PROVIDER
from providers.zoho.transformer import zoho_value
from syncsvc.errors import PermanentError
from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields
from syncsvc.fields.typed import typed_properties
from tests.unit.providers.value_cases import JSON_VALUES

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "connections" / "zoho.yaml"
STAGE = FieldDef(
    "Stage",
    FieldType.ENUMERATION,
    "picklist",
    options=(
        FieldOption("Qualification", "Qualification"),
        FieldOption("Closed Won", "Closed Won"),
    ),
)
TAGS = FieldDef(
    "Interests",
    FieldType.MULTI_ENUMERATION,
    "multiselectpicklist",
    options=(FieldOption("Golf", "Golf"), FieldOption("Chess", "Chess")),
)
FIELDS = {
    "text": FieldDef("Last_Name", FieldType.STRING, "text", max_length=80),
    "textarea": FieldDef("Description", FieldType.TEXT, "textarea", max_length=32000),
    "currency": FieldDef("Annual_Revenue", FieldType.NUMBER, "currency"),
    "integer": FieldDef("Employees", FieldType.INTEGER, "integer"),
    "boolean": FieldDef("Email_Opt_Out", FieldType.BOOLEAN, "boolean"),
    "date": FieldDef("Date_of_Birth", FieldType.DATE, "date"),
    "datetime": FieldDef("Last_Seen", FieldType.DATETIME, "datetime"),
    "picklist": STAGE,
    "multiselectpicklist": TAGS,
    "lookup": FieldDef("Account_Name", FieldType.REFERENCE, "lookup"),
}


def wire(kind: str, value: Any) -> Any:
    field = FIELDS[kind]
    return PROVIDER.transformer.encode(field, convert(field, value))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("text", "Zoë Ōtsuka", "Zoë Ōtsuka"),
        ("textarea", "line 1\nline 2", "line 1\nline 2"),
        ("currency", "12345.67", 12345.67),
        ("currency", 1500, 1500),
        ("currency", Decimal("0.10"), 0.1),
        ("integer", "42", 42),
        ("integer", 7.0, 7),
        ("boolean", True, True),
        ("boolean", "false", False),
        ("date", "2026-03-01", "2026-03-01"),
        ("datetime", "2026-03-01T10:15:30.250+02:00", "2026-03-01T08:15:30+00:00"),
        ("datetime", "2026-03-01T10:15:30Z", "2026-03-01T10:15:30+00:00"),
        ("picklist", "Closed Won", "Closed Won"),
        ("multiselectpicklist", ["Chess", "Golf", "Chess"], ["Chess", "Golf"]),
        ("multiselectpicklist", "Golf;Chess", ["Golf", "Chess"]),
        ("lookup", 5725767000000411001, {"id": "5725767000000411001"}),
    ],
)
def test_each_field_type_is_encoded_as_zoho_takes_it(kind: str, value: Any, expected: Any) -> None:
    got = wire(kind, value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("picklist", "Won", "is not one of the field's options: Qualification, Closed Won"),
        ("multiselectpicklist", ["Golf", "Poker"], "'Poker' is not one of the field's options"),
        ("text", "x" * 81, "at most 80 fit"),
        ("integer", "4.5", "is not a whole number"),
        ("date", "2026-03-01T10:00:00+00:00", "has a time of day"),
        ("datetime", "2026-03-01T10:00:00", "has no time zone"),
        ("boolean", "yes", "is not a boolean"),
    ],
)
def test_values_zoho_would_refuse_never_reach_the_wire(kind: str, value: Any, reason: str) -> None:
    with pytest.raises(FieldValueError, match=reason):
        wire(kind, value)


def test_a_null_clears_with_json_null_and_unticks_a_checkbox() -> None:
    clears = {kind: PROVIDER.transformer.clear_value(f) for kind, f in FIELDS.items()}
    assert clears.pop("boolean") is False
    assert set(clears.values()) == {None}


def test_typed_properties_encode_and_report_by_field() -> None:
    fields = ObjectFields.of("Deals", [STAGE, FIELDS["currency"], FIELDS["boolean"]])
    out, issues = typed_properties(
        {"Stage": "Nope", "Annual_Revenue": "3.25", "Email_Opt_Out": None, "Other": 1},
        fields,
        PROVIDER.transformer,
    )
    assert out == {"Annual_Revenue": 3.25, "Email_Opt_Out": False, "Other": 1}
    assert [(i.field, i.reason.split(":")[0]) for i in issues] == [("Stage", "picklist field")]


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


def test_no_demo_shaped_defaults_and_the_example_states_its_mappings_and_keys() -> None:
    assert PROVIDER.transformer.default_mappings == {}
    assert dict(PROVIDER.defaults.id_property) == {}
    assert not any(PROVIDER.destination_schema_path(m).exists() for m in PROVIDER.defaults.objects)
    [connection] = yaml.safe_load(EXAMPLE.read_text())["connections"]
    assert set(connection["objects"]) == set(PROVIDER.defaults.objects)
    for rule in connection["rules"]:
        mapped = {m["target"] for m in connection["objects"][rule["object"]]["mappings"]}
        assert rule["id_property"] in mapped, rule["name"]
