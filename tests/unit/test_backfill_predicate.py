"""``--where`` text checks: one balanced expression, nothing that could leave its parentheses."""

from __future__ import annotations

import pytest

from syncsvc.backfill.predicate import MAX_LENGTH, as_sql, scan
from syncsvc.errors import ConfigError


@pytest.mark.parametrize(
    "text",
    [
        "t.region = 'eu'",
        "t.email LIKE '%@example.com' AND (t.id > 5 OR t.id < 2)",
        "t.name = 'it''s (not) a paren; -- nor a comment'",
        '"Weird Col" IS NOT NULL',
        "t.id IN (SELECT id FROM demo.contacts WHERE lifecycle_stage = 'lead')",
    ],
)
def test_single_expressions_pass(text: str) -> None:
    assert scan(f"  {text} ") == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("true; DROP TABLE x", "';'"),
        ("true) OR (true", "')' without its '('"),
        ("(true", "'(' without its ')'"),
        ("true -- and the rest", "comments"),
        ("true /* x */", "comments"),
        ("E'\\'' ) OR (true", "backslashes"),
        ("$$x$$ = 'x'", "'$'"),
        ("t.id = $1", "'$'"),
        ("t.name = 'open", "unclosed '"),
        ('"open = 1', 'unclosed "'),
        ("x" * (MAX_LENGTH + 1), "characters long"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        scan(text)
    assert problem in str(info.value)


def test_percent_signs_survive_a_query_run_with_parameters() -> None:
    assert "%%@example.com" in repr(as_sql("t.email LIKE '%@example.com'"))
