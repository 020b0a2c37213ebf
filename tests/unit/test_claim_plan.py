"""``claim.plan``: claimed events → one latest change per record, cut into batches per
(connection, table), with the bookkeeping the bridge marks the events by."""

from __future__ import annotations

from typing import Any

from providers.registry import get_provider
from syncsvc.bridge.claim import Claim, describe, plan
from syncsvc.config.runtime import CompiledRule, RuntimeConfig, RuntimeConnection
from syncsvc.db import Row
from syncsvc.pipeline.batch import Batch
from tests.support.runtime import runtime_connection

CONTACTS = "demo.contacts"
DEALS = "demo.deals"


def rule(table: str = CONTACTS, ops: str = "IUD", obj: str = "contacts") -> CompiledRule:
    return CompiledRule(
        id=1,
        name=f"{table}-{ops}",
        source_table=table,
        op_codes=frozenset(ops),
        predicate=None,
        action="upsert",
        object=obj,
        id_property="syncsvc_id",
    )


def connection(
    cid: int, *rules: CompiledRule, provider: str = "hubspot", enabled: bool = True
) -> RuntimeConnection:
    return runtime_connection(cid, *rules, provider=get_provider(provider), enabled=enabled)


def config(*connections: RuntimeConnection) -> RuntimeConfig:
    return RuntimeConfig(generation=1, connections={c.id: c for c in connections})


def event(
    eid: int,
    key: int | dict[str, Any],
    op: str = "U",
    table: str = CONTACTS,
    row: dict[str, Any] | None = None,
    targets: list[int] | None = None,
) -> Row:
    pk = key if isinstance(key, dict) else {"id": key}
    return {"id": eid, "table_name": table, "op": op, "pk": pk, "row": row, "targets": targets}


def batches_of(claim: Claim, connection_id: int) -> list[Batch]:
    return [b for _, b in claim.batches if b["connection_id"] == connection_id]


ONE = config(connection(1, rule(), rule(DEALS, obj="deals")))


def test_changes_of_one_record_coalesce_into_its_latest_with_every_event_id() -> None:
    claim = plan(
        [event(10, 7, "I"), event(11, 7, "U"), event(12, 8, "I"), event(13, 7, "D")], ONE, 100
    )

    [(provider, batch)] = claim.batches
    assert provider == "hubspot"
    assert (batch["connection_id"], batch["table"]) == (1, CONTACTS)
    assert batch["records"] == [
        {"pk": {"id": 7}, "op": "D", "version": 13},
        {"pk": {"id": 8}, "op": "I", "version": 12},
    ]
    assert sorted(batch["event_ids"]) == [10, 11, 12, 13]
    assert claim.events == 4


def test_the_latest_change_is_the_highest_event_id_whatever_the_claim_order() -> None:
    claim = plan([event(21, 7, "D"), event(20, 7, "U", row={"email": "old@example.com"})], ONE, 100)

    [(_, batch)] = claim.batches
    assert batch["records"] == [{"pk": {"id": 7}, "op": "D", "version": 21}]
    assert sorted(batch["event_ids"]) == [20, 21]


def test_a_captured_row_travels_with_the_record_and_keys_only_events_carry_none() -> None:
    row = {"id": 7, "email": "a@example.com"}
    claim = plan([event(1, 7, "I", row=row), event(2, 8, "U")], ONE, 100)

    [(_, batch)] = claim.batches
    assert batch["records"][0] == {"pk": {"id": 7}, "op": "I", "version": 1, "row": row}
    assert "row" not in batch["records"][1]


def test_composite_keys_coalesce_only_when_every_key_column_matches() -> None:
    claim = plan(
        [
            event(1, {"a": 1, "b": "x"}),
            event(2, {"b": "x", "a": 1}),  # the same key, columns in another order
            event(3, {"a": 1, "b": "y"}),
        ],
        ONE,
        100,
    )

    [(_, batch)] = claim.batches
    assert [r["version"] for r in batch["records"]] == [2, 3]
    assert sorted(batch["event_ids"]) == [1, 2, 3]


