"""Mapped properties converted by the cached definitions; NULL clears or is skipped."""

from __future__ import annotations

from typing import Any

from providers.base import Transformer
from syncsvc.fields import FieldDef, FieldOption, FieldType, ObjectFields
from syncsvc.fields.typed import typed_properties
from syncsvc.mapping.mapper import compile_mapper

DEALS = ObjectFields.of(
    "deals",
    [
        FieldDef("amount", FieldType.NUMBER, "number"),
        FieldDef("closedate", FieldType.DATE, "date"),
        FieldDef(
            "dealstage",
            FieldType.ENUMERATION,
            "enumeration",
            options=(FieldOption("won", "Closed won"), FieldOption("lost", "Closed lost")),
        ),
    ],
)


class EmptyStringClears(Transformer):
    def clear_value(self, field: FieldDef) -> Any:
        return ""


def test_values_are_converted_and_unknown_properties_pass() -> None:
    props, issues = typed_properties(
        {"amount": "12.50", "closedate": "2026-12-03", "dealstage": "Closed won", "x": 1},
        DEALS,
        Transformer(),
    )
    assert issues == []
    assert props == {"amount": 12.5, "closedate": "2026-12-03", "dealstage": "won", "x": 1}


def test_every_bad_value_is_named_with_the_crm_type() -> None:
    _, issues = typed_properties({"amount": "lots", "dealstage": "open"}, DEALS, Transformer())
    assert [(i.field, i.reason.split(":")[0]) for i in issues] == [
        ("amount", "number field"),
        ("dealstage", "enumeration field"),
    ]
    assert "won (Closed won), lost (Closed lost)" in issues[1].reason


def test_null_becomes_the_crms_clear_value() -> None:
    props, _ = typed_properties({"amount": None}, DEALS, EmptyStringClears())
    assert props == {"amount": ""}


def test_without_definitions_nothing_is_checked() -> None:
    props, issues = typed_properties({"amount": "lots"}, None, Transformer())
    assert (props, issues) == ({"amount": "lots"}, [])


def test_on_null_skip_leaves_the_field_out() -> None:
    mapper = compile_mapper(
        [
            {"source": "a", "target": "amount", "on_null": "skip"},
            {"source": "c", "target": "closedate"},
        ],
        "m",
    )
    props, issues = mapper.apply({"a": None, "c": None})
    assert issues == [] and props == {"closedate": None}
