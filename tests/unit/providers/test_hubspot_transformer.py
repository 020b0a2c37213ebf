import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from providers.hubspot import PROVIDER
from providers.hubspot.transformer import hubspot_value
from syncsvc.demo.system import example_config
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import load_spec_file


def test_the_provider_names_no_demo_mappings_and_only_hubspots_own_identity_property() -> None:
    assert PROVIDER.transformer.default_mappings == {}
    assert dict(PROVIDER.defaults.id_property) == {"contacts": "email"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("as is", "as is"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1e-7, "0.0000001"),
        (1e20, "100000000000000000000"),
        (2.5, "2.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1500.50"), "1500.50"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC), "2024-05-01T12:30:00.000Z"),
        (dt.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00.000Z"),
        (
            dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:30:00.000Z",
        ),
        (["a", "b"], "a;b"),
    ],
)
def test_values_take_hubspot_string_conventions(value: object, expected: str) -> None:
    assert hubspot_value(value) == expected


def test_a_non_finite_number_is_a_permanent_error_naming_the_property() -> None:
    with pytest.raises(PermanentError) as caught:
        PROVIDER.transformer.shape("deals", {"amount": float("nan")})
    assert caught.value.field == "amount"


def test_shape_turns_values_into_hubspot_strings() -> None:
    shaped = PROVIDER.transformer.shape(
        "deals", {"dealname": "Big", "amount": Decimal("10.00"), "closedate": dt.date(2025, 1, 2)}
    )
    assert shaped == {"dealname": "Big", "amount": "10.00", "closedate": "2025-01-02"}


def test_destination_specs_require_no_field_and_check_only_the_email_format() -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path("contacts"))
    assert spec.check({}) == []
    assert spec.check({"email": ""}) == []  # a clear
    assert [i.field for i in spec.check({"email": "x@"})] == ["email"]
    assert spec.check({"email": "ada@example.com", "anything_else": "kept"}) == []
    for object_name in ("companies", "deals"):
        assert not PROVIDER.destination_schema_path(object_name).exists()


def test_schema_files_are_the_ones_the_provider_points_at() -> None:
    path = PROVIDER.destination_schema_path("contacts")
    assert path == Path(__file__).resolve().parents[3] / "schemas" / "hubspot" / "contacts.json"


DEMO_ROWS: dict[str, dict[str, object]] = {
    "contacts": {
        "id": 7,
        "email": " Ada@Example.COM ",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": None,
        "lifecycle_stage": "lead",
        "company_id": 3,
    },
    "companies": {
        "id": 3,
        "name": "Engines",
        "domain": "AE.example",
        "industry": "software",
        "city": "London",
    },
    "deals": {
        "id": 11,
        "name": "Engine",
        "amount": Decimal("1234.50"),
        "stage": "qualifiedtobuy",
        "close_date": dt.date(2026, 12, 24),
        "company_id": 3,
    },
}


@pytest.mark.parametrize("object_name", sorted(DEMO_ROWS))
def test_the_example_configs_mappings_map_a_demo_row(object_name: str) -> None:
    doc = yaml.safe_load(example_config("hubspot").read_text())
    mappings = doc["connections"][0]["objects"][object_name]["mappings"]
    mapper = compile_mapper(mappings, f"example.{object_name}")
    properties, issues = mapper.apply(DEMO_ROWS[object_name])
    assert issues == []
    shaped = PROVIDER.transformer.shape(object_name, properties)
    assert shaped["syncsvc_id"] == str(DEMO_ROWS[object_name]["id"])
    if object_name == "contacts":
        assert shaped["email"] == "ada@example.com"
    if object_name == "companies":
        assert shaped["industry"] == "COMPUTER_SOFTWARE"  # HubSpot's option value
