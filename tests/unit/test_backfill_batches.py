"""A backfill's events on their way: batches of their own, tagged, through its rule alone."""

from __future__ import annotations

import dataclasses

from syncsvc.bridge.claim import plan
from syncsvc.pipeline.transform import transform_batch
from tests.unit import test_claim_plan as claims
from tests.unit import test_transform_batch as transforms


def test_backfill_events_travel_apart_from_live_ones_and_carry_their_backfill() -> None:
    live = claims.event(1, 7)
    # as the page writes them: aimed at their connection, tagged
    backfilled = [{**claims.event(i, i, targets=[1]), "backfill_id": 3} for i in (2, 8, 9)]
    other = {**claims.event(5, 7, targets=[1]), "backfill_id": 4}
    claim = plan([live, *backfilled, other], claims.ONE, 500)

    batches = {b.get("backfill_id"): b for b in claims.batches_of(claim, 1)}
    assert set(batches) == {None, 3, 4}
    assert [r["version"] for r in batches[None]["records"]] == [1]
    assert [r["pk"]["id"] for r in batches[3]["records"]] == [2, 8, 9]
    assert [r["version"] for r in batches[4]["records"]] == [5]  # record 7 goes in both
    assert claim.captured == {1: 1}, "backfill events are not counted as captured"


def test_a_backfill_of_one_rule_sends_only_that_rules_items() -> None:
    upsert = transforms.rule()
    copy = dataclasses.replace(transforms.rule(obj="contacts"), name="second-copy")
    conn = transforms.connection(upsert, copy)
    batch = {**transforms.batch(transforms.record(1)), "backfill_id": 9}

    every = transform_batch(conn, batch)  # type: ignore[arg-type]
    only = transform_batch(conn, batch, only_rule="second-copy")  # type: ignore[arg-type]

    assert len(every["items"]) == 2
    assert len(only["items"]) == 1
    assert only["backfill_id"] == 9


def test_a_skip_rule_before_the_backfills_rule_still_skips() -> None:
    skip = dataclasses.replace(transforms.rule(action="skip"), name="skip-all")
    conn = transforms.connection(skip, transforms.rule())
    out = transform_batch(conn, transforms.batch(transforms.record(1)), only_rule="upsert-contacts")
    assert out["items"] == []
