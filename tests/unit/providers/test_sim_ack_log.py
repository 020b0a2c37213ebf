"""The simulator's ack log read from a sequence number: the same acks a full scan finds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.simulation import app as sim_app
from providers.simulation.app import SimApp, SimRequest


def _acks(sim: SimApp, since: int, limit: int | None = None) -> dict[str, Any]:
    query = {"since": [str(since)], **({"limit": [str(limit)]} if limit is not None else {})}
    request = SimRequest("GET", "/_sim/acks", query, {}, b"")
    body: dict[str, Any] = json.loads(sim._acks(request).body)
    return body


@pytest.mark.parametrize(("since", "limit"), [(0, None), (3, None), (7, 2), (9, None), (12, 5)])
def test_acks_after_a_seq_match_a_scan_even_when_the_log_dropped_its_oldest(
    monkeypatch: pytest.MonkeyPatch, since: int, limit: int | None
) -> None:
    monkeypatch.setattr(sim_app, "ACK_LOG_LIMIT", 6)
    sim = SimApp()
    for n in range(1, 11):
        sim.ack("contacts", str(n), "upsert")
    body = _acks(sim, since, limit)
    expected = [a for a in sim.acks if a["seq"] > since][: limit if limit is not None else None]
    assert body["acks"] == expected
    assert body["last"] == 10
    assert [a["seq"] for a in sim.acks] == [5, 6, 7, 8, 9, 10]


def test_a_limit_of_zero_returns_only_the_last_seq() -> None:
    sim = SimApp()
    sim.ack("contacts", "1", "upsert")
    assert _acks(sim, 0, 0) == {"acks": [], "last": 1}
