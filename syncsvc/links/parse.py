"""Read a connection's ``associations:`` section (``syncsvc.links.model``); every error names
its path in the file. The child's column is checked against its table's field spec by
``source_problems`` (the field specs live outside the document)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from providers.base import Provider
from syncsvc.config.model import RuleSpec
from syncsvc.errors import ConfigError
from syncsvc.links.model import Association
from syncsvc.validation.registry import internal_spec, internal_spec_path

MAX_ASSOCIATIONS = 50
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_KEYS = {"name", "from", "to", "via", "parent_rule", "type"}

Fail = Callable[[str, str], ConfigError]


def _text(
    spec: Mapping[str, Any], key: str, pattern: re.Pattern[str], path: str, fail: Fail
) -> str:
    value = spec.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "type":
        value = str(value)
    if not isinstance(value, str) or not pattern.match(value):
        raise fail(f"{path}.{key}", f"must be given as a name, got {value!r}")
    return value


def child_rules(rules: Sequence[RuleSpec], child_object: str) -> list[RuleSpec]:
    """The rules that write an association's children (upserts to its ``from`` object)."""
    return [r for r in rules if r.object == child_object and r.action in ("upsert", "create")]


def parse_associations(
    raw: Any, path: str, fail: Fail, provider: Provider, rules: Sequence[RuleSpec]
) -> tuple[Association, ...]:
    """The section at ``path`` (empty when absent), checked against the connection's rules and
    what ``provider`` can link."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise fail(path, "must be a list")
    if len(raw) > MAX_ASSOCIATIONS:
        raise fail(path, f"at most {MAX_ASSOCIATIONS} associations per connection")
    out: list[Association] = []
    objects = provider.defaults.objects
    for i, item in enumerate(raw):
        apath = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            raise fail(apath, f"must be a mapping, got {type(item).__name__}")
        unknown = sorted(str(k) for k in set(item) - _KEYS)
        if unknown:
            raise fail(apath, f"unknown key(s) {unknown} (allowed: {sorted(_KEYS)})")
        name = _text(item, "name", _NAME, apath, fail)
        if any(a.name == name for a in out):
            raise fail(f"{apath}.name", f"duplicate association name {name!r}")
        child, parent = item.get("from"), item.get("to")
        for key, value in (("from", child), ("to", parent)):
            if value not in objects:
                raise fail(
                    f"{apath}.{key}",
                    f"{provider.name} has no object {value!r} (known: {', '.join(objects)})",
                )
        via = _text(item, "via", _COLUMN, apath, fail)
        rule_name = _text(item, "parent_rule", _NAME, apath, fail)
        parent_rule = next((r for r in rules if r.name == rule_name), None)
        if parent_rule is None:
            raise fail(f"{apath}.parent_rule", f"no rule named {rule_name!r}")
        if parent_rule.object != parent or parent_rule.action not in ("upsert", "create"):
            raise fail(
                f"{apath}.parent_rule",
                f"rule {rule_name!r} must upsert {parent!r} (it does {parent_rule.action} "
                f"{parent_rule.object!r})",
            )
        if not child_rules(rules, str(child)):
            raise fail(f"{apath}.from", f"no upsert rule writes {child!r}")
        default = provider.defaults.link_types.get((str(child), str(parent)))
        link_type = _text(item, "type", _TYPE, apath, fail) if "type" in item else default
        if link_type is None:
            known = ", ".join(f"{c} → {p}" for c, p in provider.defaults.link_types) or "none"
            raise fail(
                f"{apath}.type",
                f"{provider.name} has no default link from {child!r} to {parent!r}: give the "
                f"type (default links: {known})",
            )
        problem = provider.client_class.link_type_problem(str(child), str(parent), link_type)
        if problem is not None:
            raise fail(f"{apath}.type", problem)
        out.append(Association(name, str(child), str(parent), via, rule_name, link_type))
    return tuple(out)


def source_problems(
    where: str,
    associations: Sequence[Association],
    rules: Sequence[RuleSpec],
    schema_dirs: tuple[Path, ...],
) -> list[str]:
    """An association whose ``via`` column is missing from a child table's field spec."""
    problems: list[str] = []
    for i, assoc in enumerate(associations):
        for rule in child_rules(rules, assoc.child_object):
            if internal_spec_path(rule.source, schema_dirs) is None:
                continue  # reported with the rule
            if assoc.via not in internal_spec(rule.source, schema_dirs).field_names:
                problems.append(
                    f"{where}.associations[{i}].via: {rule.source} has no field {assoc.via!r}"
                )
    return problems
