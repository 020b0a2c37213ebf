"""``transform_batch``: a connection's rules and field mappings turn validated records into outbox
items, or into rejects that name the field and the reason (the dead letters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from providers.registry import get_provider
from syncsvc.config.runtime import CompiledRule, RuntimeConnection
from syncsvc.mapping.mapper import compile_mapper
from syncsvc.pipeline.batch import Batch, EventRecord, Reject, reject
from syncsvc.pipeline.transform import transform_batch
from syncsvc.rules.conditions import Predicate, compile_condition
from tests.support.runtime import runtime_connection

TABLE = "demo.contacts"
DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        {"source": "email", "target": "email", "transforms": ["strip", "lower"], "required": True},
        {"source": "first_name", "target": "firstname", "transforms": ["strip"]},
        {"source": "last_name", "target": "lastname", "transforms": ["strip"]},
        {"source": "phone", "target": "phone", "transforms": ["strip"]},
        {"source": "lifecycle_stage", "target": "lifecyclestage", "transforms": ["lower"]},
        {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"], "required": True},
    ],
}
"""The demo's contact mappings (HubSpot's targets; ``syncsvc_id`` the demo's own id property)."""
ROW = {
    "id": 7,
    "email": " Ada@Example.COM ",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": None,
    "lifecycle_stage": "Lead",
}


def rule(
    action: str = "upsert",
    obj: str = "contacts",
    ops: str = "IUD",
    when: dict[str, Any] | None = None,
    predicate: Predicate | None = None,
    id_property: str | None = "syncsvc_id",
) -> CompiledRule:
    return CompiledRule(
        id=1,
        name=f"{action}-{obj}",
        source_table=TABLE,
        op_codes=frozenset(ops),
        predicate=compile_condition(when) if when else predicate,
        action=action,
        object=obj,
        id_property=id_property,
    )


def connection(
    *rules: CompiledRule,
    mappings: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    schema_dir: Path | None = None,
) -> RuntimeConnection:
    provider = get_provider("hubspot")
    if schema_dir is not None:
        provider = dataclasses.replace(provider, schema_dir=schema_dir)
    specs = DEFAULT_MAPPINGS if mappings is None else mappings
    connection = runtime_connection(
        1,
        *rules,
        provider=provider,
        mappers={obj: compile_mapper(list(s), f"test.{obj}") for obj, s in specs.items()},
    )
    return dataclasses.replace(connection, name="hubspot-test")


def record(key: int = 7, op: str = "U", version: int = 1, **row: Any) -> EventRecord:
    out: EventRecord = {"pk": {"id": key}, "op": op, "version": version, "record_key": str(key)}
    if op != "D":
        out["row"] = {**ROW, "id": key, **row}
    return out


def batch(*records: EventRecord, rejects: list[Reject] | None = None) -> Batch:
    b = Batch(connection_id=1, table=TABLE, event_ids=[11, 12, 13], records=list(records))
    if rejects is not None:
        b["rejects"] = rejects
    return b


def test_an_upsert_becomes_an_outbox_item_shaped_for_the_crm() -> None:
    out = transform_batch(connection(rule()), batch(record(version=42)))

    assert out["rejects"] == []
    assert out["items"] == [
        {
            "object": "contacts",
            "record_key": "7",
            "source_table": TABLE,
            "op": "upsert",
            "id_property": "syncsvc_id",
            "id_value": "7",
            "payload": {
                "email": "ada@example.com",
                "firstname": "Ada",
                "lastname": "Lovelace",
                "phone": "",
                "lifecyclestage": "lead",
                "syncsvc_id": "7",
            },
            "version": 42,
        }
    ]


def test_the_output_keeps_the_batch_identity_and_carries_items_not_records() -> None:
    out = transform_batch(connection(rule()), batch(record(1), record(2)))

    assert (out["connection_id"], out["table"], out["event_ids"]) == (1, TABLE, [11, 12, 13])
    assert "records" not in out
    assert [i["record_key"] for i in out["items"]] == ["1", "2"]


