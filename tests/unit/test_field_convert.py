"""Values checked and converted by CRM field type: what converts without loss, what is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncsvc.fields import FieldDef, FieldOption, FieldType, FieldValueError, convert


def field(kind: FieldType, **kw: Any) -> FieldDef:
    return FieldDef(name="f", type=kind, crm_type=str(kind), **kw)


STAGES = field(
    FieldType.ENUMERATION,
    options=(FieldOption("lead", "Lead"), FieldOption("customer", "Customer")),
)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (FieldType.STRING, "Zoë 東京", "Zoë 東京"),
        (FieldType.STRING, 42, "42"),
        (FieldType.TEXT, "two\nlines", "two\nlines"),
        (FieldType.NUMBER, 12.5, Decimal("12.5")),
        (FieldType.NUMBER, "1234567890123.45", Decimal("1234567890123.45")),
        (FieldType.NUMBER, 0.1, Decimal("0.1")),
        (FieldType.INTEGER, 7.0, 7),
        (FieldType.INTEGER, "12", 12),
        (FieldType.BOOLEAN, "TRUE", True),
        (FieldType.BOOLEAN, 0, False),
        (FieldType.DATE, "2026-12-03", date(2026, 12, 3)),
        (FieldType.DATE, "2026-12-03T00:00:00+00:00", date(2026, 12, 3)),
        (FieldType.DATE, "2026-12-03T01:00:00+01:00", date(2026, 12, 3)),
        (
            FieldType.DATETIME,
            "2026-12-03T10:15:00.5+02:00",
            datetime(2026, 12, 3, 8, 15, 0, 500000, UTC),
        ),
        (FieldType.DATETIME, "2026-12-03T10:15:00Z", datetime(2026, 12, 3, 10, 15, tzinfo=UTC)),
        (FieldType.DATETIME, "2026-12-03", datetime(2026, 12, 3, tzinfo=UTC)),
        (FieldType.REFERENCE, 123, "123"),
    ],
)
def test_values_that_convert_without_loss(kind: FieldType, value: Any, expected: Any) -> None:
    assert convert(field(kind), value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (FieldType.STRING, "a\nb", "line break"),
        (FieldType.NUMBER, "12abc", "is not a number"),
        (FieldType.NUMBER, True, "boolean"),
        (FieldType.NUMBER, "NaN", "finite"),
        (FieldType.INTEGER, 7.5, "whole number"),
        (FieldType.BOOLEAN, "yes", "true or false"),
        (FieldType.BOOLEAN, 2, "true or false"),
        (FieldType.DATE, "2026-12-03T10:00:00+00:00", "time of day"),
        (FieldType.DATE, "03/12/2026", "YYYY-MM-DD"),
        (FieldType.DATETIME, "2026-12-03T10:00:00", "no time zone"),
        (FieldType.DATETIME, {"a": 1}, "ISO 8601"),
        (FieldType.REFERENCE, 1.5, "record id"),
    ],
)
def test_values_that_would_lose_something_are_refused(
    kind: FieldType, value: Any, problem: str
) -> None:
    with pytest.raises(FieldValueError, match=problem):
        convert(field(kind), value)


def test_text_longer_than_the_field_is_refused_with_both_lengths() -> None:
    with pytest.raises(FieldValueError, match="is 11 characters long; at most 10 fit"):
        convert(field(FieldType.STRING, max_length=10), "x" * 11)
    assert convert(field(FieldType.STRING, max_length=10), "x" * 10) == "x" * 10


def test_an_option_is_taken_by_value_or_label_and_sent_as_its_value() -> None:
    assert convert(STAGES, "lead") == "lead"
    assert convert(STAGES, "Customer") == "customer"


def test_a_value_outside_the_picklist_names_the_allowed_values() -> None:
    with pytest.raises(FieldValueError) as caught:
        convert(STAGES, "prospect")
    assert "'prospect' is not one of the field's options: lead (Lead), customer (Customer)" in str(
        caught.value
    )


def test_multi_select_takes_a_list_or_semicolons_and_drops_repeats() -> None:
    multi = field(
        FieldType.MULTI_ENUMERATION,
        options=(FieldOption("a", "Alpha"), FieldOption("b", "Beta")),
    )
    assert convert(multi, ["a", "Beta", "a"]) == ("a", "b")
    assert convert(multi, "a; b") == ("a", "b")
    with pytest.raises(FieldValueError, match="'c' is not one of"):
        convert(multi, ["a", "c"])


def test_long_option_lists_are_cut_in_the_message() -> None:
    many = field(
        FieldType.ENUMERATION, options=tuple(FieldOption(str(n), str(n)) for n in range(30))
    )
    with pytest.raises(FieldValueError, match="and 10 more"):
        convert(many, "x")


def test_null_stays_null_for_every_type() -> None:
    for kind in FieldType:
        assert convert(field(kind), None) is None
