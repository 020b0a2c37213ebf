"""Read a connection's ``inbound:`` section (see ``syncsvc.inbound.model``); every error names
its path in the file, and nothing is looked up outside the document here (``check`` does that)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from syncsvc.errors import ConfigError
from syncsvc.inbound.model import POLICIES, DeleteMode, InboundObject, InboundSpec, Policy
from syncsvc.mapping.mapper import compile_mapper

MAX_POLL_SECONDS = 86400
MAX_INBOUND_MAPPINGS = 500
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_FIELD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.$-]{0,254}$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_SECTION_KEYS = {"webhooks", "poll_seconds", "deletes_poll_seconds", "conflict", "objects"}
_OBJECT_KEYS = {
    "table", "key", "mappings", "writable", "on_delete", "inbox", "conflict", "fields", "ownership",
}  # fmt: skip
_FIELD_POLICIES: tuple[Policy, ...] = (*POLICIES, "internal_owns")

Fail = Callable[[str, str], ConfigError]


def _mapping(value: Any, path: str, fail: Fail, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(path, f"must be a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in set(value) - allowed)
    if unknown:
        raise fail(path, f"unknown key(s) {unknown} (allowed: {sorted(allowed)})")
    return value


def _name(value: Any, pattern: re.Pattern[str], path: str, fail: Fail, what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise fail(path, f"must be {what}, got {value!r}")
    return value


def _policy(value: Any, path: str, fail: Fail, known: Sequence[Policy] = POLICIES) -> Policy:
    if value not in known:
        raise fail(path, f"must be one of {', '.join(known)}, got {value!r}")
    return cast(Policy, value)


def parse_inbound(
    raw: Any, path: str, fail: Fail, objects_known: Sequence[str]
) -> InboundSpec | None:
    """The section at ``path`` (None when absent); ``objects_known`` the provider's objects."""
    if raw is None:
        return None
    section = _mapping(raw, path, fail, _SECTION_KEYS)
    webhooks = section.get("webhooks", True)
    if not isinstance(webhooks, bool):
        raise fail(f"{path}.webhooks", "must be true or false")
    poll = section.get("poll_seconds", 0)
    if isinstance(poll, bool) or not isinstance(poll, int) or not 0 <= poll <= MAX_POLL_SECONDS:
        raise fail(f"{path}.poll_seconds", f"must be an integer from 0 to {MAX_POLL_SECONDS}")
    if not webhooks and not poll:
        raise fail(path, "turns both webhooks and polling off: nothing would arrive")
    deletes = section.get("deletes_poll_seconds")
    if deletes is not None:
        dpath = f"{path}.deletes_poll_seconds"
        if isinstance(deletes, bool) or not isinstance(deletes, int):
            deletes = -1
        if not 0 <= deletes <= MAX_POLL_SECONDS:
            raise fail(dpath, f"must be an integer from 0 to {MAX_POLL_SECONDS}")
        if deletes and not poll:
            raise fail(dpath, "polls deletions of a connection whose changes are not polled")
    default = _policy(section.get("conflict", "internal_wins"), f"{path}.conflict", fail)
    raw_objects = section.get("objects")
    if not isinstance(raw_objects, Mapping) or not raw_objects:
        raise fail(f"{path}.objects", "must be a non-empty mapping of CRM object → settings")
    objects: dict[str, InboundObject] = {}
    for name, body in raw_objects.items():
        opath = f"{path}.objects.{name}"
        if name not in objects_known:
            raise fail(opath, f"unknown object (known: {', '.join(objects_known)})")
        objects[str(name)] = _object(str(name), body, opath, fail, default)
    return InboundSpec(webhooks, poll, objects, deletes)