def test_a_rule_applies_only_to_its_operations() -> None:
    conn = connection(rule(ops="IU"))
    out = transform_batch(conn, batch(record(1, "I"), record(2, "D"), record(3, "U")))

    assert [i["record_key"] for i in out["items"]] == ["1", "3"]
    assert out["rejects"] == []


def test_a_condition_filters_inserts_and_updates_but_never_a_delete() -> None:
    conn = connection(
        rule(ops="IU", when={"field": "lifecycle_stage", "op": "eq", "value": "customer"}),
        rule(
            action="archive", ops="D", when={"field": "lifecycle_stage", "op": "eq", "value": "x"}
        ),
    )
    records = [
        record(1, lifecycle_stage="lead"),
        record(2, lifecycle_stage="customer"),
        record(3, "D"),
    ]
    out = transform_batch(conn, batch(*records))

    assert [(i["record_key"], i["op"]) for i in out["items"]] == [("2", "upsert"), ("3", "archive")]


def test_a_delete_is_an_archive_with_the_id_property_taken_from_the_key() -> None:
    out = transform_batch(connection(rule(action="archive", ops="D")), batch(record(9, "D", 5)))

    assert out["items"] == [
        {
            "object": "contacts",
            "record_key": "9",
            "source_table": TABLE,
            "op": "archive",
            "id_property": "syncsvc_id",
            "id_value": "9",  # through the mapping's to_string
            "payload": {},
            "version": 5,
        }
    ]


def test_an_archive_has_no_id_value_when_the_id_property_is_not_mapped_from_the_key() -> None:
    not_from_key = {"contacts": [{"source": "email", "target": "syncsvc_id"}]}
    for conn in (
        connection(rule(action="archive", ops="D"), mappings=not_from_key),
        connection(rule(action="archive", ops="D"), mappings={}),
        connection(rule(action="archive", ops="D", id_property=None)),
    ):
        [item] = transform_batch(conn, batch(record(9, "D")))["items"]
        assert (item["op"], item["id_value"]) == ("archive", None)


def test_the_id_value_of_an_archive_goes_through_the_mappings_transforms() -> None:
    by_code = {
        "contacts": [{"source": "code", "target": "ext_id", "transforms": ["strip", "upper"]}]
    }
    conn = connection(rule(action="archive", ops="D", id_property="ext_id"), mappings=by_code)
    gone: EventRecord = {"pk": {"code": " ab-9 "}, "op": "D", "version": 3, "record_key": " ab-9 "}
    [item] = transform_batch(conn, batch(gone))["items"]

    assert (item["id_property"], item["id_value"]) == ("ext_id", "AB-9")


