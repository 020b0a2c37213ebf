"""``config apply --dry-run``: which rules a config file changes against the stored config, and
those rules compiled as the runtime would compile them, to preview without applying anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from providers.registry import get_provider
from syncsvc.config.model import OP_CODES, ConnectionSpec, RuleSpec
from syncsvc.config.runtime import CompiledRule, RuntimeConnection
from syncsvc.db import Row
from syncsvc.fields.model import ObjectFields
from syncsvc.fields.store import load_fields
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.rules.conditions import compile_condition
from syncsvc.secrets import encrypt_json
from syncsvc.settings import Settings


@dataclass(frozen=True)
class RuleChange:
    connection: str
    rule: str
    what: tuple[str, ...]
    """``new rule``, or the parts that differ: ``source``, ``when``, ``mappings of X``…"""


def _mapping(m: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping as the store keeps it (defaults left out), so both sides compare alike."""
    out: dict[str, Any] = {"target": m["target"]}
    for key in ("source", "template"):
        if m.get(key) is not None:
            out[key] = m[key]
    if m.get("transforms"):
        out["transforms"] = list(m["transforms"])
    if m.get("required"):
        out["required"] = True
    if m.get("custom"):
        out["custom"] = True
    if m.get("on_null", "clear") != "clear":
        out["on_null"] = m["on_null"]
    return out


def _stored(
    db: psycopg.Connection[Row], name: str
) -> tuple[int | None, dict[str, Row], dict[str, list[dict[str, Any]]]]:
    row = db.execute("SELECT id FROM syncsvc.connection WHERE name = %s", (name,)).fetchone()
    if row is None:
        return None, {}, {}
    cid = int(row["id"])
    rules = {
        r["name"]: r
        for r in db.execute("SELECT * FROM syncsvc.sync_rule WHERE connection_id = %s", (cid,))
    }
    mappings: dict[str, list[dict[str, Any]]] = {}
    for m in db.execute(
        "SELECT * FROM syncsvc.field_mapping WHERE connection_id = %s ORDER BY object, position",
        (cid,),
    ):
        spec = {"target": m["target"], **(m["source"] or {}), "transforms": m["transforms"]}
        spec.update(required=m["required"], custom=m["custom"], on_null=m["on_null"])
        mappings.setdefault(m["object"], []).append(_mapping(spec))
    return cid, rules, mappings


def _rule_differences(rule: RuleSpec, stored: Row, mappings_changed: set[str]) -> tuple[str, ...]:
    pairs = {
        "source": (rule.source, stored["source_table"]),
        "operations": (sorted(rule.operations), sorted(stored["operations"])),
        "when": (rule.when, stored["condition"]),
        "action": (rule.action, stored["action"]),
        "object": (rule.object, stored["target_object"]),
        "id_property": (rule.id_property, stored["id_property"]),
        "enabled": (rule.enabled, stored["enabled"]),
    }
    what = [name for name, (new, old) in pairs.items() if new != old]
    if rule.object in mappings_changed:
        what.append(f"mappings of {rule.object}")
    return tuple(what)


def changed_rules(db: psycopg.Connection[Row], spec: ConnectionSpec) -> list[RuleChange]:
    """The rules of ``spec`` that are new or differ from the stored ones (their condition,
    action, target, or their object's mappings); disabled rules are left out."""
    _, stored_rules, stored_mappings = _stored(db, spec.name)
    mappings_changed = {
        obj
        for obj in set(spec.objects) | set(stored_mappings)
        if [_mapping(m) for m in spec.objects.get(obj, [])] != stored_mappings.get(obj, [])
    }
    out: list[RuleChange] = []
    for rule in spec.rules:
        if not rule.enabled:
            continue
        stored = stored_rules.get(rule.name)
        what = (
            ("new rule",) if stored is None else _rule_differences(rule, stored, mappings_changed)
        )
        if what:
            out.append(RuleChange(spec.name, rule.name, what))
    return out


def runtime_connection(
    db: psycopg.Connection[Row],
    settings: Settings,
    spec: ConnectionSpec,
    definitions: Mapping[str, ObjectFields] | None,
) -> RuntimeConnection:
    """``spec`` compiled as ``load_runtime_config`` would compile it once applied: its enabled
    rules, its mappings, and the CRM's field definitions (just read, else the cached ones)."""
    cid, _, _ = _stored(db, spec.name)
    rules = tuple(
        CompiledRule(
            id=i,
            name=r.name,
            source_table=r.source,
            op_codes=frozenset(OP_CODES[o] for o in r.operations),
            predicate=compile_condition(r.when) if r.when else None,
            action=r.action,
            object=r.object,
            id_property=r.id_property,
        )
        for i, r in enumerate(spec.rules)
        if r.enabled
    )
    mappers = {
        obj: compile_mapper(mappings, f"{spec.name}.{obj}")
        for obj, mappings in spec.objects.items()
    }
    fields = dict(definitions) if definitions else (load_fields(db, cid) if cid else {})
    credentials = spec.credentials
    return RuntimeConnection(
        id=cid or 0,
        name=spec.name,
        provider=get_provider(spec.provider),
        mode=spec.mode,
        enabled=spec.enabled,
        base_url=spec.base_url,
        options=spec.options,
        batch_size=spec.batch_size,
        rate_limit_requests=spec.rate_limit_requests,
        rate_limit_seconds=spec.rate_limit_seconds,
        max_attempts=spec.max_attempts,
        credentials_enc=(
            spec.credentials_encrypted.encode()
            if spec.credentials_encrypted
            else encrypt_json(settings, credentials)
            if credentials is not None
            else None
        ),
        rules=rules,
        mappers=mappers,
        fields=fields,
    )
