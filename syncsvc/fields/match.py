"""Mapped field names checked against what the CRM says it has and lets you write."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from syncsvc.fields.model import FieldDef, ObjectFields

MAX_SUGGESTIONS = 3


def closest_names(name: str, fields: ObjectFields) -> list[str]:
    """Up to three existing names near ``name`` (case-insensitive first, then by spelling)."""
    exact_case = fields.by_lower.get(name.lower())
    if exact_case is not None and exact_case != name:
        return [exact_case]
    lowered = difflib.get_close_matches(
        name.lower(), list(fields.by_lower), n=MAX_SUGGESTIONS, cutoff=0.6
    )
    return [fields.by_lower[n] for n in lowered]


def _did_you_mean(name: str, fields: ObjectFields) -> str:
    near = closest_names(name, fields)
    return f"; closest: {', '.join(near)}" if near else ""


def target_problem(name: str, fields: ObjectFields, provider: str) -> str | None:
    """Why ``name`` cannot be a mapping's target, or None when it can."""
    found = fields.get(name)
    if found is None:
        return f"{provider} {fields.object} has no field {name!r}{_did_you_mean(name, fields)}"
    if not found.writable:
        return f"{provider} {fields.object} field {name!r} is read-only in the CRM"
    return None


def id_property_problem(name: str, fields: ObjectFields, provider: str) -> str | None:
    """Why ``name`` cannot be the unique id property of an upsert, or None when it can."""
    problem = target_problem(name, fields, provider)
    if problem is not None:
        return problem
    found = fields.fields[name]
    if fields.knows_unique and not found.unique:
        uniques = sorted(d.name for d in fields.fields.values() if d.unique and d.writable)
        hint = f" (unique fields: {', '.join(uniques)})" if uniques else ""
        return (
            f"{provider} {fields.object} field {name!r} does not hold unique values, "
            f"so it cannot identify records for an upsert{hint}"
        )
    return None


def missing_required(mapped: Iterable[str], fields: ObjectFields) -> list[FieldDef]:
    """Fields the CRM requires on create that no mapping fills."""
    have = set(mapped)
    return [d for d in fields.fields.values() if d.required and d.createable and d.name not in have]
