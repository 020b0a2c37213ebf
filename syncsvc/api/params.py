"""Query strings: only the parameters an operation documents, each at most once."""

from __future__ import annotations

import re

import falcon

from syncsvc.api.errors import Problem, bad_request

_INT = re.compile(r"^[0-9]{1,9}$")


def query(req: falcon.Request, allowed: set[str]) -> dict[str, str]:
    """The query parameters as single strings; empty values count as absent."""
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for name, value in req.params.items():
        if name not in allowed:
            problems.append(Problem(name, "unknown query parameter"))
        elif isinstance(value, list):
            problems.append(Problem(name, "given more than once"))
        elif value != "":
            out[name] = value
    if problems:
        raise bad_request(problems)
    return out


def bounded_int(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _INT.match(raw) or not low <= int(raw) <= high:
        raise bad_request([Problem(name, f"must be an integer from {low} to {high}")])
    return int(raw)