def test_every_matching_rule_yields_an_item_in_rule_order() -> None:
    companies: list[dict[str, Any]] = [
        {"source": "last_name", "target": "name"},
        {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
    ]
    conn = connection(
        rule(obj="contacts"),
        rule(action="create", obj="companies", id_property=None),
        mappings={**DEFAULT_MAPPINGS, "companies": companies},
    )
    out = transform_batch(conn, batch(record(1)))

    assert [(i["object"], i["op"]) for i in out["items"]] == [
        ("contacts", "upsert"),
        ("companies", "create"),
    ]
    assert out["items"][1]["payload"] == {"name": "Lovelace", "syncsvc_id": "1"}


def test_a_matching_skip_rule_stops_the_rules_after_it() -> None:
    conn = connection(
        rule(action="skip", when={"field": "lifecycle_stage", "op": "eq", "value": "Lead"}),
        rule(),
    )
    out = transform_batch(conn, batch(record(1), record(2, lifecycle_stage="customer")))

    assert [i["record_key"] for i in out["items"]] == ["2"]
    assert out["rejects"] == []


def test_a_condition_that_fails_rejects_the_record_and_the_batch_goes_on() -> None:
    def broken(row: Mapping[str, Any]) -> bool:
        return bool(row["no_such_column"])

    conn = connection(rule(ops="I", predicate=broken), rule(ops="IU"))
    out = transform_batch(conn, batch(record(1, "I"), record(2, "U")))

    [bad] = out["rejects"]
    assert (bad["record_key"], bad["stage"], bad["field"]) == ("1", "transform", None)
    assert bad["reason"] == "condition failed: 'no_such_column'"
    assert [i["record_key"] for i in out["items"]] == ["2"]


def test_an_object_without_field_mappings_is_rejected_naming_the_object() -> None:
    out = transform_batch(connection(rule(obj="tickets")), batch(record(1)))

    [bad] = out["rejects"]
    assert (bad["stage"], bad["field"], bad["object"]) == ("transform", None, "tickets")
    assert bad["reason"] == "no field mappings for tickets"
    assert out["items"] == []


def test_a_missing_required_value_is_rejected_naming_the_field() -> None:
    out = transform_batch(connection(rule()), batch(record(1, email=None), record(2)))

    [bad] = out["rejects"]
    assert (bad["record_key"], bad["field"]) == ("1", "email")
    assert bad["reason"] == "email: required value is missing"
    assert bad["event"] == {
        "table": TABLE,
        "pk": {"id": 1},
        "op": "U",
        "version": 1,
        "row": {**ROW, "id": 1, "email": None},
    }
    assert [i["record_key"] for i in out["items"]] == ["2"]


def test_an_upsert_without_a_value_for_its_id_property_is_rejected(tmp_path: Path) -> None:
    optional_key = {"contacts": [{"source": "ext", "target": "ext_id"}]}
    conn = connection(rule(id_property="ext_id"), mappings=optional_key)
    out = transform_batch(conn, batch(record(1), record(2, ext="")))

    assert [(r["record_key"], r["field"]) for r in out["rejects"]] == [
        ("1", "ext_id"),
        ("2", "ext_id"),
    ]
    assert out["rejects"][0]["reason"] == "upsert needs a value for id property 'ext_id'"
    # an update does not need one
    updated = transform_batch(
        connection(
            rule(action="update", id_property="ext_id"), mappings=optional_key, schema_dir=tmp_path
        ),
        batch(record(1)),
    )
    assert [(i["op"], i["id_value"]) for i in updated["items"]] == [("update", None)]


def test_a_value_the_crm_cannot_take_is_rejected_naming_the_field() -> None:
    mappings: dict[str, list[dict[str, Any]]] = {
        "contacts": [
            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
            {"source": "score", "target": "score"},
        ]
    }
    out = transform_batch(
        connection(rule(), mappings=mappings), batch(record(1, score=float("nan")))
    )

    [bad] = out["rejects"]
    assert bad["field"] == "score"
    assert bad["reason"].startswith("cannot shape for hubspot: hubspot: score is nan")


def test_a_payload_that_fails_the_destination_schema_is_rejected(tmp_path: Path) -> None:
    records = [record(1, email="not-an-email"), record(2)]
    out = transform_batch(connection(rule()), batch(*records))

    [bad] = out["rejects"]
    assert (bad["record_key"], bad["stage"], bad["field"], bad["object"]) == (
        "1",
        "transform",
        "email",
        "contacts",
    )
    assert bad["reason"].startswith("email: ")
    assert [i["record_key"] for i in out["items"]] == ["2"]
    # without a destination schema for the object nothing is checked
    unchecked = transform_batch(connection(rule(), schema_dir=tmp_path), batch(*records))
    assert [i["record_key"] for i in unchecked["items"]] == ["1", "2"]


def test_rejects_from_validation_come_first_and_are_kept() -> None:
    earlier = reject(record(5), TABLE, "validate", "phone", "phone: too long")
    out = transform_batch(connection(rule(obj="tickets")), batch(record(1), rejects=[earlier]))

    assert [(r["record_key"], r["stage"]) for r in out["rejects"]] == [
        ("5", "validate"),
        ("1", "transform"),
    ]
