from __future__ import annotations

import pytest

from syncsvc.errors import ConfigError
from syncsvc.mapping.mapper import compile_mapper


def test_mappings_apply_sources_templates_and_transforms() -> None:
    mapper = compile_mapper(
        [
            {
                "source": "email",
                "target": "email",
                "transforms": ["strip", "lower"],
                "required": True,
            },
            {"template": "{first} {last}", "target": "full_name", "custom": True},
            {"source": ["first", "last"], "target": "joined", "transforms": [{"concat": "-"}]},
            {"target": "origin", "transforms": [{"constant": "syncsvc"}]},
            {"source": "close", "target": "closedate", "transforms": [{"date": "%d/%m/%Y"}]},
            {"source": "at", "target": "at_ms", "transforms": ["epoch_ms"]},
            {
                "source": "stage",
                "target": "stage",
                "transforms": [{"map": {"1": "lead", "2": "customer"}}],
            },
            {"source": "missing", "target": "fallback", "transforms": [{"default": "n/a"}]},
            {"source": "id", "target": "key", "transforms": ["to_string"]},
        ],
        "mappings",
    )
    props, issues = mapper.apply(
        {
            "email": "  A@B.COM ",
            "first": "Ada",
            "last": None,
            "close": "2026-01-31",
            "at": "1970-01-01T00:00:01+00:00",
            "stage": 2,
            "id": 7,
        }
    )
    assert issues == []
    assert props == {
        "email": "a@b.com",
        "full_name": "Ada",
        "joined": "Ada",
        "origin": "syncsvc",
        "closedate": "31/01/2026",
        "at_ms": 1000,
        "stage": "customer",
        "fallback": "n/a",
        "key": "7",
    }


def test_missing_required_values_and_bad_values_are_reported_per_field() -> None:
    mapper = compile_mapper(
        [
            {"source": "email", "target": "email", "required": True},
            {"source": "when", "target": "when", "transforms": [{"date": "%Y"}]},
            {"source": "n", "target": "n", "transforms": ["to_number"]},
        ],
        "m",
    )
    _, issues = mapper.apply({"email": "", "when": "yesterday", "n": "12a"})
    assert [i.field for i in issues] == ["email", "when", "n"]
    assert "required" in issues[0].reason
    assert "not an ISO date" in issues[1].reason


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([{"source": "a"}], r"m\[0\].target"),
        (
            [{"source": "a", "target": "x", "transforms": ["shout"]}],
            r"m\[0\].transforms\[0\]: unknown transform 'shout'",
        ),
        ([{"source": "a", "target": "x", "transforms": ["date"]}], "needs a parameter"),
        ([{"source": "a", "target": "x", "bogus": 1}], "unknown key"),
        ([{"template": "{a.__class__}", "target": "x"}], "plain field name"),
        ([{"source": "a", "target": "x"}, {"source": "b", "target": "x"}], "mapped twice"),
        ([{"target": "x"}], "needs a 'source'"),
    ],
)
def test_bad_mappings_are_named(specs: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compile_mapper(specs, "m")
