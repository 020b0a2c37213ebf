"""The ``inbound:`` section held against the CRM's field definitions (every CRM field read
must exist) and the internal table's field spec (every column written must be a field of it,
the key and a soft-delete column too), before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syncsvc.fields.match import _did_you_mean
from syncsvc.fields.model import ObjectFields
from syncsvc.inbound.model import InboundSpec
from syncsvc.validation.registry import internal_spec, internal_spec_path


def crm_field_problems(
    where: str, provider: str, spec: InboundSpec, definitions: Mapping[str, ObjectFields]
) -> list[str]:
    problems: list[str] = []
    for name, obj in spec.objects.items():
        fields = definitions.get(name)
        if fields is None:
            continue
        path = f"{where}.inbound.objects.{name}"
        for i, mapping in enumerate(obj.mappings):
            source = str(mapping["source"])
            if fields.get(source) is None:
                hint = _did_you_mean(source, fields)
                problems.append(
                    f"{path}.mappings[{i}].source: {provider} {name} has no field {source!r}{hint}"
                )
        if fields.get(obj.key_field) is None:
            problems.append(f"{path}.key.field: {provider} {name} has no field {obj.key_field!r}")
    return problems


def column_problems(where: str, spec: InboundSpec, schema_dirs: tuple[Path, ...]) -> list[str]:
    problems: list[str] = []
    for name, obj in spec.objects.items():
        path = f"{where}.inbound.objects.{name}"
        if obj.inbox:
            continue
        if internal_spec_path(obj.table, schema_dirs) is None:
            dirs = ", ".join(str(d) for d in schema_dirs)
            problems.append(f"{path}.table: no field spec {obj.table}.json in {dirs}")
            continue
        known = internal_spec(obj.table, schema_dirs).field_names
        columns = [(f"{path}.key.column", obj.key_column)]
        columns += [
            (f"{path}.mappings[{i}].target", str(m["target"])) for i, m in enumerate(obj.mappings)
        ]
        if obj.soft_delete_column:
            columns.append((f"{path}.on_delete.soft_delete", obj.soft_delete_column))
        for at, column in columns:
            if column not in known:
                problems.append(f"{at}: {obj.table} has no field {column!r}")
    return problems
