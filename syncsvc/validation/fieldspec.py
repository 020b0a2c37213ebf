"""Compile JSON field specs (``schemas/**.json``) into marshmallow schemas.

A spec file looks like::

    {"name": "demo.contacts",
     "fields": {"id": {"type": "integer", "required": true},
                "email": {"type": "email", "required": true, "max_length": 254}},
     "additional_fields": "allow"}

Field types: string, integer, number, boolean, email, date, datetime, uuid, url, enum (with
``choices``). Options: required, nullable (default: not required), max_length, min_length,
minimum, maximum, pattern (RE2 syntax, matched from the start of the text), choices,
allow_control_characters (text refuses C0 control characters other than tab and newlines unless
this is true; text without max_length is capped at 65,536 characters). ``additional_fields`` is
``allow`` (kept, unchecked), ``reject`` or ``string`` (kept, must be strings: CRM custom
properties).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from marshmallow import Schema, ValidationError, fields, validate

from syncsvc.errors import ConfigError
from syncsvc.saferegex import Regex, compile_config_pattern

_TYPES: dict[str, type[fields.Field[Any]]] = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "decimal": fields.Decimal,
    "boolean": fields.Boolean,
    "email": fields.Email,
    "date": fields.Date,
    "datetime": fields.AwareDateTime,
    "uuid": fields.UUID,
    "url": fields.URL,
    "enum": fields.String,
}
_OPTIONS = {
    "type",
    "required",
    "nullable",
    "max_length",
    "min_length",
    "minimum",
    "maximum",
    "pattern",
    "choices",
    "description",
    "allow_control_characters",
}
_TEXT_TYPES = {"string", "email", "url", "enum", "uuid"}
DEFAULT_MAX_LENGTH = 65_536
"""Text without an explicit max_length is still bounded (every input is size-limited)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: Any) -> None:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValidationError("contains control characters")


def _pattern_validator(regex: Regex) -> Any:
    """``pattern``: the text must match from its start (as ``re.match``), checked by RE2."""

    def check(value: Any) -> None:
        if isinstance(value, str) and not regex.match(value):
            raise ValidationError("String does not match expected pattern.")

    return check


Unknown = Literal["exclude", "include", "raise"]
_ADDITIONAL: dict[str, Unknown] = {
    "allow": "include",
    "reject": "raise",
    "string": "include",
    "ignore": "exclude",
}
MAX_SPEC_FIELDS = 2_000


@dataclass(frozen=True)
class FieldIssue:
    """One reason a record did not pass: which field and why."""

    field: str
    reason: str


@dataclass(frozen=True)
class CompiledSpec:
    name: str
    schema: Schema
    field_names: frozenset[str]
    additional: str

    def check(self, record: Mapping[str, Any]) -> list[FieldIssue]:
        """Every problem with ``record``, one per field (empty when valid)."""
        try:
            self.schema.load(record)
        except ValidationError as exc:
            return _issues(exc.messages)
        if self.additional == "string":
            return [
                FieldIssue(k, "custom field values must be strings")
                for k, v in record.items()
                if k not in self.field_names and v is not None and not isinstance(v, str)
            ]
        return []


def _issues(messages: Any, prefix: str = "") -> list[FieldIssue]:
    out: list[FieldIssue] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out.append(FieldIssue(name, "; ".join(value)))
            else:
                out.extend(_issues(value, name))
    elif isinstance(messages, list):
        out.append(FieldIssue(prefix or "_record", "; ".join(str(m) for m in messages)))
    return out


def _field(name: str, spec: Mapping[str, Any], where: str) -> fields.Field[Any]:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: field {name!r} must be an object")
    unknown = set(spec) - _OPTIONS
    if unknown:
        raise ConfigError(f"{where}: field {name!r} has unknown option(s) {sorted(unknown)}")
    kind = spec.get("type", "string")
    if kind not in _TYPES:
        raise ConfigError(f"{where}: field {name!r} has unknown type {kind!r}")
    validators: list[Any] = []
    if "max_length" in spec or "min_length" in spec:
        validators.append(validate.Length(min=spec.get("min_length"), max=spec.get("max_length")))
    elif kind in _TEXT_TYPES:
        validators.append(validate.Length(max=DEFAULT_MAX_LENGTH))
    if kind in _TEXT_TYPES and not spec.get("allow_control_characters", False):
        validators.append(_no_control_characters)
    if "minimum" in spec or "maximum" in spec:
        validators.append(validate.Range(min=spec.get("minimum"), max=spec.get("maximum")))
    if "pattern" in spec:
        pattern = compile_config_pattern(spec["pattern"], f"{where}: field {name!r} pattern")
        validators.append(_pattern_validator(pattern))
    if kind == "enum" or "choices" in spec:
        if not isinstance(spec.get("choices"), list) or not spec["choices"]:
            raise ConfigError(f"{where}: field {name!r} needs a non-empty 'choices' list")
        validators.append(validate.OneOf(spec["choices"]))
    required = bool(spec.get("required", False))
    nullable = bool(spec.get("nullable", not required))
    kwargs: dict[str, Any] = {"required": required, "allow_none": nullable, "validate": validators}
    if kind == "decimal":
        kwargs["as_string"] = True
    return _TYPES[kind](**kwargs)


def compile_spec(spec: Mapping[str, Any], where: str = "spec") -> CompiledSpec:
    """Compile one parsed spec; ``where`` names it in error messages."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get("fields"), Mapping):
        raise ConfigError(f"{where}: a field spec needs a 'fields' object")
    if len(spec["fields"]) > MAX_SPEC_FIELDS:
        raise ConfigError(f"{where}: more than {MAX_SPEC_FIELDS} fields")
    additional = spec.get("additional_fields", "allow")
    if additional not in _ADDITIONAL:
        raise ConfigError(f"{where}: additional_fields must be one of {sorted(_ADDITIONAL)}")
    declared = {name: _field(name, f, where) for name, f in spec["fields"].items()}
    schema_class = Schema.from_dict(declared, name=str(spec.get("name", "Spec")))
    schema = schema_class(unknown=_ADDITIONAL[additional])
    return CompiledSpec(str(spec.get("name", where)), schema, frozenset(declared), additional)


def load_spec_file(path: Path) -> CompiledSpec:
    try:
        spec = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"schema file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    return compile_spec(spec, str(path))
