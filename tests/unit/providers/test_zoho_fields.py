"""Zoho's field metadata (``GET /crm/v8/settings/fields``) read into syncsvc's definitions."""

from __future__ import annotations

from typing import Any

from providers.zoho.fields import field_def, object_fields
from syncsvc.fields.model import FieldOption, FieldType


def meta(api_name: str, data_type: str, **extra: Any) -> dict[str, Any]:
    """One entry shaped like Zoho's v8 answer (only the keys the client reads vary)."""
    entry: dict[str, Any] = {
        "api_name": api_name,
        "field_label": api_name.replace("_", " "),
        "display_label": api_name.replace("_", " "),
        "data_type": data_type,
        "json_type": "string",
        "length": 255,
        "system_mandatory": False,
        "custom_field": False,
        "read_only": False,
        "field_read_only": False,
        "operation_type": {
            "web_update": True,
            "api_create": True,
            "web_create": True,
            "api_update": True,
        },
        "unique": {},
        "pick_list_values": [],
    }
    entry.update(extra)
    return entry


def test_types_map_to_syncsvc_kinds_and_keep_zohos_name() -> None:
    kinds = {
        "text": FieldType.STRING, "email": FieldType.STRING, "phone": FieldType.STRING,
        "website": FieldType.STRING, "textarea": FieldType.TEXT, "integer": FieldType.INTEGER,
        "bigint": FieldType.INTEGER, "currency": FieldType.NUMBER, "double": FieldType.NUMBER,
        "boolean": FieldType.BOOLEAN, "date": FieldType.DATE, "datetime": FieldType.DATETIME,
        "picklist": FieldType.ENUMERATION, "multiselectpicklist": FieldType.MULTI_ENUMERATION,
        "lookup": FieldType.REFERENCE, "ownerlookup": FieldType.REFERENCE,
        "subform": FieldType.OTHER, "fileupload": FieldType.OTHER,
    }  # fmt: skip
    for data_type, kind in kinds.items():
        fd = field_def(meta("F", data_type))
        assert fd is not None and (fd.type, fd.crm_type) == (kind, data_type), data_type


def test_labels_required_custom_unique_and_lengths() -> None:
    fd = field_def(meta("Last_Name", "text", length=80, system_mandatory=True,
                        display_label="Last Name"))  # fmt: skip
    assert fd is not None
    assert (fd.label, fd.required, fd.max_length, fd.unique, fd.custom) == (
        "Last Name", True, 80, False, False,
    )  # fmt: skip
    key = field_def(
        meta("Customer_Key", "text", custom_field=True, unique={"case_sensitive": False})
    )
    assert key is not None and key.unique and key.custom
    number = field_def(meta("Employees", "integer", length=9))
    assert number is not None and number.max_length is None, "a number's length is digits"


def test_read_only_and_computed_fields_are_not_writable() -> None:
    by_operation = field_def(meta("X", "text", operation_type={"api_create": False,
                                                               "api_update": True}))  # fmt: skip
    assert by_operation is not None
    assert (by_operation.createable, by_operation.updateable) == (False, True)
    for entry in (
        meta("Full_Name", "text", read_only=True),
        meta("Score", "formula"),
        meta("Number", "autonumber"),
        meta("Old", "text", field_read_only=True, operation_type=None),
    ):
        fd = field_def(entry)
        assert fd is not None and not fd.writable, entry["api_name"]
    owner = field_def(meta("Owner", "ownerlookup", field_read_only=True))
    assert owner is not None and owner.writable, "the API may set the owner (operation_type)"


def test_picklist_options_are_display_values_without_none_or_unused() -> None:
    values = [
        {"display_value": "-None-", "actual_value": "-None-", "sequence_number": 1},
        {"display_value": "Cold Call", "actual_value": "Cold Call", "sequence_number": 2},
        {"display_value": "Partner", "actual_value": "partner_ref", "sequence_number": 3},
        {"display_value": "Old", "actual_value": "Old", "type": "unused", "sequence_number": 4},
    ]
    fd = field_def(meta("Lead_Source", "picklist", pick_list_values=values))
    assert fd is not None
    assert fd.options == (FieldOption("Cold Call", "Cold Call"), FieldOption("Partner", "Partner"))


def test_an_answer_becomes_object_fields_that_know_unique() -> None:
    answer = {"fields": [meta("Email", "email"), {"field_label": "no api name"}, "junk"]}
    fields = object_fields("Contacts", answer)
    assert list(fields.fields) == ["Email"] and fields.knows_unique
    assert object_fields("Contacts", {}).fields == {}
