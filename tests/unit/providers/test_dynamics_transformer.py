"""The example config's mappings, Dataverse value conventions, and typed encode/clear."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.dynamics import PROVIDER
from providers.dynamics.transformer import dataverse_value
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.errors import PermanentError
from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldOption, FieldType
from syncsvc.mapping.mapper import compile_mapper
from tests.unit.providers.value_cases import JSON_VALUES

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "connections" / "dynamics.yaml"
INTERNAL_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "internal"
CONTACT = {
    "id": 7, "email": " Ada@Example.COM ", "first_name": "Ada", "last_name": "Lovelace",
    "phone": "+44 20 7946 0000", "lifecycle_stage": "lead", "company_id": 3,
    "updated_at": "2024-05-01T12:00:00+00:00",
}  # fmt: skip
COMPANY = {"id": 3, "name": "Analytical Engines", "domain": "Engines.example", "industry":
           "Software", "city": "London", "updated_at": "2024-05-01T12:00:00+00:00"}  # fmt: skip
DEAL = {"id": 11, "name": "Difference engine", "amount": 1500.5, "stage": "contractsent",
        "close_date": "2024-06-30", "company_id": 3, "updated_at": "2024-05-01T12:00:00+00:00"}  # fmt: skip
STAGES = (FieldOption("0", "Qualify"), FieldOption("1", "Develop"), FieldOption("2", "Propose"))


def shaped(object_name: str, row: dict[str, Any]) -> dict[str, Any]:
    (connection,) = load_config_file(EXAMPLE, env={}).connections
    mapper = compile_mapper(connection.objects[object_name], "test")
    properties, issues = mapper.apply(row)
    assert not issues, issues
    return PROVIDER.transformer.shape(object_name, properties)


def encoded(field: FieldDef, value: Any) -> Any:
    return PROVIDER.transformer.encode(field, convert(field, value))


def test_nothing_is_demo_shaped_in_the_provider() -> None:
    assert PROVIDER.transformer.default_mappings == {}
    assert dict(PROVIDER.defaults.id_property) == {}


def test_example_rows_take_dataverse_conventions() -> None:
    assert shaped("contacts", CONTACT) == {
        "syncsvc_externalid": "7", "firstname": "Ada", "lastname": "Lovelace",
        "emailaddress1": "ada@example.com", "telephone1": "+44 20 7946 0000",
    }  # fmt: skip
    assert shaped("accounts", COMPANY)["industrycode"] == 6
    deal = shaped("opportunities", DEAL)
    assert (deal["estimatedvalue"], deal["estimatedclosedate"], deal["salesstage"]) == (
        1500.5, "2024-06-30", 2,
    )  # fmt: skip
    assert shaped("contacts", {**CONTACT, "last_name": None})["lastname"] == "(unknown)"


@pytest.mark.parametrize(
    ("field", "value", "wire"),
    [
        (FieldDef("firstname", FieldType.STRING, "String", max_length=50), "Zoë", "Zoë"),
        (FieldDef("description", FieldType.TEXT, "Memo", max_length=2000), "a\nb", "a\nb"),
        (FieldDef("numberofemployees", FieldType.INTEGER, "Integer"), "42", 42),
        (FieldDef("revenue", FieldType.NUMBER, "Money"), "12345.67", 12345.67),
        (FieldDef("revenue", FieldType.NUMBER, "Money"), Decimal("1.50"), 1.5),
        (FieldDef("revenue", FieldType.NUMBER, "Money"), 7, 7),
        (FieldDef("donotemail", FieldType.BOOLEAN, "Boolean"), "true", True),
        (FieldDef("birthdate", FieldType.DATE, "DateTime"), "1961-04-12", "1961-04-12"),
        (
            FieldDef("lastonholdtime", FieldType.DATETIME, "DateTime"),
            "2026-03-01T11:30:15.250+02:00",
            "2026-03-01T09:30:15Z",
        ),
        (FieldDef("salesstage", FieldType.ENUMERATION, "Picklist", options=STAGES), "1", 1),
        (FieldDef("salesstage", FieldType.ENUMERATION, "Picklist", options=STAGES), 2, 2),
        (FieldDef("salesstage", FieldType.ENUMERATION, "Picklist", options=STAGES), "Propose", 2),
        (
            FieldDef(
                "new_days", FieldType.MULTI_ENUMERATION, "MultiSelectPicklist", options=STAGES
            ),
            ["Qualify", "2"],
            "0,2",
        ),
        (FieldDef("parentcustomerid", FieldType.REFERENCE, "Customer"), "abc", "abc"),
    ],
)
def test_each_column_type_is_encoded_as_the_web_api_takes_it(
    field: FieldDef, value: Any, wire: Any
) -> None:
    got = encoded(field, value)
    assert got == wire and type(got) is type(wire)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (FieldDef("numberofemployees", FieldType.INTEGER, "Integer"), 2**31, "outside the range"),
        (FieldDef("revenue", FieldType.NUMBER, "Money"), "1e16", "outside the range"),
        (
            FieldDef("salesstage", FieldType.ENUMERATION, "Picklist", options=STAGES),
            "Won",
            "not one",
        ),
        (FieldDef("lastname", FieldType.STRING, "String", max_length=3), "Long", "at most 3 fit"),
    ],
)
def test_a_value_the_column_cannot_hold_is_refused_before_any_call(
    field: FieldDef, value: Any, reason: str
) -> None:
    with pytest.raises(FieldValueError, match=reason):
        encoded(field, value)


def test_null_clears_every_column_type() -> None:
    for field_type in FieldType:
        assert PROVIDER.transformer.clear_value(FieldDef("x", field_type, "String")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *JSON_VALUES,
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00Z"),
        (
            dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:30:00Z",
        ),
        ([1, 3], "1,3"),
        ([1, None, 3], "1,3"),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
    ],
)
def test_values_without_definitions_keep_their_json_types(value: object, expected: object) -> None:
    assert dataverse_value(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_a_non_finite_number_is_a_permanent_error_naming_the_column(value: object) -> None:
    with pytest.raises(PermanentError) as caught:
        PROVIDER.transformer.shape("opportunities", {"estimatedvalue": value})
    assert caught.value.field == "estimatedvalue"


def test_the_example_config_states_its_mappings_and_id_property() -> None:
    doc = load_config_file(EXAMPLE, env={})
    (connection,) = doc.connections
    assert (connection.name, connection.provider) == ("dynamics-demo", "dynamics")
    assert connection.base_url == "http://127.0.0.1:8105"
    assert set(connection.objects) == {"contacts", "accounts", "opportunities"}
    tables = {(r.source, r.action, r.object) for r in connection.rules}
    for table, obj in [
        ("contacts", "contacts"),
        ("companies", "accounts"),
        ("deals", "opportunities"),
    ]:
        assert {(f"demo.{table}", "upsert", obj), (f"demo.{table}", "archive", obj)} <= tables
    assert all(r.id_property == "syncsvc_externalid" for r in connection.rules)
    assert check_source_fields(doc, (INTERNAL_SCHEMAS,)) == []
