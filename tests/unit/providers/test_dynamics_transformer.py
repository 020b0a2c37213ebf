"""Default mappings, Dataverse value conventions and the destination schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.dynamics import PROVIDER
from providers.dynamics.transformer import DEFAULT_MAPPINGS, dataverse_value
from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import load_spec_file
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
ROWS = {"contacts": CONTACT, "accounts": COMPANY, "opportunities": DEAL}


def shaped(object_name: str, row: dict[str, Any]) -> dict[str, Any]:
    mapper = compile_mapper(PROVIDER.transformer.default_mappings[object_name], "test")
    properties, issues = mapper.apply(row)
    assert not issues, issues
    return PROVIDER.transformer.shape(object_name, properties)


def problems(object_name: str, payload: dict[str, Any]) -> list[str]:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    return [issue.field for issue in spec.check(payload)]


def test_default_mappings_cover_every_object_and_map_the_alternate_key() -> None:
    assert set(DEFAULT_MAPPINGS) == set(PROVIDER.defaults.objects)
    for object_name, mappings in DEFAULT_MAPPINGS.items():
        targets = [m["target"] for m in mappings]
        assert len(targets) == len(set(targets))
        key = PROVIDER.defaults.id_property[object_name]
        assert {"source": "id", "target": key, "transforms": ["to_string"], "required": True} in (
            mappings
        )
        declared = load_spec_file(PROVIDER.destination_schema_path(object_name)).field_names
        assert set(targets) <= declared, object_name


@pytest.mark.parametrize("object_name", ["contacts", "accounts", "opportunities"])
def test_a_demo_row_passes_the_destination_schema(object_name: str) -> None:
    payload = shaped(object_name, ROWS[object_name])
    assert problems(object_name, payload) == []
    assert payload["syncsvc_externalid"] == str(ROWS[object_name]["id"])


def test_demo_rows_take_dataverse_conventions() -> None:
    assert shaped("contacts", CONTACT) == {
        "syncsvc_externalid": "7", "firstname": "Ada", "lastname": "Lovelace",
        "emailaddress1": "ada@example.com", "telephone1": "+44 20 7946 0000",
    }  # fmt: skip
    assert shaped("accounts", COMPANY)["industrycode"] == 6
    deal = shaped("opportunities", DEAL)
    assert (deal["estimatedvalue"], deal["estimatedclosedate"], deal["salesstage"]) == (
        1500.5, "2024-06-30", 2,
    )  # fmt: skip


def test_required_columns_get_a_default_when_the_source_is_empty() -> None:
    assert shaped("contacts", {**CONTACT, "last_name": "  "})["lastname"] == "(unknown)"
    assert shaped("contacts", {**CONTACT, "last_name": None})["lastname"] == "(unknown)"
    assert shaped("accounts", {**COMPANY, "name": None})["name"] == "(unnamed)"


@pytest.mark.parametrize(
    ("object_name", "row", "field"),
    [
        ("accounts", {**COMPANY, "industry": "mining"}, "industrycode"),
        ("opportunities", {**DEAL, "stage": "won-ish"}, "salesstage"),
        ("contacts", {**CONTACT, "email": "not-an-email"}, "emailaddress1"),
        ("contacts", {**CONTACT, "last_name": "x" * 51}, "lastname"),
        ("accounts", {**COMPANY, "city": "y" * 81}, "address1_city"),
    ],
)
def test_a_bad_value_fails_the_schema_naming_the_column(
    object_name: str, row: dict[str, Any], field: str
) -> None:
    assert problems(object_name, shaped(object_name, row)) == [field]


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
def test_values_keep_their_json_types(value: object, expected: object) -> None:
    assert dataverse_value(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_a_non_finite_number_is_a_permanent_error_naming_the_column(value: object) -> None:
    with pytest.raises(PermanentError) as caught:
        PROVIDER.transformer.shape("opportunities", {"estimatedvalue": value})
    assert caught.value.field == "estimatedvalue"


def test_the_example_config_loads_and_documents_the_default_mappings() -> None:
    doc = load_config_file(EXAMPLE, env={})
    (connection,) = doc.connections
    assert (connection.name, connection.provider) == ("dynamics-demo", "dynamics")
    assert connection.base_url == "http://127.0.0.1:8105"
    assert connection.credentials == {
        "client_id": "demo-client", "client_secret": "demo-secret", "tenant_id": "demo-tenant",
    }  # fmt: skip
    assert connection.objects == {k: list(v) for k, v in DEFAULT_MAPPINGS.items()}
    tables = {(r.source, r.action, r.object) for r in connection.rules}
    for table, obj in [
        ("contacts", "contacts"),
        ("companies", "accounts"),
        ("deals", "opportunities"),
    ]:
        assert {(f"demo.{table}", "upsert", obj), (f"demo.{table}", "archive", obj)} <= tables
    assert all(r.id_property == "syncsvc_externalid" for r in connection.rules)
    assert check_source_fields(doc, (INTERNAL_SCHEMAS,)) == []
