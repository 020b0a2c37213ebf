"""Pipedrive's field lists read into definitions, and canonical values in v2's wire format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from providers.pipedrive import PROVIDER
from providers.pipedrive.metadata import field_defs
from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, FieldType
from syncsvc.fields.typed import typed_properties

KEY = "a" * 40
TIER = "b" * 40
TWIN_1, TWIN_2 = "c" * 40, "d" * 40
DUE = "e" * 40
RAW: list[dict[str, Any]] = [
    {"id": 1, "key": "id", "name": "ID", "field_type": "int", "mandatory_flag": True},
    {"id": 2, "key": "name", "name": "Name", "field_type": "varchar", "edit_flag": False},
    {"id": 3, "key": "email", "name": "Email", "field_type": "varchar"},
    {"id": 4, "key": "phone", "name": "Phone", "field_type": "phone"},
    {"id": 5, "key": "user_id", "name": "Owner", "field_type": "user"},
    {
        "id": 6,
        "key": "label_ids",
        "name": "Labels",
        "field_type": "set",
        "options": [{"id": 1, "label": "Customer"}, {"id": 2, "label": "Hot lead"}],
    },
    {"id": 7, "key": "open_deals_count", "name": "Open deals", "field_type": "int"},
    {"id": 8, "key": "add_time", "name": "Person created", "field_type": "date"},
    {
        "id": 9,
        "key": "visible_to",
        "name": "Visible to",
        "field_type": "visible_to",
        "options": [{"id": 1, "label": "Item owner"}, {"id": 7, "label": "All users"}],
    },
    {"id": 100, "key": KEY, "name": "Customer key", "field_type": "varchar", "edit_flag": True},
    {
        "id": 101,
        "key": TIER,
        "name": "Tier",
        "field_type": "enum",
        "options": [{"id": 31, "label": "Gold"}, {"id": 32, "label": "Silver"}],
    },
    {"id": 102, "key": TWIN_1, "name": "Region", "field_type": "varchar"},
    {"id": 103, "key": TWIN_2, "name": "region", "field_type": "text"},
    {"id": 104, "key": DUE, "name": "Due", "field_type": "date"},
    {"id": 105, "key": "f" * 40, "name": "Budget", "field_type": "monetary"},
    {"id": None, "key": "f" * 40 + "_currency", "name": "Currency of Budget", "is_subfield": True},
    {"id": 106, "key": "9" * 40, "name": "Gone", "field_type": "varchar", "active_flag": False},
]


def defs() -> dict[str, FieldDef]:
    return dict(field_defs("persons", RAW).fields)


def test_standard_fields_go_by_their_v2_names_and_types() -> None:
    fields = defs()
    assert fields["emails"].type is FieldType.STRING and fields["emails"].crm_type == "varchar"
    assert fields["emails"].max_length == 255 and fields["emails"].label == "Email"
    assert fields["phones"].type is FieldType.STRING
    assert fields["owner_id"].type is FieldType.REFERENCE
    assert fields["add_time"].type is FieldType.DATETIME  # a "date" that holds a timestamp
    assert fields["label_ids"].type is FieldType.MULTI_ENUMERATION
    assert [(o.value, o.label) for o in fields["label_ids"].options] == [
        ("1", "Customer"),
        ("2", "Hot lead"),
    ]
    assert [o.value for o in fields["visible_to"].options] == ["1", "7"]
    assert not fields["name"].custom and fields["name"].required


def test_read_only_fields_are_marked_and_only_name_is_required() -> None:
    fields = defs()
    for read_only in ("id", "open_deals_count"):
        assert not fields[read_only].writable, read_only
    assert fields["name"].writable and fields["emails"].writable
    assert [d.name for d in fields.values() if d.required] == ["name"]  # not mandatory_flag


def test_custom_fields_go_by_name_with_types_options_and_limits() -> None:
    fields = defs()
    key = fields["Customer key"]
    assert (key.type, key.crm_type, key.custom, key.unique) == (
        FieldType.STRING,
        "varchar",
        True,
        True,
    )
    tier = fields["Tier"]
    assert tier.type is FieldType.ENUMERATION and not tier.unique
    assert [(o.value, o.label) for o in tier.options] == [("31", "Gold"), ("32", "Silver")]
    assert fields["Due"].type is FieldType.DATE
    assert fields["Budget"].type is FieldType.NUMBER and fields["Budget"].unique


def test_names_two_custom_fields_share_go_by_key_and_subfields_and_inactive_are_left_out() -> None:
    fields = defs()
    assert TWIN_1 in fields and TWIN_2 in fields and "Region" not in fields
    assert fields[TWIN_2].type is FieldType.TEXT and fields[TWIN_2].max_length == 65535
    assert not any(n.endswith("_currency") for n in fields)
    assert "Gone" not in fields


def test_unique_means_what_the_search_by_field_can_find() -> None:
    of = field_defs("persons", RAW)
    assert of.knows_unique
    assert {d.name for d in of.fields.values() if d.unique} == {
        "emails",
        "phones",
        "Customer key",
        "Budget",
        TWIN_1,
        TWIN_2,
    }


def encode(name: str, value: Any) -> Any:
    fd = defs()[name]
    return PROVIDER.transformer.encode(fd, convert(fd, value))


def test_encode_per_field_type() -> None:
    assert encode("Tier", "Gold") == 31  # by label
    assert encode("Tier", "32") == 32  # by option id
    assert encode("label_ids", "Hot lead") == [2]
    assert encode("label_ids", ["Customer", "2"]) == [1, 2]
    assert encode("visible_to", 7) == 7
    assert encode("Budget", "1234.50") == 1234.5
    assert encode("Budget", Decimal("10.00")) == 10
    assert type(encode("Budget", 12)) is int
    assert encode("Due", "2026-03-01") == "2026-03-01"
    stamp = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert encode("add_time", stamp.isoformat()) == "2026-03-01T08:00:00.000Z"
    assert encode("owner_id", "42") == 42
    assert encode("Customer key", 1001) == "1001"
    assert encode("emails", "a@x.com") == "a@x.com"


def test_values_the_field_cannot_hold_are_refused_before_any_call() -> None:
    with pytest.raises(FieldValueError, match="not one of the field's options"):
        encode("Tier", "Platinum")
    with pytest.raises(FieldValueError, match="at most 255 fit"):
        encode("Customer key", "k" * 256)
    with pytest.raises(FieldValueError, match="more digits than the field's double holds"):
        encode("Budget", "12345678901234567.891")
    with pytest.raises(FieldValueError, match="not a date"):
        encode("Due", "01/03/2026")


def test_null_clears_with_null_and_typed_properties_name_the_field() -> None:
    of = field_defs("persons", RAW)
    out, issues = typed_properties(
        {"Tier": None, "label_ids": None, "Customer key": "k1", "Due": "soon"},
        of,
        PROVIDER.transformer,
    )
    assert out == {"Tier": None, "label_ids": None, "Customer key": "k1"}
    assert [(i.field, i.reason.split(":")[0]) for i in issues] == [("Due", "date field")]
