"""Compile a connection's field mappings for one object into a row → properties function."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncsvc.errors import ConfigError
from syncsvc.mapping.transforms import Transform, TransformError, compile_transform
from syncsvc.validation.fieldspec import FieldIssue

MAPPING_KEYS = {"target", "source", "template", "transforms", "required", "custom", "on_null"}
ON_NULL = ("clear", "skip")
"""A NULL (``None``) value clears the CRM field, or leaves the CRM's value as it is."""
MAX_TEMPLATE = 500


@dataclass(frozen=True)
class FieldMapping:
    target: str
    read: Callable[[Mapping[str, Any]], Any]
    transforms: tuple[Transform, ...]
    required: bool
    custom: bool
    source_fields: tuple[str, ...]
    on_null: str = "clear"


def _template_reader(
    template: str, path: str
) -> tuple[Callable[[Mapping[str, Any]], Any], tuple[str, ...]]:
    """``"{first_name} {last_name}"``: plain field substitution only, no attribute access."""
    if len(template) > MAX_TEMPLATE:
        raise ConfigError(f"{path}.template: longer than {MAX_TEMPLATE} characters")
    parts: list[tuple[str, str | None]] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{path}.template: {exc}") from None
    for literal, field, spec, conversion in parsed:
        if field is not None and (not field.isidentifier() or spec or conversion):
            raise ConfigError(f"{path}.template: '{{{field}}}' must be a plain field name")
        parts.append((literal, field))
    fields = tuple(f for _, f in parts if f)

    def read(row: Mapping[str, Any]) -> Any:
        if all(row.get(f) in (None, "") for f in fields):
            return None
        out = []
        for literal, field in parts:
            out.append(literal)
            if field:
                value = row.get(field)
                out.append("" if value is None else str(value))
        return "".join(out).strip()

    return read, fields


def compile_mapping(spec: Mapping[str, Any], path: str) -> FieldMapping:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: a mapping must be an object with at least 'target'")
    unknown = set(spec) - MAPPING_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {sorted(unknown)} (known: {sorted(MAPPING_KEYS)})"
        )
    target = spec.get("target")
    if not isinstance(target, str) or not target or len(target) > 255:
        raise ConfigError(f"{path}.target: must be a field name of at most 255 characters")
    source = spec.get("source")
    template = spec.get("template")
    if source is not None and template is not None:
        raise ConfigError(f"{path}: give either 'source' or 'template', not both")
    read: Callable[[Mapping[str, Any]], Any]
    if isinstance(source, str):
        fields: tuple[str, ...] = (source,)
        read = lambda row: row.get(source)  # noqa: E731
    elif isinstance(source, list) and source and all(isinstance(s, str) for s in source):
        fields = tuple(source)
        read = lambda row: [row.get(s) for s in fields]  # noqa: E731
    elif template is not None:
        if not isinstance(template, str):
            raise ConfigError(f"{path}.template: must be a string")
        read, fields = _template_reader(template, path)
    elif source is None:
        fields = ()
        read = lambda row: None  # noqa: E731 - a constant transform supplies the value
    else:
        raise ConfigError(f"{path}.source: must be a field name or a list of field names")
    raw_transforms = spec.get("transforms", [])
    if not isinstance(raw_transforms, list):
        raise ConfigError(f"{path}.transforms: must be a list")
    transforms = tuple(
        compile_transform(t, f"{path}.transforms[{i}]") for i, t in enumerate(raw_transforms)
    )
    on_null = spec.get("on_null", "clear")
    if on_null not in ON_NULL:
        raise ConfigError(f"{path}.on_null: must be one of {', '.join(ON_NULL)}")
    if not fields and not raw_transforms:
        raise ConfigError(f"{path}: needs a 'source', a 'template' or a 'constant' transform")
    return FieldMapping(
        target=target,
        read=read,
        transforms=transforms,
        required=bool(spec.get("required", False)),
        custom=bool(spec.get("custom", False)),
        source_fields=fields,
        on_null=on_null,
    )


@dataclass(frozen=True)
class Mapper:
    """All mappings of one object for one connection."""

    mappings: tuple[FieldMapping, ...]

    def apply(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldIssue]]:
        properties: dict[str, Any] = {}
        issues: list[FieldIssue] = []
        for m in self.mappings:
            try:
                value = m.read(row)
                for transform in m.transforms:
                    value = transform(value)
            except (TransformError, ValueError, TypeError) as exc:
                issues.append(FieldIssue(m.target, f"cannot transform: {exc}"))
                continue
            if m.required and (value is None or value == ""):
                issues.append(FieldIssue(m.target, "required value is missing"))
                continue
            if value is None and m.on_null == "skip":
                continue
            properties[m.target] = value
        return properties, issues

    @property
    def targets(self) -> list[str]:
        return [m.target for m in self.mappings]


def compile_mapper(specs: Sequence[Mapping[str, Any]], path: str) -> Mapper:
    mappings = tuple(compile_mapping(s, f"{path}[{i}]") for i, s in enumerate(specs))
    seen: set[str] = set()
    for i, m in enumerate(mappings):
        if m.target in seen:
            raise ConfigError(f"{path}[{i}].target: '{m.target}' is mapped twice")
        seen.add(m.target)
    return Mapper(mappings)
