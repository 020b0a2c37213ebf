from __future__ import annotations

import pytest

from syncsvc.errors import ConfigError
from syncsvc.rules.conditions import compile_condition


@pytest.mark.parametrize(
    ("spec", "row", "expected"),
    [
        ({"field": "stage", "op": "eq", "value": "lead"}, {"stage": "lead"}, True),
        ({"field": "stage", "op": "eq", "value": "lead"}, {"stage": "customer"}, False),
        ({"field": "stage", "op": "ne", "value": "lead"}, {}, True),
        ({"field": "n", "op": "gt", "value": 3}, {"n": 4}, True),
        ({"field": "n", "op": "gt", "value": 3}, {"n": None}, False),
        ({"field": "n", "op": "gte", "value": 3}, {"n": "x"}, False),
        ({"field": "n", "op": "lt", "value": 3}, {"n": 2.5}, True),
        ({"field": "s", "op": "in", "value": ["a", "b"]}, {"s": "b"}, True),
        ({"field": "s", "op": "in", "value": ["a", "b"]}, {"s": ["a"]}, False),
        ({"field": "s", "op": "not_in", "value": ["a"]}, {"s": "z"}, True),
        ({"field": "e", "op": "ends_with", "value": "@x.com"}, {"e": "a@x.com"}, True),
        ({"field": "e", "op": "contains", "value": "@"}, {"e": 5}, False),
        ({"field": "e", "op": "is_null"}, {"e": None}, True),
        ({"field": "e", "op": "not_null"}, {"e": ""}, True),
        ({"field": "e", "op": "matches", "value": "^a+$"}, {"e": "aaa"}, True),
        (
            {
                "all": [
                    {"field": "a", "op": "eq", "value": 1},
                    {"field": "b", "op": "eq", "value": 2},
                ]
            },
            {"a": 1, "b": 2},
            True,
        ),
        (
            {
                "all": [
                    {"field": "a", "op": "eq", "value": 1},
                    {"field": "b", "op": "eq", "value": 2},
                ]
            },
            {"a": 1, "b": 3},
            False,
        ),
        (
            {
                "any": [
                    {"field": "a", "op": "eq", "value": 1},
                    {"field": "b", "op": "eq", "value": 2},
                ]
            },
            {"a": 0, "b": 2},
            True,
        ),
        ({"not": {"field": "a", "op": "eq", "value": 1}}, {"a": 1}, False),
    ],
)
def test_conditions_evaluate(
    spec: dict[str, object], row: dict[str, object], expected: bool
) -> None:
    assert compile_condition(spec)(row) is expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"field": "a", "op": "like", "value": "x"}, "when.op: unknown operator 'like'"),
        ({"field": "a", "op": "eq"}, "when.value: 'eq' needs a value"),
        ({"field": "a", "op": "is_null", "value": 1}, "takes no value"),
        ({"field": "a", "op": "in", "value": "x"}, "needs a list"),
        ({"op": "eq", "value": 1}, "when.field"),
        ({"any": []}, "when.any: must be a non-empty list"),
        (
            {
                "all": [
                    {"field": "a", "op": "eq", "value": 1},
                    {"field": "b", "op": "nope", "value": 1},
                ]
            },
            "when.all[1].op",
        ),
        ({"field": "a", "op": "matches", "value": "("}, "invalid regex"),
        ({"field": "a", "op": "eq", "value": 1, "extra": 2}, "unknown key"),
        ("a == 1", "must be a mapping"),
    ],
)
def test_bad_conditions_are_named(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        compile_condition(spec)


def test_conditions_refuse_deep_nesting() -> None:
    spec: dict[str, object] = {"field": "a", "op": "eq", "value": 1}
    for _ in range(10):
        spec = {"not": spec}
    with pytest.raises(ConfigError, match="deeper"):
        compile_condition(spec)
