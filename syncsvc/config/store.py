"""Write a checked config into the database, and read it back out as YAML."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc import pause
from syncsvc.config.model import ConfigDocument, ConnectionSpec
from syncsvc.db import Row
from syncsvc.secrets import encrypt_json
from syncsvc.settings import Settings


@dataclass(frozen=True)
class ApplyResult:
    created: list[str]
    updated: list[str]
    untouched: list[str]
    generation: int
    resumed: list[str] = field(default_factory=list)
    """Connections that were paused (credentials refused) and are resumed by this apply."""


def _credentials_blob(settings: Settings, conn: ConnectionSpec) -> bytes | None:
    if conn.credentials_encrypted is not None:
        return conn.credentials_encrypted.encode()
    if conn.credentials is None:
        return None
    return encrypt_json(settings, conn.credentials)


def apply_config(
    db: psycopg.Connection[Row], settings: Settings, doc: ConfigDocument
) -> ApplyResult:
    """Upsert every connection of ``doc`` with its rules and mappings, in the caller's transaction.

    Connections not named in the file are left as they are (reported as untouched).
    """
    created: list[str] = []
    updated: list[str] = []
    resumed: list[str] = []
    for conn in doc.connections:
        row = db.execute(
            """
            INSERT INTO syncsvc.connection AS c
                (name, provider, mode, base_url, credentials_enc, credentials_ref, options,
                 rate_limit_requests, rate_limit_seconds, batch_size, max_attempts, enabled,
                 inbound, associations)
            VALUES (%(name)s, %(provider)s, %(mode)s, %(base_url)s, %(cred)s, %(cred_ref)s,
                    %(options)s, %(rlr)s, %(rls)s, %(batch)s, %(attempts)s, %(enabled)s,
                    %(inbound)s, %(associations)s)
            ON CONFLICT (name) DO UPDATE SET
                provider = EXCLUDED.provider, mode = EXCLUDED.mode, base_url = EXCLUDED.base_url,
                credentials_enc = EXCLUDED.credentials_enc,
                credentials_ref = EXCLUDED.credentials_ref, options = EXCLUDED.options,
                rate_limit_requests = EXCLUDED.rate_limit_requests,
                rate_limit_seconds = EXCLUDED.rate_limit_seconds,
                batch_size = EXCLUDED.batch_size, max_attempts = EXCLUDED.max_attempts,
                enabled = EXCLUDED.enabled, inbound = EXCLUDED.inbound,
                associations = EXCLUDED.associations, updated_at = now()
            RETURNING id, (xmax = 0) AS inserted
            """,
            {
                "name": conn.name,
                "provider": conn.provider,
                "mode": conn.mode,
                "base_url": conn.base_url,
                "cred": _credentials_blob(settings, conn),
                "cred_ref": Jsonb(conn.credentials_ref) if conn.credentials_ref else None,
                "options": Jsonb(conn.options),
                "rlr": conn.rate_limit_requests,
                "rls": conn.rate_limit_seconds,
                "batch": conn.batch_size,
                "attempts": conn.max_attempts,
                "enabled": conn.enabled,
                "inbound": Jsonb(conn.inbound.to_json()) if conn.inbound else None,
                "associations": (
                    Jsonb([a.to_json() for a in conn.associations]) if conn.associations else None
                ),
            },
        ).fetchone()
        assert row is not None
        (created if row["inserted"] else updated).append(conn.name)
        connection_id = row["id"]
        if pause.resume(db, connection_id, settings.sweep_grace_seconds) is not None:
            resumed.append(conn.name)
        db.execute("DELETE FROM syncsvc.sync_rule WHERE connection_id = %s", (connection_id,))
        db.execute("DELETE FROM syncsvc.field_mapping WHERE connection_id = %s", (connection_id,))
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO syncsvc.sync_rule (connection_id, name, position, source_table, "
                "operations, condition, action, target_object, id_property, enabled) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        connection_id,
                        r.name,
                        i,
                        r.source,
                        list(r.operations),
                        Jsonb(r.when) if r.when is not None else None,
                        r.action,
                        r.object,
                        r.id_property,
                        r.enabled,
                    )
                    for i, r in enumerate(conn.rules)
                ],
            )
            cur.executemany(
                "INSERT INTO syncsvc.field_mapping (connection_id, object, position, target, "
                "source, transforms, required, custom, on_null) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        connection_id,
                        obj,
                        i,
                        m["target"],
                        Jsonb(_source_of(m)),
                        Jsonb(m.get("transforms", [])),
                        bool(m.get("required", False)),
                        bool(m.get("custom", False)),
                        m.get("on_null", "clear"),
                    )
                    for obj, mappings in conn.objects.items()
                    for i, m in enumerate(mappings)
                ],
            )
    names = [c.name for c in doc.connections]
    untouched = [
        r["name"]
        for r in db.execute(
            "SELECT name FROM syncsvc.connection WHERE NOT (name = ANY(%s)) ORDER BY name", (names,)
        )
    ]
    return ApplyResult(created, updated, untouched, bump_generation(db), resumed)


def bump_generation(db: psycopg.Connection[Row]) -> int:
    """Tell every process to reload the config once the caller's transaction commits."""
    row = db.execute(
        "UPDATE syncsvc.config_state SET generation = generation + 1 WHERE id = 1 "
        "RETURNING generation"
    ).fetchone()
    assert row is not None
    return int(row["generation"])


