"""The example config's mappings of the demo tables, Pipedrive's value conventions and the
optional destination schemas: a mapped demo row passes, a bad value fails naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from providers.pipedrive import PROVIDER
from providers.pipedrive.transformer import pipedrive_value
from syncsvc.config.loader import load_config_file
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import load_spec_file

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "connections" / "pipedrive.yaml"
ROWS: dict[str, dict[str, Any]] = {
    "persons": {
        "id": 12,
        "email": " Ada@Example.COM ",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+44 20 7946 0000",
        "lifecycle_stage": "lead",
        "company_id": 3,
        "updated_at": "2026-11-25T10:00:00+00:00",
    },
    "organizations": {
        "id": 3,
        "name": " Analytical Engines ",
        "domain": "AE.example",
        "industry": "Computing",
        "city": "London",
        "updated_at": "2026-11-25T10:00:00+00:00",
    },
    "deals": {
        "id": 7,
        "name": "Engine",
        "amount": Decimal("1234.50"),
        "stage": "closedwon",
        "close_date": dt.date(2026, 12, 24),
        "company_id": 3,
        "updated_at": "2026-11-25T10:00:00+00:00",
    },
}


def example_mappings() -> dict[str, list[dict[str, Any]]]:
    [conn] = load_config_file(EXAMPLE, env={}).connections
    return conn.objects


def shaped(object_name: str, row: dict[str, Any]) -> dict[str, Any]:
    mapper = compile_mapper(example_mappings()[object_name], object_name)
    properties, issues = mapper.apply(row)
    assert issues == []
    return PROVIDER.transformer.shape(object_name, properties)


def problems(object_name: str, payload: dict[str, Any]) -> list[str]:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    return [issue.field for issue in spec.check(payload)]


@pytest.mark.parametrize("object_name", ["persons", "organizations", "deals"])
def test_a_mapped_demo_row_passes_the_destination_schema(object_name: str) -> None:
    payload = shaped(object_name, ROWS[object_name])
    assert payload["syncsvc_id"] == str(ROWS[object_name]["id"])
    assert problems(object_name, payload) == []


def test_person_conventions() -> None:
    payload = shaped("persons", ROWS["persons"])
    assert payload == {
        "name": "Ada Lovelace",
        "emails": "ada@example.com",
        "phones": "+44 20 7946 0000",
        "lifecycle_stage": "lead",
        "syncsvc_id": "12",
    }


def test_a_person_without_names_still_gets_the_required_name() -> None:
    row = {**ROWS["persons"], "first_name": None, "last_name": ""}
    assert shaped("persons", row)["name"] == "(no name)"
    assert shaped("persons", {**row, "last_name": "Hopper"})["name"] == "Hopper"


def test_organization_and_deal_conventions() -> None:
    org = shaped("organizations", ROWS["organizations"])
    assert org == {
        "name": "Analytical Engines",
        "website": "ae.example",
        "address": "London",
        "syncsvc_id": "3",
    }
    deal = shaped("deals", ROWS["deals"])
    assert deal == {
        "title": "Engine",
        "value": 1234.5,
        "currency": "USD",
        "status": "won",
        "expected_close_date": "2026-12-24",
        "syncsvc_id": "7",
    }
    assert type(deal["value"]) is float
    open_deal = shaped("deals", {**ROWS["deals"], "stage": "contractsent", "amount": None})
    assert (open_deal["status"], open_deal["value"]) == ("open", None)
    assert shaped("deals", {**ROWS["deals"], "stage": None})["status"] == "open"


@pytest.mark.parametrize(
    ("object_name", "field", "value"),
    [
        ("persons", "emails", "not-an-email"),
        ("persons", "name", "n" * 256),
        ("persons", "visible_to", 2),
        ("deals", "status", "pending"),
        ("deals", "currency", "usd"),
        ("deals", "expected_close_date", "24/12/2026"),
        ("deals", "value", -1),
        ("organizations", "name", 5),
    ],
)
def test_a_bad_value_fails_the_schema_naming_the_field(
    object_name: str, field: str, value: Any
) -> None:
    payload = {**shaped(object_name, ROWS[object_name]), field: value}
    assert field in problems(object_name, payload)


def test_custom_fields_pass_the_schema_unchecked() -> None:
    payload = {**shaped("deals", ROWS["deals"]), "Region": "EMEA", "score": 4.5}
    assert problems("deals", payload) == []


def test_numbers_are_sent_as_json_numbers_never_strings() -> None:
    shape = PROVIDER.transformer.shape
    assert shape("deals", {"value": "12.50", "org_id": "42", "title": "x"}) == {
        "value": 12.5,
        "org_id": 42,
        "title": "x",
    }
    assert shape("deals", {"value": Decimal("10.00")})["value"] == 10
    assert shape("deals", {"value": ""})["value"] is None
    for bad in ("abc", float("nan"), Decimal("Infinity"), True):
        with pytest.raises(PermanentError) as caught:
            shape("deals", {"value": bad})
        assert caught.value.field == "value"


def test_dates_times_and_other_values() -> None:
    moment = dt.datetime(2026, 11, 25, 10, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert pipedrive_value(moment) == "2026-11-25T08:30:05Z"
    assert pipedrive_value(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert pipedrive_value(dt.date(2026, 1, 2)) == "2026-01-02"
    assert pipedrive_value([Decimal("1.5"), 2]) == [1.5, 2]
    assert pipedrive_value({"value": Decimal("3")}) == {"value": 3}
    with pytest.raises(PermanentError):
        pipedrive_value(float("inf"), "score")


def test_there_are_no_default_mappings_or_id_properties() -> None:
    assert PROVIDER.transformer.default_mappings == {}
    assert dict(PROVIDER.defaults.id_property) == {}


def test_the_example_config_states_its_mappings_and_id_properties() -> None:
    doc = load_config_file(EXAMPLE, env={})
    [conn] = doc.connections
    assert (conn.name, conn.provider) == ("pipedrive-demo", "pipedrive")
    assert conn.base_url == "http://127.0.0.1:8103"
    assert conn.credentials == {
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "refresh_token": "demo-refresh-token",
    }
    assert set(conn.objects) == {"persons", "organizations", "deals"}
    sources = {(r.source, r.object, r.action) for r in conn.rules}
    assert len(sources) == 6
    assert all(r.id_property == "syncsvc_id" for r in conn.rules)
