"""PipedriveClient against the simulator over real HTTP: idempotent upserts without an upsert
API, one record per request, per-record failures, archive, throttling and field lists."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from providers.base import ConnectionInfo, PushItem
from providers.pipedrive import PipedriveClient
from providers.pipedrive.sim import PipedriveSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import CredentialsRefused, PermanentError, RateLimited, RetryableError
from tests.integration.providers.helpers import OAUTH, by_id, simulators

API_TOKEN = {"api_token": "demo-api-token"}
Started = tuple[SimServer, PipedriveSim]


class Calls:
    """Every request a client's session made: (method, path)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def attach(self, session: requests.Session) -> requests.Session:
        def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            self.seen.append((str(response.request.method), urlparse(response.request.url).path))

        session.hooks["response"].append(hook)
        return session

    def count(self, method: str, suffix: str = "") -> int:
        return sum(1 for m, p in self.seen if m == method and p.endswith(suffix))


@pytest.fixture
def start() -> Iterator[Callable[..., Started]]:
    with simulators(lambda o: make_simulator({**example_sim_options("pipedrive"), **o})) as run:
        yield run


@pytest.fixture
def sim(start: Callable[..., Started]) -> Started:
    return start()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def client_for(sim: Started, calls: Calls) -> Iterator[Callable[..., PipedriveClient]]:
    made: list[PipedriveClient] = []

    def make(
        server: SimServer | None = None,
        credentials: dict[str, Any] | None = None,
        throttle: Callable[[], None] | None = None,
        **options: Any,
    ) -> PipedriveClient:
        url = (server or sim[0]).url
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="pipedrive",
            base_url=url,
            credentials=credentials or OAUTH,
            options={"token_url": url + "/oauth/token", **options},
            batch_size=50,
            rate_limit_requests=80,
            rate_limit_seconds=2,
        )
        client = PipedriveClient(
            connection, session=calls.attach(requests.Session()), throttle=throttle
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def person(n: int, op: str = "upsert", external_id: str | None = None, **fields: Any) -> PushItem:
    payload = {"name": f"Person {n}", "emails": f"p{n}@example.com", "syncsvc_id": str(n), **fields}
    return PushItem(n, "persons", op, str(n), "syncsvc_id", str(n), payload, external_id, 1)


def deal(n: int, op: str = "upsert", external_id: str | None = None, **fields: Any) -> PushItem:
    payload = {"title": f"Deal {n}", "value": n * 10, "syncsvc_id": str(n), **fields}
    return PushItem(n, "deals", op, str(n), "syncsvc_id", str(n), payload, external_id, 1)


def new_deal(n: int) -> PushItem:
    """A ``create`` of a row never sent before (no search first)."""
    return dataclasses.replace(deal(n, "create"), maybe_sent=False)


def keys(sim: PipedriveSim, obj: str) -> list[str | None]:
    return sorted(r["key"] for r in sim.view(obj))


def test_upsert_creates_then_finds_the_record_by_key_and_updates_it(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    client = client_for()
    first = by_id(client.push("persons", "upsert", [person(1), person(2)]))
    assert all(r.ok and r.created is True for r in first.values())

    # the outbox lost the id (no external_id): the custom-field search finds the record
    [again] = client.push("persons", "upsert", [person(1, name="Renamed")])
    assert again.ok and again.created is False
    assert again.external_id == first[1].external_id

    assert keys(sim[1], "persons") == ["1", "2"]
    fields = {r["key"]: r["fields"] for r in sim[1].view("persons")}
    assert fields["1"]["name"] == "Renamed"
    assert fields["1"]["emails"] == "p1@example.com"
    assert [a["op"] for a in sim[1].acks if a["key"] == "1"] == ["create", "update"]
    assert calls.count("POST", "/api/v2/persons") == 2
    assert calls.count("PATCH") == 1


def test_a_known_external_id_is_patched_without_a_search(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    client = client_for()
    [created] = client.push("deals", "upsert", [deal(1)])
    searches = calls.count("GET", "/search")
    [updated] = client.push("deals", "upsert", [deal(1, external_id=created.external_id, value=99)])
    assert updated.ok and updated.created is False
    assert updated.external_id == created.external_id
    assert calls.count("GET", "/search") == searches
    assert sim[1].view("deals")[0]["fields"]["value"] == 99


def test_an_external_id_deleted_in_pipedrive_falls_back_to_search_then_create(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    client = client_for()
    [created] = client.push("deals", "upsert", [deal(1)])
    client.push("deals", "archive", [deal(1, "archive", external_id=created.external_id)])
    [again] = client.push("deals", "upsert", [deal(1, external_id=created.external_id)])
    assert again.ok and again.created is True
    assert again.external_id != created.external_id
    assert keys(sim[1], "deals") == ["1"]


def test_a_search_hit_in_another_custom_field_is_not_taken_for_our_record(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    client = client_for()
    client.push("persons", "upsert", [person(100, lifecycle_stage="7")])
    [result] = client.push("persons", "upsert", [person(7)])
    assert result.ok and result.created is True
    assert keys(sim[1], "persons") == ["100", "7"]


def test_a_row_never_sent_before_is_created_without_a_search(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    client = client_for()
    fresh = [dataclasses.replace(deal(n), maybe_sent=False) for n in (1, 2, 3)]
    assert all(r.ok and r.created for r in client.push("deals", "upsert", fresh))
    assert calls.count("GET", "/search") == 0
    gone = dataclasses.replace(deal(9, "archive"), maybe_sent=False)
    assert client.push("deals", "archive", [gone])[0].ok
    assert calls.count("GET", "/search") == 0
    # A row that may have been sent before is looked up, and found: no duplicate.
    [again] = client.push("deals", "upsert", [deal(1)])
    assert again.ok and again.created is False
    assert calls.count("GET", "/search") == 1
    assert keys(sim[1], "deals") == ["1", "2", "3"]


def test_create_of_rows_never_sent_sends_one_record_per_request_without_a_search(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    fresh = [new_deal(n) for n in range(1, 6)]
    results = client_for().push("deals", "create", fresh)
    assert all(r.ok and r.created for r in results)
    assert calls.count("POST", "/api/v2/deals") == 5
    assert calls.count("GET", "/search") == 0
    assert len(sim[1].dump("deals")) == 5


def test_create_of_a_row_that_may_have_been_sent_finds_the_record_instead_of_a_second(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    client = client_for()
    [first] = client.push("deals", "create", [new_deal(1)])
    [again] = client.push("deals", "create", [deal(1, "create")])  # its id was not recorded
    assert again.ok and again.created is False
    assert again.external_id == first.external_id
    [known] = client.push("deals", "create", [deal(1, "create", external_id=first.external_id)])
    assert known.ok and known.external_id == first.external_id
    assert calls.count("POST", "/api/v2/deals") == 1
    assert len(sim[1].dump("deals")) == 1


def test_one_invalid_email_fails_alone_naming_the_field(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    items = [person(n) for n in range(1, 6)]
    items[2] = person(3, emails="not-an-email")
    results = by_id(client_for().push("persons", "upsert", items))
    bad = results.pop(3)
    assert isinstance(bad.error, PermanentError)
    assert (bad.error.field, bad.error.code) == ("emails", "ERR_SCHEMA_VALIDATION_FAILED")
    assert all(r.ok for r in results.values())
    assert keys(sim[1], "persons") == ["1", "2", "4", "5"]


def test_a_value_a_validation_rule_refuses_fails_alone_naming_the_custom_field(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    requests.post(sim[0].url + "/_sim/config", json={"reject_values": ["forbidden"]}, timeout=5)
    items = [person(1), person(2, lifecycle_stage="forbidden"), person(3, name="forbidden")]
    results = by_id(client_for().push("persons", "upsert", items))
    assert results[1].ok
    assert isinstance(results[2].error, PermanentError)
    assert results[2].error.field == "lifecycle_stage"
    assert isinstance(results[3].error, PermanentError)
    assert results[3].error.field == "name"
    assert keys(sim[1], "persons") == ["1"]


def test_a_target_that_is_no_field_fails_that_item_before_any_call(
    client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    [result] = client_for().push("persons", "upsert", [person(1, favourite_colour="blue")])
    assert isinstance(result.error, PermanentError)
    assert (result.error.field, result.error.code) == ("favourite_colour", "UNKNOWN_FIELD")
    assert calls.count("POST", "/api/v2/persons") == 0


def test_update_of_a_record_that_does_not_exist_is_not_found(
    client_for: Callable[..., PipedriveClient],
) -> None:
    [result] = client_for().push("deals", "update", [deal(1, "update", external_id="999")])
    assert isinstance(result.error, PermanentError)
    assert (result.error.code, result.error.field) == ("NOT_FOUND", "syncsvc_id")


def test_archive_of_synced_and_never_synced_records_succeeds(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    client = client_for()
    created = by_id(client.push("persons", "upsert", [person(1), person(2)]))
    by_external_id = person(1, "archive", external_id=created[1].external_id)
    by_key = person(2, "archive")
    never_synced = person(3, "archive")
    no_key = person(4, "archive")
    no_key.id_value, no_key.payload = None, {}
    items = [by_external_id, by_key, never_synced, no_key]
    results = by_id(client.push("persons", "archive", items))
    assert all(r.ok for r in results.values())
    assert results[2].external_id == created[2].external_id
    assert results[3].external_id is None
    assert sim[1].view("persons") == []
    assert sorted(a["key"] for a in sim[1].acks if a["op"] == "archive") == ["1", "2"]
    # twice is harmless: the 404 of a deleted record means done
    assert client.push("persons", "archive", [by_external_id])[0].ok


def test_a_429_mid_call_keeps_the_results_of_records_written_and_defers_the_rest(
    start: Callable[..., Started], client_for: Callable[..., PipedriveClient]
) -> None:
    server, sim = start(rate_limit_requests=3, rate_limit_seconds=30)
    client = client_for(server=server)
    # fields list + two creates (of rows never sent: no search) fill the window; the third
    # create is refused
    fresh = [new_deal(n) for n in range(1, 6)]
    results = by_id(client.push("deals", "create", fresh[:4]))
    assert results[1].ok and results[2].ok
    assert all(isinstance(results[n].error, RateLimited) for n in (3, 4))
    assert len(sim.dump("deals")) == 2
    with pytest.raises(RateLimited) as caught:  # nothing sent: the whole call is raised
        client.push("deals", "create", [fresh[4]])
    assert 1 <= (caught.value.retry_after or 0) <= 30
    assert caught.value.daily is False
    assert sim.extra_stats()["max_in_window"] == 3


def test_our_own_throttle_stopping_a_call_keeps_the_results_in_hand(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    budget = iter(range(3))

    def throttle() -> None:
        if next(budget, None) is None:
            raise RateLimited("own limit", retry_after=0.5)

    client = client_for(throttle=throttle)
    results = by_id(client.push("deals", "create", [new_deal(n) for n in range(1, 4)]))
    assert results[1].ok and results[2].ok
    assert isinstance(results[3].error, RateLimited)
    assert results[3].error.retry_after == 0.5


def test_retry_after_header_is_honoured_when_sent(
    start: Callable[..., Started], client_for: Callable[..., PipedriveClient]
) -> None:
    server, _ = start(rate_limit_requests=2, rate_limit_seconds=10, send_retry_after=True)
    client = client_for(server=server)
    client.push("deals", "create", [new_deal(1)])
    with pytest.raises(RateLimited) as caught:
        client.push("deals", "create", [new_deal(2)])
    assert 1 <= (caught.value.retry_after or 0) <= 10


def test_an_exhausted_daily_budget_is_flagged_daily(
    start: Callable[..., Started], client_for: Callable[..., PipedriveClient]
) -> None:
    server, _ = start(daily_budget=25)  # the field list (20) and one create (5)
    client = client_for(server=server)
    assert client.push("deals", "create", [new_deal(1)])[0].ok
    with pytest.raises(RateLimited) as caught:
        client.push("deals", "create", [new_deal(2)])
    assert caught.value.daily is True
    assert 1 <= (caught.value.retry_after or 0) <= 3600


def test_searches_beyond_our_search_window_are_not_sent(
    sim: Started, client_for: Callable[..., PipedriveClient], calls: Calls
) -> None:
    client = client_for(search_rate_limit_requests=2, search_rate_limit_seconds=30)
    results = by_id(client.push("persons", "upsert", [person(n) for n in range(1, 5)]))
    assert results[1].ok and results[2].ok
    assert all(isinstance(results[n].error, RateLimited) for n in (3, 4))
    assert calls.count("GET", "/search") == 2


def test_the_crm_search_limit_is_raised_as_rate_limited(
    start: Callable[..., Started], client_for: Callable[..., PipedriveClient]
) -> None:
    server, sim = start(search_rate_limit_requests=1, search_rate_limit_seconds=30)
    client = client_for(server=server)
    assert client.push("persons", "upsert", [person(1)])[0].ok
    with pytest.raises(RateLimited) as caught:
        client.push("persons", "upsert", [person(2)])
    assert 1 <= (caught.value.retry_after or 0) <= 30
    assert sim.extra_stats()["search_throttled"] == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(
    sim: Started, client_for: Callable[..., PipedriveClient], status: int
) -> None:
    fault = {"mode": "http_error", "status": status, "seconds": 30}
    requests.post(sim[0].url + "/_sim/faults", json=fault, timeout=5)
    with pytest.raises(RetryableError) as caught:
        client_for().push("deals", "upsert", [deal(1)])
    assert not isinstance(caught.value, RateLimited)


def test_the_injected_rate_limit_fault_looks_like_a_pipedrive_429(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    requests.post(
        sim[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 30}, timeout=5
    )
    with pytest.raises(RateLimited) as caught:
        client_for().push("deals", "upsert", [deal(1)])
    assert 1 <= (caught.value.retry_after or 0) <= 2


def test_a_refused_api_token_is_credentials_refused_for_the_call(
    client_for: Callable[..., PipedriveClient],
) -> None:
    with pytest.raises(CredentialsRefused) as caught:
        client_for(credentials={"api_token": "wrong"}).push("deals", "upsert", [deal(1)])
    assert "unauthorized access" in str(caught.value)


def test_list_fields_names_standard_keys_and_custom_fields_by_name(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    client = client_for(credentials=API_TOKEN)
    assert {"name", "emails", "phones", "syncsvc_id", "lifecycle_stage"} <= client.list_fields(
        "persons"
    )
    assert {"name", "address", "website", "syncsvc_id"} <= client.list_fields("organizations")
    assert {
        "title",
        "value",
        "currency",
        "status",
        "expected_close_date",
        "syncsvc_id",
    } <= client.list_fields("deals")
    # a custom field added in Pipedrive shows up on the next call, and can be written by name
    added = requests.post(
        sim[0].url + "/v1/dealFields",
        json={"name": "Region", "field_type": "varchar"},
        headers={"x-api-token": "demo-api-token"},
        timeout=5,
    ).json()["data"]
    assert "Region" in client.list_fields("deals")
    assert client.describe_fields("deals").fields["Region"].custom
    assert added["key"] not in client.list_fields("deals")  # by name while the name is unique
    [result] = client.push("deals", "upsert", [deal(1, Region="EMEA")])
    assert result.ok
    assert sim[1].view("deals")[0]["fields"]["Region"] == "EMEA"


def test_every_mapping_target_of_the_example_config_is_a_field_the_account_lists(
    sim: Started, client_for: Callable[..., PipedriveClient]
) -> None:
    from pathlib import Path

    from syncsvc.config.loader import load_config_file

    example = Path(__file__).resolve().parents[3] / "examples" / "connections" / "pipedrive.yaml"
    [conn] = load_config_file(example, env={}).connections
    client = client_for()
    for object_name, mappings in conn.objects.items():
        missing = {m["target"] for m in mappings} - client.list_fields(object_name)
        assert not missing, (object_name, missing)