def _source_of(mapping: dict[str, Any]) -> dict[str, Any] | None:
    if "template" in mapping:
        return {"template": mapping["template"]}
    if "source" in mapping:
        return {"source": mapping["source"]}
    return None


def _mapping_from_row(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"target": row["target"]}
    if row["source"]:
        out.update(row["source"])
    if row["transforms"]:
        out["transforms"] = row["transforms"]
    if row["required"]:
        out["required"] = True
    if row["custom"]:
        out["custom"] = True
    if row["on_null"] != "clear":
        out["on_null"] = row["on_null"]
    return out


def export_config(db: psycopg.Connection[Row], names: list[str] | None = None) -> dict[str, Any]:
    """The stored config as a document ``config apply`` accepts (secrets stay encrypted)."""
    connections: list[dict[str, Any]] = []
    for c in db.execute("SELECT * FROM syncsvc.connection ORDER BY name").fetchall():
        if names and c["name"] not in names:
            continue
        doc: dict[str, Any] = {
            "name": c["name"],
            "provider": c["provider"],
            "mode": c["mode"],
            "base_url": c["base_url"],
            "enabled": c["enabled"],
            "rate_limit": {
                "requests": c["rate_limit_requests"],
                "per_seconds": c["rate_limit_seconds"],
            },
            "batch_size": c["batch_size"],
            "max_attempts": c["max_attempts"],
        }
        if c["credentials_ref"]:
            doc["credentials"] = c["credentials_ref"]
        elif c["credentials_enc"]:
            doc["credentials"] = {"encrypted": bytes(c["credentials_enc"]).decode()}
        if c["options"]:
            doc["options"] = c["options"]
        if c["inbound"]:
            doc["inbound"] = c["inbound"]
        if c["associations"]:
            doc["associations"] = c["associations"]
        objects: dict[str, Any] = {}
        for m in db.execute(
            "SELECT * FROM syncsvc.field_mapping WHERE connection_id = %s "
            "ORDER BY object, position",
            (c["id"],),
        ):
            objects.setdefault(m["object"], {"mappings": []})["mappings"].append(
                _mapping_from_row(m)
            )
        if objects:
            doc["objects"] = objects
        rules = []
        for r in db.execute(
            "SELECT * FROM syncsvc.sync_rule WHERE connection_id = %s ORDER BY position", (c["id"],)
        ):
            rule: dict[str, Any] = {
                "name": r["name"],
                "source": r["source_table"],
                "operations": list(r["operations"]),
                "action": r["action"],
                "object": r["target_object"],
            }
            if r["id_property"]:
                rule["id_property"] = r["id_property"]
            if r["condition"] is not None:
                rule["when"] = r["condition"]
            if not r["enabled"]:
                rule["enabled"] = False
            rules.append(rule)
        doc["rules"] = rules
        connections.append(json.loads(json.dumps(doc)))
    return {"version": 1, "connections": connections}
