"""`config apply` / `config export`: complete checks with named errors, encrypted secrets."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from syncsvc.config.loader import check_source_fields, load_config_file
from syncsvc.config.store import apply_config, export_config
from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.settings import Settings

VALID = {
    "version": 1,
    "connections": [
        {
            "name": "hs-config-test",
            "provider": "hubspot",
            "base_url": "http://127.0.0.1:9",
            "credentials": {"access_token": "${TEST_HUBSPOT_TOKEN}"},
            "objects": {"contacts": {"mappings": [{"source": "email", "target": "email"},
                                                  {"source": "first_name", "target": "firstname"}]}},
            "rules": [
                {"name": "c", "source": "demo.contacts", "operations": ["insert", "update"],
                 "when": {"any": [{"field": "lifecycle_stage", "op": "eq", "value": "lead"}]},
                 "action": "upsert", "object": "contacts", "id_property": "email"},
                {"name": "d", "source": "demo.contacts", "operations": ["delete"], "action": "archive",
                 "object": "contacts"},
            ],
        }
    ],
}  # fmt: skip


def write(tmp_path: Path, doc: object, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def with_change(path: list[object], value: object) -> dict[str, object]:
    import copy

    doc = copy.deepcopy(VALID)
    target: object = doc
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (with_change(["connections", 0, "provider"], "hubsplot"), r"connections\[0\].provider: unknown provider 'hubsplot'"),
        (with_change(["connections", 0, "rules", 0, "when"], {"field": "x", "op": "like", "value": 1}),
         r"connections\[0\].rules\[0\].when.op: unknown operator 'like'"),
        (with_change(["connections", 0, "rules", 0, "action"], "merge"), r"connections\[0\].rules\[0\].action: must be one of"),
        (with_change(["connections", 0, "rules", 0, "object"], "tickets"), r"rules\[0\].object: hubspot has no object 'tickets'"),
        (with_change(["connections", 0, "batch_size"], 500), r"connections\[0\].batch_size: must be an integer from 1 to 100"),
        (with_change(["connections", 0, "mode"], "pull"), r"connections\[0\].mode"),
        (with_change(["connections", 0, "base_url"], "ftp://x"), r"connections\[0\].base_url"),
        (with_change(["connections", 0, "colour"], "red"), r"connections\[0\]: unknown key\(s\) \['colour'\]"),
        (with_change(["connections", 0, "rules", 1, "action"], "upsert"), r"rules\[1\].action: rules for 'delete'"),
        (with_change(["connections", 0, "objects"], {"contacts": {"mappings": [{"source": "email", "target": "email", "transforms": ["rot13"]}]}}),
         r"objects.contacts.mappings\[0\].transforms\[0\]: unknown transform 'rot13'"),
        (with_change(["connections", 0, "credentials"], {"access_token": "${NOT_SET_ANYWHERE}"}),
         r"credentials.access_token: environment variable NOT_SET_ANYWHERE is not set"),
        ("connections: [\n  - name: x\n    provider: [", r"invalid YAML: line 2, column 3: expected the node content"),
        ({"connections": []}, r"connections: must be a non-empty list"),
        (with_change(["connections", 0, "options"], {"colour": "red"}),
         r"connections\[0\].options: hubspot: unknown option\(s\) \['colour'\] \(known: none\)"),
    ],
)  # fmt: skip
def test_bad_config_files_are_rejected_with_file_path_and_reason(
    tmp_path: Path, doc: object, message: str
) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError, match=message) as info:
        load_config_file(path, env={"TEST_HUBSPOT_TOKEN": "t"})
    assert str(info.value).startswith(str(path))


def test_unknown_source_fields_and_tables_without_a_spec_are_reported(
    tmp_path: Path, settings: Settings
) -> None:
    doc = with_change(
        ["connections", 0, "objects"],
        {"contacts": {"mappings": [{"source": "e_mail", "target": "email"}]}},
    )
    doc["connections"][0]["rules"].append(  # type: ignore[index]
        {
            "name": "x",
            "source": "demo.nothing",
            "operations": ["insert"],
            "action": "upsert",
            "object": "contacts",
        }
    )
    problems = check_source_fields(
        load_config_file(write(tmp_path, doc), env={"TEST_HUBSPOT_TOKEN": "t"}),
        settings.internal_schema_dirs,
    )
    assert any("rules[2].source: no field spec demo.nothing.json" in p for p in problems)
    assert any("mappings[0].source: demo.contacts has no field 'e_mail'" in p for p in problems)


def test_apply_stores_encrypted_credentials_and_export_round_trips(
    tmp_path: Path, settings: Settings, db: psycopg.Connection[Row]
) -> None:
    doc = load_config_file(write(tmp_path, VALID), env={"TEST_HUBSPOT_TOKEN": "s3cret-token-value"})
    with db.transaction():
        result = apply_config(db, settings, doc)
    assert "hs-config-test" in result.created + result.updated
    raw = db.execute(
        "SELECT credentials_enc::text AS enc, credentials_ref FROM syncsvc.connection WHERE name = 'hs-config-test'"
    ).fetchone()
    assert raw is not None
    assert "s3cret" not in raw["enc"]
    assert raw["credentials_ref"] == {"access_token": "${TEST_HUBSPOT_TOKEN}"}
    exported = export_config(db, ["hs-config-test"])
    conn = exported["connections"][0]
    assert conn["credentials"] == {"access_token": "${TEST_HUBSPOT_TOKEN}"}
    assert conn["rules"][0]["when"] == VALID["connections"][0]["rules"][0]["when"]  # type: ignore[index]
    assert {m["target"] for m in conn["objects"]["contacts"]["mappings"]} >= {"email"}
    again = load_config_file(
        write(tmp_path, exported, "exported.yaml"), env={"TEST_HUBSPOT_TOKEN": "x"}
    )
    assert again.connections[0].rules == doc.connections[0].rules
    assert again.connections[0].objects == doc.connections[0].objects
    db.execute("DELETE FROM syncsvc.connection WHERE name = 'hs-config-test'")
    db.commit()


def test_literal_credentials_export_encrypted_and_apply_again(
    tmp_path: Path, settings: Settings, db: psycopg.Connection[Row]
) -> None:
    literal = with_change(
        ["connections", 0, "credentials"], {"access_token": "plain-literal-token"}
    )
    with db.transaction():
        apply_config(db, settings, load_config_file(write(tmp_path, literal), env={}))
    exported = export_config(db, ["hs-config-test"])
    blob = exported["connections"][0]["credentials"]
    assert set(blob) == {"encrypted"} and "plain-literal-token" not in blob["encrypted"]
    doc = load_config_file(write(tmp_path, exported, "again.yaml"), env={})
    with db.transaction():
        apply_config(db, settings, doc)
    from syncsvc.config.runtime import load_runtime_config

    runtime = load_runtime_config(db)
    conn = next(c for c in runtime.connections.values() if c.name == "hs-config-test")
    assert conn.connection_info(settings).credentials == {"access_token": "plain-literal-token"}
    db.execute("DELETE FROM syncsvc.connection WHERE name = 'hs-config-test'")
    db.commit()
