"""Mapping targets checked against a CRM's field definitions, with the closest names."""

from __future__ import annotations

from syncsvc.fields import FieldDef, FieldType, ObjectFields
from syncsvc.fields.match import (
    closest_names,
    id_property_problem,
    missing_required,
    target_problem,
)

CONTACTS = ObjectFields.of(
    "contacts",
    [
        FieldDef("email", FieldType.STRING, "string", unique=True),
        FieldDef("firstname", FieldType.STRING, "string"),
        FieldDef("lastname", FieldType.STRING, "string", required=True),
        FieldDef("city", FieldType.STRING, "string"),
        FieldDef("createdate", FieldType.DATETIME, "datetime", createable=False, updateable=False),
        FieldDef("external_id", FieldType.STRING, "string", unique=True, custom=True),
    ],
)


def test_a_field_the_crm_has_is_a_valid_target() -> None:
    assert target_problem("city", CONTACTS, "hubspot") is None


def test_an_unknown_field_names_the_closest_existing_ones() -> None:
    problem = target_problem("first_name", CONTACTS, "hubspot")
    assert problem == "hubspot contacts has no field 'first_name'; closest: firstname, lastname"


def test_a_name_that_differs_only_in_case_suggests_the_right_case() -> None:
    assert closest_names("City", CONTACTS) == ["city"]


def test_nothing_close_means_no_suggestion() -> None:
    assert target_problem("zzzz", CONTACTS, "hubspot") == "hubspot contacts has no field 'zzzz'"


def test_a_read_only_field_cannot_be_a_target() -> None:
    assert target_problem("createdate", CONTACTS, "hubspot") == (
        "hubspot contacts field 'createdate' is read-only in the CRM"
    )


def test_the_id_property_must_hold_unique_values() -> None:
    assert id_property_problem("external_id", CONTACTS, "hubspot") is None
    problem = id_property_problem("city", CONTACTS, "hubspot")
    assert problem is not None
    assert "does not hold unique values" in problem
    assert "(unique fields: email, external_id)" in problem


def test_required_fields_no_mapping_fills() -> None:
    assert [d.name for d in missing_required(["email"], CONTACTS)] == ["lastname"]
    assert missing_required(["lastname"], CONTACTS) == []


def test_definitions_survive_their_json_form() -> None:
    again = ObjectFields.from_json("contacts", CONTACTS.to_json(), None)
    assert again.fields == CONTACTS.fields


def test_uniqueness_is_not_asked_of_a_crm_that_does_not_describe_it() -> None:
    untyped = ObjectFields.of("contacts", CONTACTS.fields.values(), knows_unique=False)
    assert id_property_problem("city", untyped, "hubspot") is None
