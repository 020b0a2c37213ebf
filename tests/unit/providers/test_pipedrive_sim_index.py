"""The simulated Pipedrive search index: writes reach search ``lag`` seconds late."""

from __future__ import annotations

from providers.pipedrive.sim.fields import new_field_sets
from providers.pipedrive.sim.index import SearchIndex
from providers.pipedrive.sim.store import ObjectStore


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def store_with_lag(lag: float, clock: Clock) -> ObjectStore:
    return ObjectStore("persons", new_field_sets(None)["persons"], None, SearchIndex(lag, clock))


def names(store: ObjectStore, term: str) -> list[str]:
    return [hit["item"]["name"] for hit in store.search(term, {"name"}, exact=True)]


def test_a_new_record_is_found_only_once_the_lag_has_passed() -> None:
    clock = Clock()
    store = store_with_lag(3.0, clock)
    store.create({"name": "Ada"})
    assert names(store, "Ada") == []
    clock.now += 2.9
    assert names(store, "Ada") == []
    clock.now += 0.2
    assert names(store, "Ada") == ["Ada"]


def test_an_update_is_searched_by_its_old_value_until_indexed() -> None:
    clock = Clock()
    store = store_with_lag(3.0, clock)
    record = store.create({"name": "Ada"})
    clock.now += 5
    store.update(record, {"name": "Grace"})
    clock.now += 1
    store.update(record, {"name": "Hopper"})
    assert names(store, "Ada") == ["Ada"]
    assert names(store, "Grace") == []
    clock.now += 2.5  # the first update is indexed, the second not yet
    assert names(store, "Grace") == ["Grace"]
    clock.now += 1
    assert names(store, "Hopper") == ["Hopper"]
    assert names(store, "Grace") == []


def test_a_deleted_record_is_still_found_until_indexed() -> None:
    clock = Clock()
    store = store_with_lag(3.0, clock)
    record = store.create({"name": "Ada"})
    clock.now += 5
    store.delete(record)
    assert names(store, "Ada") == ["Ada"]
    clock.now += 3
    assert names(store, "Ada") == []


def test_no_lag_indexes_every_write_at_once() -> None:
    clock = Clock()
    store = store_with_lag(0.0, clock)
    record = store.create({"name": "Ada"})
    assert names(store, "Ada") == ["Ada"]
    store.update(record, {"name": "Grace"})
    assert names(store, "Grace") == ["Grace"]
