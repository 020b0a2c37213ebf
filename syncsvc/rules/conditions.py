"""Declarative rule conditions, compiled to closures (no eval).

Grammar::

    {field: NAME, op: OP, value: V}      OP in COMPARISONS
    {all: [COND, ...]} | {any: [COND, ...]} | {not: COND}
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from syncsvc.errors import ConfigError
from syncsvc.saferegex import compile_config_pattern

Predicate = Callable[[Mapping[str, Any]], bool]

MAX_DEPTH = 8
_SCALAR = (str, int, float, bool)


def _ordered(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        try:
            return fn(a, b)
        except TypeError:
            return False

    return compare


def _text(fn: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: isinstance(a, str) and fn(a, str(b))


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "in": lambda a, b: isinstance(a, _SCALAR) and a in b,
    "not_in": lambda a, b: not (isinstance(a, _SCALAR) and a in b),
    "contains": _text(lambda a, b: b in a),
    "starts_with": _text(str.startswith),
    "ends_with": _text(str.endswith),
    "is_null": lambda a, _: a is None,
    "not_null": lambda a, _: a is not None,
}
_NO_VALUE = {"is_null", "not_null"}
_LIST_VALUE = {"in", "not_in"}


def compile_condition(spec: Any, path: str = "when", depth: int = 0) -> Predicate:
    """Compile ``spec``; errors name ``path`` (e.g. ``connections[0].rules[1].when.any[2]``)."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{path}: conditions nest deeper than {MAX_DEPTH} levels")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: a condition must be a mapping, got {type(spec).__name__}")
    keys = set(spec)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise ConfigError(
                    f"{path}: '{combinator}' cannot be combined with {keys - {combinator}}"
                )
            items = spec[combinator]
            if not isinstance(items, list) or not items:
                raise ConfigError(f"{path}.{combinator}: must be a non-empty list")
            parts = [
                compile_condition(item, f"{path}.{combinator}[{i}]", depth + 1)
                for i, item in enumerate(items)
            ]
            if combinator == "all":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
    if "not" in keys:
        if keys != {"not"}:
            raise ConfigError(f"{path}: 'not' cannot be combined with {keys - {'not'}}")
        inner = compile_condition(spec["not"], f"{path}.not", depth + 1)
        return lambda row: not inner(row)
    return _compile_comparison(spec, path)


def _compile_comparison(spec: Mapping[str, Any], path: str) -> Predicate:
    unknown = set(spec) - {"field", "op", "value"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}")
    field = spec.get("field")
    if not isinstance(field, str) or not field:
        raise ConfigError(f"{path}.field: must name a source field")
    op = spec.get("op", "eq")
    if op == "matches":
        regex = compile_config_pattern(spec.get("value"), f"{path}.value ('matches')")
        return lambda row: isinstance(row.get(field), str) and regex.search(row[field])
    if op not in COMPARISONS:
        known = ", ".join([*COMPARISONS, "matches"])
        raise ConfigError(f"{path}.op: unknown operator {op!r} (known: {known})")
    if op in _NO_VALUE:
        if "value" in spec:
            raise ConfigError(f"{path}.value: '{op}' takes no value")
    elif "value" not in spec:
        raise ConfigError(f"{path}.value: '{op}' needs a value")
    value = spec.get("value")
    if op in _LIST_VALUE:
        if not isinstance(value, list):
            raise ConfigError(f"{path}.value: '{op}' needs a list")
        value = frozenset(v for v in value if isinstance(v, _SCALAR))
    compare = COMPARISONS[op]
    return lambda row: compare(row.get(field), value)
