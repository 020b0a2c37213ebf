import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from providers.hubspot import PROVIDER
from providers.hubspot.transformer import DEFAULT_MAPPINGS, hubspot_value
from syncsvc.errors import PermanentError
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.validation.fieldspec import load_spec_file

MAPPING_KEYS = {"target", "source", "template", "transforms", "required", "custom"}


def test_default_mappings_cover_the_three_objects_in_the_config_format() -> None:
    assert set(DEFAULT_MAPPINGS) == set(PROVIDER.defaults.objects)
    for object_name, mappings in PROVIDER.transformer.default_mappings.items():
        targets = [m["target"] for m in mappings]
        assert len(targets) == len(set(targets)), object_name
        for mapping in mappings:
            assert set(mapping) <= MAPPING_KEYS
            assert isinstance(mapping.get("transforms", []), list)
        assert PROVIDER.defaults.id_property[object_name] in targets


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


@pytest.mark.parametrize("object_name", ["contacts", "companies", "deals"])
def test_destination_schemas_compile(object_name: str) -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    assert spec.additional == "string"


SHAPED_DEMO = {
    "contacts": {
        "email": "ada@example.com",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "phone": "+44 20 7946 0000",
        "lifecyclestage": "lead",
        "syncsvc_id": 7,
    },
    "companies": {
        "name": "Analytical Engines",
        "domain": "engines.example",
        "industry": "Computing",
        "city": "London",
        "syncsvc_id": 3,
        "custom_tier": "gold",
    },
    "deals": {
        "dealname": "Difference engine",
        "amount": Decimal("17470.00"),
        "dealstage": "closedwon",
        "pipeline": "default",
        "closedate": dt.date(1842, 9, 1),
        "syncsvc_id": 11,
    },
}


@pytest.mark.parametrize("object_name", sorted(SHAPED_DEMO))
def test_a_shaped_demo_payload_passes_its_destination_schema(object_name: str) -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    properties = PROVIDER.transformer.shape(object_name, SHAPED_DEMO[object_name])
    assert spec.check(properties) == []


def test_a_bad_email_fails_the_contacts_schema_naming_the_field() -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path("contacts"))
    properties = PROVIDER.transformer.shape("contacts", {**SHAPED_DEMO["contacts"], "email": "x@"})
    assert [issue.field for issue in spec.check(properties)] == ["email"]


def test_unshaped_custom_values_fail_the_schema() -> None:
    spec = load_spec_file(PROVIDER.destination_schema_path("companies"))
    issues = spec.check({"syncsvc_id": "3", "custom_tier": 5})
    assert [issue.field for issue in issues] == ["custom_tier"]


def test_schema_files_are_the_ones_the_provider_points_at() -> None:
    path = PROVIDER.destination_schema_path("deals")
    assert path == Path(__file__).resolve().parents[3] / "schemas" / "hubspot" / "deals.json"


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
        "industry": None,
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
def test_default_mappings_compile_map_a_demo_row_and_pass_the_destination_schema(
    object_name: str,
) -> None:
    mapper = compile_mapper(DEFAULT_MAPPINGS[object_name], f"defaults.{object_name}")
    properties, issues = mapper.apply(DEMO_ROWS[object_name])
    assert issues == []
    spec = load_spec_file(PROVIDER.destination_schema_path(object_name))
    assert set(mapper.targets) <= spec.field_names
    shaped = PROVIDER.transformer.shape(object_name, properties)
    assert spec.check(shaped) == []
    assert shaped["syncsvc_id"] == str(DEMO_ROWS[object_name]["id"])


def test_default_contact_mapping_normalises_the_email() -> None:
    mapper = compile_mapper(DEFAULT_MAPPINGS["contacts"], "defaults.contacts")
    properties, _ = mapper.apply(DEMO_ROWS["contacts"])
    assert PROVIDER.transformer.shape("contacts", properties)["email"] == ("ada@example.com")
