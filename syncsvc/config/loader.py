"""Read a YAML config file and check it completely before anything touches the database.

Every error names the file, the path inside it and what is wrong, e.g.
``config.yaml: connections[0].rules[1].when.op: unknown operator 'like' (known: ...)``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from providers.base import Provider
from providers.registry import get_provider, provider_names
from syncsvc.config import envref
from syncsvc.config.model import (
    ACTIONS,
    MODES,
    OPERATIONS,
    ConfigDocument,
    ConnectionSpec,
    RuleSpec,
)
from syncsvc.errors import ConfigError
from syncsvc.inbound.check import column_problems
from syncsvc.inbound.links import link_problem
from syncsvc.inbound.parse import parse_inbound
from syncsvc.kinds import member
from syncsvc.links.parse import parse_associations, source_problems
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.rules.conditions import compile_condition
from syncsvc.validation.registry import internal_spec, internal_spec_path

MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONNECTIONS = 1000
MAX_RULES = 200
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_CONNECTION_KEYS = {
    "name", "provider", "mode", "base_url", "credentials", "rate_limit", "batch_size",
    "max_attempts", "enabled", "options", "objects", "rules", "inbound", "associations",
}  # fmt: skip
_RULE_KEYS = {"name", "source", "operations", "when", "action", "object", "id_property", "enabled"}


class _Where:
    """Builds error messages that name the file and the path inside it."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path}: {message}")

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, got {type(value).__name__}")
        return value

    def known_keys(self, value: Mapping[str, Any], allowed: set[str], path: str) -> None:
        unknown = sorted(str(k) for k in set(value) - allowed)
        if unknown:
            raise self.fail(path, f"unknown key(s) {unknown} (allowed: {sorted(allowed)})")

    def resolve(self, value: Any, env: Mapping[str, str], path: str) -> Any:
        try:
            return envref.resolve(value, env, path)
        except ConfigError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(path, f"must be an integer from {low} to {high}, got {value!r}")
        return value


def load_config_file(path: Path, env: Mapping[str, str] | None = None) -> ConfigDocument:
    env = os.environ if env is None else env
    where = _Where(str(path))
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: invalid YAML: {at}{getattr(exc, 'problem', exc)}") from None
    return parse_config(data, where, env)


def parse_config(data: Any, where: _Where, env: Mapping[str, str]) -> ConfigDocument:
    root = where.mapping(data, "(top level)")
    where.known_keys(root, {"version", "connections"}, "(top level)")
    if root.get("version", 1) != 1:
        raise where.fail("version", "only version 1 is supported")
    raw = root.get("connections")
    if not isinstance(raw, list) or not raw:
        raise where.fail("connections", "must be a non-empty list")
    if len(raw) > MAX_CONNECTIONS:
        raise where.fail("connections", f"at most {MAX_CONNECTIONS} connections per file")
    connections = tuple(
        _connection(item, f"connections[{i}]", where, env) for i, item in enumerate(raw)
    )
    names = [c.name for c in connections]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise where.fail(f"connections[{i}].name", f"duplicate connection name {name!r}")
    return ConfigDocument(where.source, connections)


