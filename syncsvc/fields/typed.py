"""A record's mapped properties checked and converted by the CRM's field definitions."""

from __future__ import annotations

from typing import Any, Protocol

from syncsvc.fields.convert import FieldValueError, convert
from syncsvc.fields.model import FieldDef, ObjectFields
from syncsvc.validation.fieldspec import FieldIssue


class Encoder(Protocol):
    """The provider's transformer: canonical values to the CRM's wire format."""

    def encode(self, field: FieldDef, value: Any) -> Any: ...

    def clear_value(self, field: FieldDef) -> Any: ...


def typed_properties(
    properties: dict[str, Any], fields: ObjectFields | None, encoder: Encoder
) -> tuple[dict[str, Any], list[FieldIssue]]:
    """Each property the definitions know is converted (``None`` becomes the CRM's clear);
    properties without a definition pass unchanged, as they do when none are cached."""
    if fields is None:
        return properties, []
    out: dict[str, Any] = {}
    issues: list[FieldIssue] = []
    for name, value in properties.items():
        definition = fields.get(name)
        if definition is None:
            out[name] = value
            continue
        if value is None:
            out[name] = encoder.clear_value(definition)
            continue
        try:
            out[name] = encoder.encode(definition, convert(definition, value))
        except FieldValueError as exc:
            issues.append(FieldIssue(name, f"{definition.crm_type} field: {exc}"))
    return out, issues