def test_batches_are_cut_per_connection_and_table_at_the_batch_size() -> None:
    events = [event(i, i) for i in range(1, 6)] + [event(6, 1, table=DEALS)]
    claim = plan(events, ONE, 2)

    contacts = [b for b in batches_of(claim, 1) if b["table"] == CONTACTS]
    deals = [b for b in batches_of(claim, 1) if b["table"] == DEALS]
    assert [[r["pk"]["id"] for r in b["records"]] for b in contacts] == [[1, 2], [3, 4], [5]]
    assert [b["event_ids"] for b in contacts] == [[1, 2], [3, 4], [5]]
    assert [[r["pk"]["id"] for r in b["records"]] for b in deals] == [[1]]


def test_the_batch_size_counts_records_not_events() -> None:
    events = [event(1, 1), event(2, 1), event(3, 1), event(4, 2), event(5, 2)]
    claim = plan(events, ONE, 2)

    [(_, batch)] = claim.batches
    assert len(batch["records"]) == 2
    assert batch["event_ids"] == [1, 2, 3, 4, 5]


def test_each_connection_that_wants_the_change_gets_its_own_batch() -> None:
    cfg = config(
        connection(1, rule()),
        connection(2, rule(obj="Contact"), provider="salesforce"),
        connection(3, rule(DEALS, obj="deals")),
    )
    claim = plan([event(1, 7), event(2, 8)], cfg, 100)

    assert sorted((p, b["connection_id"]) for p, b in claim.batches) == [
        ("hubspot", 1),
        ("salesforce", 2),
    ]
    for _, batch in claim.batches:
        assert [r["pk"] for r in batch["records"]] == [{"id": 7}, {"id": 8}]
    assert claim.targets == {(1, 2): [1, 2]}
    assert claim.captured == {1: 2, 2: 2}


def test_rules_decide_by_table_and_operation() -> None:
    cfg = config(connection(1, rule(ops="IU")), connection(2, rule(ops="D")))
    claim = plan(
        [event(1, 7, "I"), event(2, 8, "D"), event(3, 9, "U", table="demo.other")], cfg, 100
    )

    assert claim.targets == {(1,): [1], (2,): [2]}
    assert claim.untargeted == [3]
    assert {b["connection_id"]: [r["op"] for r in b["records"]] for _, b in claim.batches} == {
        1: ["I"],
        2: ["D"],
    }


def test_events_nobody_wants_are_left_out_of_every_batch() -> None:
    cfg = config(connection(1, rule(), enabled=False), connection(2, rule(DEALS)))
    claim = plan([event(1, 7), event(2, 8)], cfg, 100)

    assert claim.batches == []
    assert claim.untargeted == [1, 2]
    assert claim.targets == {}
    assert claim.captured == {}
    assert describe(claim) == {"events": 2, "batches": 0, "dropped": 2}


def test_a_redispatch_goes_only_where_the_event_has_not_been_persisted_yet() -> None:
    cfg = config(connection(1, rule()), connection(2, rule()), connection(3, rule()))
    claim = plan([event(1, 7, targets=[2, 3, 4]), event(2, 8, targets=[4])], cfg, 100)

    assert sorted(b["connection_id"] for _, b in claim.batches) == [2, 3]
    assert claim.targets == {(2, 3): [1]}
    # a connection that no longer wants it (4) leaves nothing to do: the event is dropped
    assert claim.untargeted == [2]
    # re-dispatched events were counted as captured when they first went out
    assert claim.captured == {}


def test_new_events_are_counted_as_captured_per_connection() -> None:
    cfg = config(connection(1, rule()), connection(2, rule(DEALS)))
    events = [event(1, 7), event(2, 7), event(3, 1, table=DEALS), event(4, 8, targets=[1])]
    claim = plan(events, cfg, 100)

    assert claim.captured == {1: 2, 2: 1}
    assert describe(claim) == {"events": 4, "batches": 2, "dropped": 0}
