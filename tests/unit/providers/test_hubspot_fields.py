"""HubSpot property definitions read into FieldDefs, and typed values in HubSpot's wire format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from providers.hubspot import PROVIDER
from providers.hubspot.fields import field_def, object_fields
from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldOption, FieldType


def prop(name: str, type: str, field_type: str, **extra: Any) -> dict[str, Any]:
    """A property as ``GET /crm/v3/properties/{objectType}`` answers it (the documented shape)."""
    return {
        "name": name,
        "label": name.title(),
        "type": type,
        "fieldType": field_type,
        "groupName": "contactinformation",
        "options": [],
        "hasUniqueValue": False,
        "modificationMetadata": {
            "archivable": True,
            "readOnlyDefinition": False,
            "readOnlyValue": False,
        },
        **extra,
    }


LIFECYCLE = [
    {"label": "Lead", "value": "lead", "displayOrder": 0, "hidden": False},
    {"label": "Marketing Qualified Lead", "value": "marketingqualifiedlead", "displayOrder": 1},
]


@pytest.mark.parametrize(
    ("hubspot", "kind"),
    [
        (prop("firstname", "string", "text"), FieldType.TEXT),
        (prop("message", "string", "textarea"), FieldType.TEXT),
        (prop("phone", "phone_number", "phonenumber"), FieldType.STRING),
        (prop("amount", "number", "number"), FieldType.NUMBER),
        (prop("is_public", "bool", "booleancheckbox"), FieldType.BOOLEAN),
        (prop("founded", "date", "date"), FieldType.DATE),
        (prop("closedate", "datetime", "date"), FieldType.DATETIME),
        (prop("closedate", "dateTime", "date"), FieldType.DATETIME),
        (prop("lifecyclestage", "enumeration", "radio", options=LIFECYCLE), FieldType.ENUMERATION),
        (prop("tier", "enumeration", "select", options=LIFECYCLE), FieldType.ENUMERATION),
        (prop("roles", "enumeration", "checkbox", options=LIFECYCLE), FieldType.MULTI_ENUMERATION),
        (
            prop("hubspot_owner_id", "enumeration", "select", referencedObjectType="OWNER"),
            FieldType.REFERENCE,
        ),
        (prop("where", "object_coordinates", "text"), FieldType.OTHER),
    ],
)
def test_hubspot_types_map_to_field_types_keeping_hubspots_own(
    hubspot: dict[str, Any], kind: FieldType
) -> None:
    fd = field_def("contacts", hubspot)
    assert fd.type is kind
    assert fd.crm_type == f"{hubspot['type']}/{hubspot['fieldType']}"
    assert fd.label == hubspot["label"]


def test_options_keep_the_value_the_api_takes_and_the_label_users_see() -> None:
    fd = field_def("contacts", prop("lifecyclestage", "enumeration", "radio", options=LIFECYCLE))
    assert fd.options == (
        FieldOption("lead", "Lead"),
        FieldOption("marketingqualifiedlead", "Marketing Qualified Lead"),
    )


def test_read_only_calculated_unique_custom_and_length() -> None:
    read_only = prop("createdate", "datetime", "date")
    read_only["modificationMetadata"]["readOnlyValue"] = True
    calculated = prop("hs_is_closed", "bool", "calculation_equation", calculated=True)
    unique = prop("customer_ref", "string", "text", hasUniqueValue=True)
    standard = prop("firstname", "string", "text", hubspotDefined=True)
    fields = object_fields("contacts", [read_only, calculated, unique, standard])
    for name in ("createdate", "hs_is_closed"):
        assert not fields.fields[name].createable and not fields.fields[name].updateable
    assert fields.fields["customer_ref"].unique and fields.fields["customer_ref"].custom
    assert not fields.fields["firstname"].custom and not fields.fields["firstname"].unique
    assert fields.fields["firstname"].max_length == 65_536
    assert fields.knows_unique
    assert not any(d.required for d in fields.fields.values())  # HubSpot has no such flag


def test_contacts_email_identifies_records_though_hubspot_says_it_is_not_unique() -> None:
    email = prop("email", "string", "text", hubspotDefined=True)
    assert object_fields("contacts", [email]).fields["email"].unique
    assert object_fields("0-1", [email]).fields["email"].unique
    assert not object_fields("companies", [prop("email", "string", "text")]).fields["email"].unique


def test_archived_and_malformed_entries_are_left_out() -> None:
    fields = object_fields(
        "deals", [prop("old", "string", "text", archived=True), {"label": "no name"}, "x"]
    )
    assert fields.fields == {}


def fd(kind: FieldType, name: str = "p", options: tuple[FieldOption, ...] = ()) -> FieldDef:
    return FieldDef(name, kind, "test", options=options)


TIERS = (FieldOption("tier_1", "Tier 1"), FieldOption("tier_2", "Tier 2"))


@pytest.mark.parametrize(
    ("definition", "value", "wire"),
    [
        (fd(FieldType.TEXT), "Zoë → ✓", "Zoë → ✓"),
        (fd(FieldType.NUMBER), Decimal("12345.60"), "12345.60"),
        (fd(FieldType.NUMBER), 1.5, "1.5"),
        (fd(FieldType.NUMBER), "1e3", "1000"),
        (fd(FieldType.INTEGER), 42, "42"),
        (fd(FieldType.BOOLEAN), True, "true"),
        (fd(FieldType.BOOLEAN), "false", "false"),
        (fd(FieldType.DATE), "1950-01-02", "1950-01-02"),
        (fd(FieldType.DATE), "2026-03-01T00:00:00Z", "2026-03-01"),
        (fd(FieldType.DATETIME), "2026-03-01T10:15:30.5+02:00", "2026-03-01T08:15:30.500Z"),
        (fd(FieldType.DATETIME), "2026-03-01", "2026-03-01T00:00:00.000Z"),
        (fd(FieldType.ENUMERATION, options=TIERS), "Tier 2", "tier_2"),
        (fd(FieldType.ENUMERATION, options=TIERS), "tier_1", "tier_1"),
        (fd(FieldType.MULTI_ENUMERATION, options=TIERS), ["Tier 1", "tier_2"], "tier_1;tier_2"),
        (fd(FieldType.MULTI_ENUMERATION, options=TIERS), "tier_2;Tier 1", "tier_2;tier_1"),
        (fd(FieldType.REFERENCE), 1234, "1234"),
    ],
)
def test_typed_values_become_hubspot_strings(definition: FieldDef, value: Any, wire: str) -> None:
    assert PROVIDER.transformer.encode(definition, convert(definition, value)) == wire


@pytest.mark.parametrize("kind", list(FieldType))
def test_a_null_clears_every_kind_of_property_with_an_empty_string(kind: FieldType) -> None:
    assert PROVIDER.transformer.clear_value(fd(kind)) == ""


@pytest.mark.parametrize(
    ("definition", "value", "reason"),
    [
        (fd(FieldType.ENUMERATION, options=TIERS), "gold", "not one of the field's options"),
        (fd(FieldType.DATE), "2026-03-01T10:00:00Z", "not midnight"),
        (fd(FieldType.DATETIME), "2026-03-01T10:00:00", "no time zone"),
        (fd(FieldType.NUMBER), "ten", "not a number"),
        (FieldDef("notes", FieldType.TEXT, "string/textarea", max_length=5), "123456", "at most 5"),
    ],
)
def test_values_hubspot_would_refuse_are_refused_before_encoding(
    definition: FieldDef, value: Any, reason: str
) -> None:
    with pytest.raises(FieldValueError) as caught:
        convert(definition, value)
    assert reason in str(caught.value).replace(
        "a time of day; the field holds a date", "not midnight"
    )


def test_encoded_dates_are_what_hubspot_keeps_at_midnight_utc() -> None:
    definition = fd(FieldType.DATE)
    assert PROVIDER.transformer.encode(definition, dt.date(2026, 12, 24)) == "2026-12-24"
