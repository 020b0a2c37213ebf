"""The stored config, compiled for the hot path and cached per process.

The cache is keyed by ``config_state.generation``: ``config apply`` bumps it in the transaction
that writes the config, and every process reloads on its next batch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from providers.base import ConnectionInfo, Provider
from providers.oauth import resolve_options
from providers.registry import get_provider
from syncsvc.config.model import OP_CODES
from syncsvc.db import Row
from syncsvc.fields.model import ObjectFields
from syncsvc.inbound.model import InboundSpec
from syncsvc.kinds import Action, ChangeOp, Mode
from syncsvc.links.model import Association
from syncsvc.mapping.mapper import Mapper, compile_mapper
from syncsvc.rules.conditions import Predicate, compile_condition
from syncsvc.secrets import decrypt_json
from syncsvc.settings import Settings


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    source_table: str
    op_codes: frozenset[ChangeOp]
    predicate: Predicate | None
    action: Action
    object: str
    id_property: str | None

    def matches(self, op_code: ChangeOp, row: Mapping[str, Any] | None) -> bool:
        if op_code not in self.op_codes:
            return False
        if self.predicate is None or op_code == "D":
            return True
        return row is not None and self.predicate(row)


@dataclass(frozen=True)
class RuntimeConnection:
    id: int
    name: str
    provider: Provider
    mode: Mode
    enabled: bool
    base_url: str
    options: Mapping[str, Any]
    batch_size: int
    rate_limit_requests: int
    rate_limit_seconds: int
    max_attempts: int
    credentials_enc: bytes | None
    rules: tuple[CompiledRule, ...]
    mappers: Mapping[str, Mapper]
    fields: Mapping[str, ObjectFields] = field(default_factory=dict)
    """The CRM's field definitions per object, as cached by ``config apply``/``fields refresh``."""
    inbound: InboundSpec | None = None
    associations: tuple[Association, ...] = ()

    @property
    def pushes(self) -> bool:
        return self.mode in ("push", "both")

    def rules_for(self, table: str) -> tuple[CompiledRule, ...]:
        return tuple(r for r in self.rules if r.source_table == table)

    def connection_info(self, settings: Settings) -> ConnectionInfo:
        creds = decrypt_json(settings, self.credentials_enc) if self.credentials_enc else {}
        return ConnectionInfo(
            id=self.id,
            name=self.name,
            provider=self.provider.name,
            base_url=self.base_url,
            credentials=creds,
            options=resolve_options(
                self.options, settings.environ, f"{self.provider.name}: options"
            ),
            batch_size=self.batch_size,
            rate_limit_requests=self.rate_limit_requests,
            rate_limit_seconds=self.rate_limit_seconds,
            max_attempts=self.max_attempts,
        )


@dataclass(frozen=True)
class RuntimeConfig:
    generation: int
    connections: Mapping[int, RuntimeConnection] = field(default_factory=dict)

    def targets_for(self, table: str, op_code: ChangeOp, origin: str | None = None) -> list[int]:
        """Enabled connections with at least one enabled rule for this table and operation,
        except the one the change came from (``origin`` ``inbound:<name>``: no echo back)."""
        return [
            c.id
            for c in self.connections.values()
            if c.enabled
            and any(op_code in r.op_codes for r in c.rules_for(table))
            and origin != inbound_origin(c.name)
        ]


def inbound_origin(connection_name: str) -> str:
    """What the inbound path sets ``syncsvc.origin`` to while it writes a connection's changes
    (the capture triggers record it in ``sync_event.origin``)."""
    return f"inbound:{connection_name}"


def _generation(db: psycopg.Connection[Row]) -> int:
    row = db.execute("SELECT generation AS g FROM syncsvc.config_state WHERE id = 1").fetchone()
    return int(row["g"]) if row else 0


def load_runtime_config(
    db: psycopg.Connection[Row], generation: int | None = None
) -> RuntimeConfig:
    gen = _generation(db) if generation is None else generation
    rules: dict[int, list[CompiledRule]] = {}
    for r in db.execute("SELECT * FROM syncsvc.sync_rule WHERE enabled ORDER BY position"):
        rules.setdefault(r["connection_id"], []).append(
            CompiledRule(
                id=r["id"],
                name=r["name"],
                source_table=r["source_table"],
                op_codes=frozenset(OP_CODES[o] for o in r["operations"]),
                predicate=compile_condition(r["condition"]) if r["condition"] else None,
                action=r["action"],
                object=r["target_object"],
                id_property=r["id_property"],
            )
        )
    mappings: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for m in db.execute("SELECT * FROM syncsvc.field_mapping ORDER BY object, position"):
        spec: dict[str, Any] = {"target": m["target"], "transforms": m["transforms"]}
        spec.update(m["source"] or {})
        spec["required"] = m["required"]
        spec["custom"] = m["custom"]
        spec["on_null"] = m["on_null"]
        mappings.setdefault((m["connection_id"], m["object"]), []).append(spec)
    fields: dict[int, dict[str, ObjectFields]] = {}
    for f in db.execute(
        "SELECT connection_id, object, definitions, fetched_at FROM syncsvc.crm_field"
    ):
        fields.setdefault(f["connection_id"], {})[f["object"]] = ObjectFields.from_json(
            f["object"], f["definitions"], f["fetched_at"]
        )
    connections: dict[int, RuntimeConnection] = {}
    for c in db.execute("SELECT * FROM syncsvc.connection"):
        mappers = {
            obj: compile_mapper(specs, f"{c['name']}.{obj}")
            for (cid, obj), specs in mappings.items()
            if cid == c["id"]
        }
        connections[c["id"]] = RuntimeConnection(
            id=c["id"],
            name=c["name"],
            provider=get_provider(c["provider"]),
            mode=c["mode"],
            enabled=c["enabled"],
            base_url=c["base_url"],
            options=c["options"] or {},
            batch_size=c["batch_size"],
            rate_limit_requests=c["rate_limit_requests"],
            rate_limit_seconds=c["rate_limit_seconds"],
            max_attempts=c["max_attempts"],
            credentials_enc=bytes(c["credentials_enc"]) if c["credentials_enc"] else None,
            rules=tuple(rules.get(c["id"], [])),
            mappers=mappers,
            fields=fields.get(c["id"], {}),
            inbound=InboundSpec.from_json(c["inbound"]) if c["inbound"] else None,
            associations=tuple(Association.from_json(a) for a in c["associations"] or ()),
        )
    return RuntimeConfig(gen, connections)


class RuntimeConfigCache:
    """One per process: reloads when the stored generation moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: RuntimeConfig | None = None

    def get(self, db: psycopg.Connection[Row]) -> RuntimeConfig:
        gen = _generation(db)
        with self._lock:
            if self._config is not None and self._config.generation == gen:
                return self._config
        config = load_runtime_config(db, gen)
        with self._lock:
            self._config = config
        return config

    def loaded(self) -> RuntimeConfig | None:
        """The config last loaded (None before the first ``get``), asking the database nothing."""
        with self._lock:
            return self._config