def _connection(item: Any, path: str, where: _Where, env: Mapping[str, str]) -> ConnectionSpec:
    spec = where.mapping(item, path)
    where.known_keys(spec, _CONNECTION_KEYS, path)
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.fail(
            f"{path}.name", "must be 1-63 of a-z, 0-9, '-' or '_', starting alphanumeric"
        )
    provider_name = spec.get("provider")
    if provider_name not in provider_names():
        raise where.fail(
            f"{path}.provider",
            f"unknown provider {provider_name!r} (known: {', '.join(provider_names())})",
        )
    provider = get_provider(str(provider_name))
    defaults = provider.defaults
    mode = member(spec.get("mode", "push"), MODES)
    if mode is None:
        raise where.fail(
            f"{path}.mode", f"must be one of {', '.join(MODES)}, got {spec.get('mode')!r}"
        )
    base_url = where.resolve(spec.get("base_url", defaults.base_url), env, f"{path}.base_url")
    parsed = urlparse(str(base_url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise where.fail(f"{path}.base_url", f"must be an http(s) URL, got {base_url!r}")
    rate = where.mapping(spec.get("rate_limit", {}), f"{path}.rate_limit")
    where.known_keys(rate, {"requests", "per_seconds"}, f"{path}.rate_limit")
    requests_ = where.integer(
        rate.get("requests", defaults.rate_limit_requests), f"{path}.rate_limit.requests", 1, 10**7
    )
    seconds = where.integer(
        rate.get("per_seconds", defaults.rate_limit_seconds),
        f"{path}.rate_limit.per_seconds",
        1,
        86400,
    )
    batch_size = where.integer(
        spec.get("batch_size", defaults.batch_size), f"{path}.batch_size", 1, defaults.batch_size
    )
    max_attempts = where.integer(spec.get("max_attempts", 10), f"{path}.max_attempts", 1, 100)
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise where.fail(f"{path}.enabled", "must be true or false")
    raw_options = dict(where.mapping(spec.get("options", {}), f"{path}.options"))
    options = dict(where.resolve(raw_options, env, f"{path}.options"))
    creds, creds_ref, creds_enc = _credentials(
        spec.get("credentials"), f"{path}.credentials", where, env
    )
    try:
        provider.client_class.check_connection(str(base_url), options, creds)
    except ConfigError as exc:
        raise where.fail(f"{path}.options", f"{provider.name}: {exc}") from None
    rules = _rules(spec.get("rules"), path, where, provider)
    objects = _objects(spec.get("objects", {}), rules, path, where, provider)
    inbound = parse_inbound(
        spec.get("inbound"), f"{path}.inbound", where.fail, provider.defaults.objects
    )
    if inbound is not None and not provider.client_class.INBOUND:
        raise where.fail(f"{path}.inbound", f"{provider.name} has no inbound support yet")
    if (
        inbound is not None
        and inbound.deletes_poll_seconds is not None
        and not provider.client_class.DELETES_POLL
    ):
        raise where.fail(
            f"{path}.inbound.deletes_poll_seconds",
            f"{provider.name}'s change poll reports deletions itself: there is no deletes poll",
        )
    if inbound is not None and inbound.webhooks and provider.webhooks is None:
        raise where.fail(
            f"{path}.inbound.webhooks",
            f"{provider.name} sends no webhooks: its changes are polled "
            "(webhooks: false, poll_seconds: N)",
        )
    associations = parse_associations(
        spec.get("associations"), f"{path}.associations", where.fail, provider, rules
    )
    clash = link_problem(inbound, associations)
    if clash is not None:
        raise where.fail(f"{path}.associations[{clash[0]}].via", clash[1])
    return ConnectionSpec(
        name=name,
        provider=provider.name,
        mode=mode,
        base_url=str(base_url),
        rate_limit_requests=requests_,
        rate_limit_seconds=seconds,
        batch_size=batch_size,
        max_attempts=max_attempts,
        enabled=enabled,
        options=options,
        objects=objects,
        rules=rules,
        credentials=creds,
        credentials_ref=creds_ref,
        credentials_encrypted=creds_enc,
        inbound=inbound,
        associations=associations,
    )


def _credentials(
    raw: Any, path: str, where: _Where, env: Mapping[str, str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    if raw is None:
        return None, None, None
    value = where.mapping(raw, path)
    if set(value) == {"encrypted"}:
        if not isinstance(value["encrypted"], str):
            raise where.fail(f"{path}.encrypted", "must be the string written by `config export`")
        return None, None, value["encrypted"]
    for key, item in value.items():
        if not isinstance(item, str | int | bool):
            raise where.fail(f"{path}.{key}", "credential values must be strings")
    resolved = where.resolve(dict(value), env, path)
    all_refs = all(isinstance(v, str) and envref.has_reference(v) for v in value.values())
    return resolved, (dict(value) if all_refs else None), None


def _rules(raw: Any, path: str, where: _Where, provider: Provider) -> tuple[RuleSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.fail(f"{path}.rules", "must be a non-empty list")
    if len(raw) > MAX_RULES:
        raise where.fail(f"{path}.rules", f"at most {MAX_RULES} rules per connection")
    rules: list[RuleSpec] = []
    for i, item in enumerate(raw):
        rpath = f"{path}.rules[{i}]"
        spec = where.mapping(item, rpath)
        where.known_keys(spec, _RULE_KEYS, rpath)
        source = spec.get("source")
        if not isinstance(source, str) or not _TABLE.match(source):
            raise where.fail(f"{rpath}.source", f"must be a SCHEMA.TABLE name, got {source!r}")
        raw_ops = spec.get("operations", list(OPERATIONS))
        ops = [member(o, OPERATIONS) for o in raw_ops] if isinstance(raw_ops, list) else []
        if not ops or None in ops:
            raise where.fail(f"{rpath}.operations", f"must be a list drawn from {list(OPERATIONS)}")
        action = member(spec.get("action"), ACTIONS)
        if action is None:
            raise where.fail(
                f"{rpath}.action",
                f"must be one of {', '.join(ACTIONS)}, got {spec.get('action')!r}",
            )
        if "delete" in ops and action not in ("archive", "skip"):
            raise where.fail(f"{rpath}.action", "rules for 'delete' must use archive or skip")
        if action == "archive" and set(ops) != {"delete"}:
            raise where.fail(f"{rpath}.operations", "'archive' applies to [delete] only")
        obj = spec.get("object")
        if obj not in provider.defaults.objects:
            raise where.fail(
                f"{rpath}.object",
                f"{provider.name} has no object {obj!r} "
                f"(known: {', '.join(provider.defaults.objects)})",
            )
        when = spec.get("when")
        if when is not None:
            try:
                compile_condition(when, f"{rpath}.when")
            except ConfigError as exc:
                raise ConfigError(f"{where.source}: {exc}") from None
        id_property = spec.get("id_property", provider.defaults.id_property.get(str(obj)))
        if id_property is not None and not isinstance(id_property, str):
            raise where.fail(f"{rpath}.id_property", "must be a property name")
        name = spec.get("name", f"rule-{i + 1}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise where.fail(f"{rpath}.name", "must be 1-63 of a-z, 0-9, '-' or '_'")
        if any(r.name == name for r in rules):
            raise where.fail(f"{rpath}.name", f"duplicate rule name {name!r}")
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise where.fail(f"{rpath}.enabled", "must be true or false")
        rules.append(
            RuleSpec(
                name,
                source,
                tuple(o for o in ops if o is not None),
                action,
                str(obj),
                id_property,
                when,
                enabled,
            )
        )
    return tuple(rules)


def _objects(
    raw: Any, rules: tuple[RuleSpec, ...], path: str, where: _Where, provider: Provider
) -> dict[str, list[dict[str, Any]]]:
    section = where.mapping(raw, f"{path}.objects")
    objects: dict[str, list[dict[str, Any]]] = {}
    for obj, body in section.items():
        opath = f"{path}.objects.{obj}"
        if obj not in provider.defaults.objects:
            raise where.fail(opath, f"{provider.name} has no object {obj!r}")
        spec = where.mapping(body, opath)
        where.known_keys(spec, {"mappings"}, opath)
        mappings = spec.get("mappings")
        if not isinstance(mappings, list) or not mappings:
            raise where.fail(f"{opath}.mappings", "must be a non-empty list")
        objects[str(obj)] = [
            dict(where.mapping(m, f"{opath}.mappings[{i}]")) for i, m in enumerate(mappings)
        ]
    for rule in rules:
        if rule.action in ("archive", "skip") or rule.object in objects:
            continue
        default = provider.transformer.default_mappings.get(rule.object)
        if not default:
            raise where.fail(
                f"{path}.objects.{rule.object}",
                f"no mappings given and {provider.name} has no default mapping for {rule.object!r}",
            )
        objects[rule.object] = [dict(m) for m in default]
    for obj, mappings in objects.items():
        try:
            compile_mapper(mappings, f"{path}.objects.{obj}.mappings")
        except ConfigError as exc:
            raise ConfigError(f"{where.source}: {exc}") from None
    return objects


def check_source_fields(doc: ConfigDocument, schema_dirs: tuple[Path, ...]) -> list[str]:
    """Errors for rules on tables without a field spec and mappings of unknown source fields."""
    errors: list[str] = []
    for ci, conn in enumerate(doc.connections):
        where = f"{doc.source}: connections[{ci}]"
        if conn.inbound is not None:
            errors += column_problems(where, conn.inbound, schema_dirs)
        errors += source_problems(where, conn.associations, conn.rules, schema_dirs)
        tables_by_object: dict[str, set[str]] = {}
        for ri, rule in enumerate(conn.rules):
            if internal_spec_path(rule.source, schema_dirs) is None:
                errors.append(
                    f"{doc.source}: connections[{ci}].rules[{ri}].source: no field spec "
                    f"{rule.source}.json in {', '.join(str(d) for d in schema_dirs)}"
                )
                continue
            tables_by_object.setdefault(rule.object, set()).add(rule.source)
        for obj, tables in tables_by_object.items():
            for table in tables:
                known = internal_spec(table, schema_dirs).field_names
                mapper = compile_mapper(conn.objects.get(obj, []), "mappings")
                for mi, m in enumerate(mapper.mappings):
                    for field in m.source_fields:
                        if field not in known:
                            errors.append(
                                f"{doc.source}: connections[{ci}].objects.{obj}.mappings[{mi}]"
                                f".source: {table} has no field {field!r}"
                            )
    return errors
