"""``config apply``: the CRM's own field definitions for each connection, and the mappings
checked against them before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.base import ConnectionInfo
from syncsvc.config.model import ConfigDocument, ConnectionSpec
from syncsvc.errors import SyncError
from syncsvc.fields.match import id_property_problem, target_problem
from syncsvc.fields.model import ObjectFields
from syncsvc.fields.remote import read_definitions
from syncsvc.inbound.check import crm_field_problems
from syncsvc.scrub import remember_secrets
from syncsvc.secrets import decrypt_json
from syncsvc.settings import Settings


@dataclass
class RemoteFields:
    definitions: dict[str, dict[str, ObjectFields]] = field(default_factory=dict)
    """By connection name, then object."""
    problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


def connection_info(conn: ConnectionSpec, settings: Settings) -> ConnectionInfo:
    credentials = conn.credentials
    if credentials is None and conn.credentials_encrypted:
        credentials = decrypt_json(settings, conn.credentials_encrypted.encode())
    remember_secrets(credentials)
    return ConnectionInfo(
        id=0,
        name=conn.name,
        provider=conn.provider,
        base_url=conn.base_url,
        credentials=credentials or {},
        options=conn.options,
        batch_size=conn.batch_size,
        rate_limit_requests=conn.rate_limit_requests,
        rate_limit_seconds=conn.rate_limit_seconds,
    )


def mapped_objects(conn: ConnectionSpec) -> list[str]:
    """The CRM objects a connection writes: those with mappings or a rule that targets them."""
    objects = dict.fromkeys(conn.objects)
    objects.update(dict.fromkeys(r.object for r in conn.rules if r.action != "skip"))
    if conn.inbound is not None:
        objects.update(dict.fromkeys(conn.inbound.objects))
    return list(objects)


def _check(where: str, conn: ConnectionSpec, definitions: Mapping[str, ObjectFields]) -> list[str]:
    problems: list[str] = []
    for obj, mappings in conn.objects.items():
        fields = definitions.get(obj)
        if fields is None:
            continue
        for mi, mapping in enumerate(mappings):
            problem = target_problem(mapping["target"], fields, conn.provider)
            if problem:
                problems.append(f"{where}.objects.{obj}.mappings[{mi}].target: {problem}")
    for ri, rule in enumerate(conn.rules):
        fields = definitions.get(rule.object)
        if fields is None or rule.action != "upsert" or rule.id_property is None:
            continue
        problem = id_property_problem(rule.id_property, fields, conn.provider)
        if problem:
            problems.append(f"{where}.rules[{ri}].id_property: {problem}")
    if conn.inbound is not None:
        problems += crm_field_problems(where, conn.provider, conn.inbound, definitions)
    return problems


def read_remote_fields(doc: ConfigDocument, settings: Settings) -> RemoteFields:
    """Ask each pushing connection's CRM for its objects' fields and check the mappings; a CRM
    that cannot be asked is reported in ``unreachable`` (its cached definitions stay in use)."""
    out = RemoteFields()
    for ci, conn in enumerate(doc.connections):
        if conn.mode == "poll":
            continue
        try:
            definitions = read_definitions(connection_info(conn, settings), mapped_objects(conn))
        except SyncError as exc:
            out.unreachable.append(f"{doc.source}: connections[{ci}] ({conn.name}): {exc}")
            continue
        out.definitions[conn.name] = definitions
        out.problems += _check(f"{doc.source}: connections[{ci}]", conn, definitions)
    return out
