"""Patterns from configuration run in linear time on row data (issue 12, item 6).

A catastrophic pattern on a long input must return. Python's ``re`` would not within any
reasonable deadline (25 characters took 0.56 s and each one more doubles it) and holds the GIL
while it matches, so the check runs in a child process that is killed at the deadline: the
assertion is that it returned, not how fast.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from syncsvc.errors import ConfigError
from syncsvc.rules.conditions import compile_condition
from syncsvc.settings import REPO_ROOT
from syncsvc.validation.fieldspec import compile_spec

CATASTROPHIC = r"^([a-z0-9]+)+@example\.com$"
DEADLINE = 60  # seconds: generous on a busy machine, hours short of the backtracking engine


def returns_in_a_child(code: str) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"matching did not return within {DEADLINE} s: the engine backtracks")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_matches_condition_with_a_catastrophic_pattern_returns_on_long_input() -> None:
    out = returns_in_a_child(
        f"""
        from syncsvc.rules.conditions import compile_condition
        when = compile_condition({{"field": "email", "op": "matches", "value": {CATASTROPHIC!r}}})
        print(when({{"email": "a" * 50_000 + "!"}}), when({{"email": "ab1@example.com"}}))
        """
    )
    assert out == "False True"


def test_a_field_spec_pattern_that_is_catastrophic_returns_on_long_input() -> None:
    out = returns_in_a_child(
        f"""
        from syncsvc.validation.fieldspec import compile_spec
        spec = compile_spec({{"fields": {{"email": {{"type": "string", "pattern": {CATASTROPHIC!r}}}}}}})
        print(len(spec.check({{"email": "a" * 50_000 + "!"}})), len(spec.check({{"email": "x@example.com"}})))
        """
    )
    assert out == "1 0"


@pytest.mark.parametrize(
    "pattern",
    [r"(a)\1", r"^(?=.*\d).+$", r"(?<!x)y", r"(?!a)b", "a" * 201, "("],
)
def test_patterns_beyond_re2_are_refused_at_load_with_a_clear_error(pattern: str) -> None:
    with pytest.raises(ConfigError, match=r"when\.value.*regex"):
        compile_condition({"field": "f", "op": "matches", "value": pattern})
    with pytest.raises(ConfigError, match=r"field 'f' pattern.*regex"):
        compile_spec({"fields": {"f": {"type": "string", "pattern": pattern}}})


def test_the_refusal_names_what_re2_lacks() -> None:
    with pytest.raises(ConfigError, match="no backreferences, lookahead or lookbehind"):
        compile_condition({"field": "f", "op": "matches", "value": r"(a)\1"})


def test_patterns_keep_their_meaning() -> None:
    when = compile_condition({"field": "f", "op": "matches", "value": "b+c"})
    assert when({"f": "abbc"})  # search: anywhere
    assert not when({"f": "ac"})
    assert not when({"f": 3})
    assert when({"f": "x\ud800bbc"})  # a lone surrogate (JSON allows one) does not raise
    spec = compile_spec({"fields": {"f": {"type": "string", "pattern": "[a-z]+"}}})
    assert spec.check({"f": "abc1"}) == []  # match: from the start, as re.match
    assert [i.field for i in spec.check({"f": "1abc"})] == ["f"]
