"""Which unacknowledged messages a worker hands back (tasks.redelivery.orphaned)."""

from __future__ import annotations

from tasks.redelivery import DEAD_AFTER_SECONDS, orphaned

NOW = 1_000_000.0


def test_messages_of_a_live_incarnation_stay_with_it() -> None:
    owners = {"a": "push-hubspot@h 111-x", "b": "sync@h 222-y"}
    delivered = {"a": NOW - 5000, "b": NOW - 1}
    alive = {"push-hubspot@h": "111-x", "sync@h": "222-y"}
    assert orphaned(owners, delivered, alive, NOW) == []


def test_a_restarted_worker_hands_back_what_its_previous_life_held() -> None:
    owners = {"a": "push-hubspot@h 111-old", "b": "push-hubspot@h 333-new"}
    delivered = {"a": NOW - 1, "b": NOW - 1}
    assert orphaned(owners, delivered, {"push-hubspot@h": "333-new"}, NOW) == ["a"]


def test_messages_of_a_worker_with_no_heartbeat_are_handed_back() -> None:
    owners = {"a": "push-zoho@h 444-z"}
    assert orphaned(owners, {"a": NOW - 1}, {"push-zoho@h": None}, NOW) == ["a"]


def test_an_unowned_message_is_handed_back_only_once_it_is_old() -> None:
    fresh = {"new": NOW - 1}
    old = {"old": NOW - DEAD_AFTER_SECONDS - 1}
    assert orphaned({}, fresh, {}, NOW) == []
    assert orphaned({}, old, {}, NOW) == ["old"]


def test_owner_records_of_acknowledged_messages_are_ignored() -> None:
    assert orphaned({"gone": "sync@h 1-a"}, {}, {}, NOW) == []