def _object(name: str, body: Any, path: str, fail: Fail, default: Policy) -> InboundObject:
    spec = _mapping(body, path, fail, _OBJECT_KEYS)
    table = _name(spec.get("table"), _TABLE, f"{path}.table", fail, "a SCHEMA.TABLE name")
    key = _mapping(spec.get("key"), f"{path}.key", fail, {"column", "field"})
    key_column = _name(key.get("column"), _COLUMN, f"{path}.key.column", fail, "a column name")
    key_field = _name(key.get("field"), _FIELD, f"{path}.key.field", fail, "a CRM field name")
    mappings = spec.get("mappings")
    if not isinstance(mappings, list) or not mappings or len(mappings) > MAX_INBOUND_MAPPINGS:
        raise fail(f"{path}.mappings", f"must be a list of 1 to {MAX_INBOUND_MAPPINGS} mappings")
    for i, m in enumerate(mappings):
        mpath = f"{path}.mappings[{i}]"
        item = _mapping(m, mpath, fail, {"source", "target", "transforms"})
        _name(item.get("source"), _FIELD, f"{mpath}.source", fail, "a CRM field name")
        _name(item.get("target"), _COLUMN, f"{mpath}.target", fail, "a column name")
    try:
        mapper = compile_mapper(mappings, f"{path}.mappings")
    except ConfigError as exc:
        raise fail(path, str(exc).removeprefix(f"{path}: ")) from None
    targets = mapper.targets
    if key_column in targets:
        raise fail(f"{path}.mappings", f"the key column {key_column!r} is not written by the CRM")
    writable = spec.get("writable", targets)
    if not isinstance(writable, list) or not all(isinstance(c, str) for c in writable):
        raise fail(f"{path}.writable", "must be a list of column names")
    for i, column in enumerate(writable):
        if column not in targets:
            raise fail(f"{path}.writable[{i}]", f"{column!r} is not the target of a mapping")
    on_delete, soft = _on_delete(spec.get("on_delete", "delete"), f"{path}.on_delete", fail)
    inbox = spec.get("inbox")
    if inbox is not None:
        _name(inbox, _TABLE, f"{path}.inbox", fail, "a SCHEMA.TABLE name")
    conflict = _policy(spec.get("conflict", default), f"{path}.conflict", fail)
    policies: dict[str, Policy] = {}
    fields = _mapping(spec.get("fields", {}), f"{path}.fields", fail, set(targets))
    for column, policy in fields.items():
        policies[column] = _policy(policy, f"{path}.fields.{column}", fail, _FIELD_POLICIES)
    ownership = _mapping(spec.get("ownership", {}), f"{path}.ownership", fail, {"crm", "internal"})
    for side, policy in (("crm", "crm_wins"), ("internal", "internal_owns")):
        columns = ownership.get(side, [])
        if not isinstance(columns, list):
            raise fail(f"{path}.ownership.{side}", "must be a list of column names")
        for i, column in enumerate(columns):
            if column not in targets:
                raise fail(f"{path}.ownership.{side}[{i}]", f"{column!r} is not a mapped column")
            if column in policies:
                raise fail(f"{path}.ownership.{side}[{i}]", f"{column!r} has a policy already")
            policies[column] = cast(Policy, policy)
    return InboundObject(
        object=name,
        table=table,
        key_column=key_column,
        key_field=key_field,
        mappings=tuple(dict(m) for m in mappings),
        writable=tuple(writable),
        on_delete=on_delete,
        soft_delete_column=soft,
        inbox=inbox,
        conflict=conflict,
        field_policies=policies,
    )


def _on_delete(value: Any, path: str, fail: Fail) -> tuple[DeleteMode, str | None]:
    if value in ("delete", "ignore"):
        return cast(DeleteMode, value), None
    if isinstance(value, Mapping):
        spec = _mapping(value, path, fail, {"soft_delete"})
        column = _name(spec.get("soft_delete"), _COLUMN, f"{path}.soft_delete", fail, "a column")
        return "soft_delete", column
    raise fail(path, f"must be delete, ignore or {{soft_delete: COLUMN}}, got {value!r}")
