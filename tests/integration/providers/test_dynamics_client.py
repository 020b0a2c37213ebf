"""DynamicsClient against the Dataverse simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests
import yaml

from providers.base import ConnectionInfo, PushItem
from providers.dynamics import DynamicsClient, multipart
from providers.dynamics.sim import DynamicsSim, make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_config, example_sim_options
from syncsvc.errors import PermanentError, RateLimited, RetryableError
from tests.integration.providers.helpers import by_id, serving
from tests.support.wait import wait_until

CREDENTIALS = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "tenant_id": "demo-tenant",
}
KEY = "syncsvc_externalid"
"""The example environment's custom column with an alternate key (examples/connections)."""
Sim = tuple[SimServer, DynamicsSim]
MakeClient = Callable[..., DynamicsClient]


@pytest.fixture
def dyn() -> Iterator[Sim]:
    options = {**example_sim_options("dynamics"), "enforce_required": True}
    with serving(make_simulator(options)) as started:
        yield started


@pytest.fixture
def sent() -> list[requests.Response]:
    return []


@pytest.fixture
def client_for(dyn: Sim, sent: list[requests.Response]) -> Iterator[MakeClient]:
    clients: list[DynamicsClient] = []

    def make(batch_size: int = 1000, credentials: Mapping[str, Any] = CREDENTIALS,
             **options: Any) -> DynamicsClient:  # fmt: skip
        session = requests.Session()
        session.hooks["response"].append(lambda r, *args, **kwargs: sent.append(r))
        token_url = f"{dyn[0].url}/demo-tenant/oauth2/v2.0/token"
        connection = ConnectionInfo(
            1, "test", "dynamics", dyn[0].url, credentials, {"token_url": token_url, **options},
            batch_size, 6000, 300,
        )  # fmt: skip
        client = DynamicsClient(connection, session=session)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def contact(n: int, op: str = "upsert", external_id: str | None = None, **values: Any) -> PushItem:
    payload = {KEY: str(n), "firstname": f"User {n}", "lastname": f"Last {n}",
               "emailaddress1": f"user{n}@example.com", **values}  # fmt: skip
    return PushItem(n, "contacts", op, str(n), KEY, str(n), payload, external_id, 1)


def batch_sizes(sent: list[requests.Response]) -> list[int]:
    sizes = []
    for response in sent:
        if response.request.url and response.request.url.endswith("/$batch"):
            body = response.request.body
            text = body.decode() if isinstance(body, bytes) else str(body)
            parts = multipart.read(response.request.headers["Content-Type"], text)
            sizes.append(len(multipart.flatten(parts)))
    return sizes


def test_upsert_creates_then_updates_the_same_record_without_duplicates(
    dyn: Sim, client_for: MakeClient
) -> None:
    client = client_for()
    first = by_id(client.push("contacts", "upsert", [contact(1), contact(2)]))
    assert all(r.ok and r.created is True and r.external_id for r in first.values())

    again = by_id(client.push("contacts", "upsert", [contact(1, firstname="Renamed")]))
    assert again[1].ok and again[1].created is False
    assert again[1].external_id == first[1].external_id

    records = {r["key"]: r for r in dyn[1].view("contacts")}
    assert set(records) == {"1", "2"}
    assert records["1"]["fields"]["firstname"] == "Renamed"
    assert records["1"]["id"] == first[1].external_id
    assert [(a["op"], a["object"]) for a in dyn[1].acks if a["key"] == "1"] == [
        ("upsert", "contacts"), ("upsert", "contacts"),
    ]  # fmt: skip


def test_the_same_batch_sent_twice_changes_nothing_the_second_time(
    dyn: Sim, client_for: MakeClient
) -> None:
    client = client_for()
    items = [contact(n) for n in range(1, 6)]
    ids = {r.outbox_id: r.external_id for r in client.push("contacts", "upsert", items)}
    again = client.push("contacts", "upsert", items)
    assert {r.outbox_id: r.external_id for r in again} == ids
    assert len(dyn[1].view("contacts")) == 5


def test_one_bad_record_fails_alone_naming_the_column_while_the_rest_land(
    dyn: Sim, client_for: MakeClient, sent: list[requests.Response]
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[2] = contact(3, emailaddress1="not-an-email")
    items[5] = contact(6, lastname="")
    results = by_id(client_for().push("contacts", "upsert", items))

    assert {n for n, r in results.items() if not r.ok} == {3, 6}
    bad_email, no_name = results[3].error, results[6].error
    assert isinstance(bad_email, PermanentError) and isinstance(no_name, PermanentError)
    assert (bad_email.field, bad_email.code) == ("emailaddress1", "0x80044331")
    assert no_name.field == "lastname"
    assert {r["key"] for r in dyn[1].view("contacts")} == {"1", "2", "4", "5", "7", "8"}
    assert batch_sizes(sent) == [8], "one $batch call, no bisection"


def test_a_value_a_validation_rule_refuses_fails_alone(dyn: Sim, client_for: MakeClient) -> None:
    requests.post(f"{dyn[0].url}/_sim/config", json={"reject_values": ["REFUSE-ME"]}, timeout=5)
    items = [contact(1), contact(2, firstname="REFUSE-ME"), contact(3)]
    results = by_id(client_for().push("contacts", "upsert", items))
    error = results[2].error
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("firstname", "0x80040265")
    assert results[1].ok and results[3].ok
    assert {r["key"] for r in dyn[1].view("contacts")} == {"1", "3"}


def test_an_unknown_column_fails_only_the_records_that_carry_it(
    dyn: Sim, client_for: MakeClient
) -> None:
    items = [contact(1), contact(2, favourite_colour="blue"), contact(3)]
    results = by_id(client_for().push("contacts", "upsert", items))
    error = results[2].error
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("favourite_colour", "0x80048d19")
    assert results[1].ok and results[3].ok


def test_more_items_than_a_batch_go_in_several_batches_of_at_most_batch_size(
    dyn: Sim, client_for: MakeClient, sent: list[requests.Response]
) -> None:
    results = client_for(batch_size=40).push("contacts", "upsert", [contact(n) for n in range(100)])
    assert len(results) == 100 and all(r.ok for r in results)
    assert batch_sizes(sent) == [40, 40, 20]
    assert len(dyn[1].view("contacts")) == 100


def test_fast_answers_grow_batches_to_the_1000_request_ceiling_and_never_beyond(
    dyn: Sim, client_for: MakeClient, sent: list[requests.Response]
) -> None:
    client = client_for(batch_size=5000)
    assert client.batch_size == 1000
    results = client.push("contacts", "upsert", [contact(n) for n in range(1, 3001)])
    assert all(r.ok for r in results)
    assert batch_sizes(sent) == [100, 200, 400, 800, 1000, 500]


def test_archive_deletes_synced_records_and_succeeds_for_records_never_synced(
    dyn: Sim, client_for: MakeClient
) -> None:
    client = client_for()
    created = by_id(client.push("contacts", "upsert", [contact(1), contact(2)]))
    archive = [
        contact(1, "archive", external_id=created[1].external_id),  # by record id
        contact(2, "archive"),  # by alternate key
        contact(3, "archive"),  # never synced: 404 is "already gone"
        PushItem(4, "contacts", "archive", "4", KEY, None, {}, None, 1),  # no key at all
    ]
    results = client.push("contacts", "archive", archive)
    assert len(results) == 4 and all(r.ok for r in results)
    assert dyn[1].view("contacts") == []
    assert sorted(a["key"] for a in dyn[1].acks if a["op"] == "archive") == ["1", "2"]


def test_update_never_creates_and_create_is_harmless_when_repeated(
    dyn: Sim, client_for: MakeClient
) -> None:
    client = client_for()
    (missing,) = client.push("contacts", "update", [contact(1)])
    assert isinstance(missing.error, PermanentError) and missing.error.code == "0x80060891"
    assert dyn[1].view("contacts") == []

    (made,) = client.push("contacts", "create", [contact(1)])
    (again,) = client.push("contacts", "create", [contact(1, firstname="Other")])
    assert made.ok and made.created is True and again.ok and again.created is False
    (changed,) = client.push(
        "contacts", "update", [contact(1, "update", made.external_id, firstname="Z")]
    )
    assert changed.ok and changed.external_id == made.external_id
    [record] = dyn[1].view("contacts")
    assert record["fields"]["firstname"] == "Z"


def test_key_values_with_quotes_and_slashes_round_trip(dyn: Sim, client_for: MakeClient) -> None:
    odd = "O'Brien/1 & 100%"
    item = PushItem(1, "accounts", "upsert", odd, KEY, odd, {KEY: odd, "name": "Odd"}, None, 1)
    client = client_for()
    assert client.push("accounts", "upsert", [item])[0].ok
    assert client.push("accounts", "upsert", [item])[0].created is False
    assert [r["key"] for r in dyn[1].view("accounts")] == [odd]


def test_throttling_is_raised_as_rate_limited_with_the_servers_retry_after(
    dyn: Sim, client_for: MakeClient
) -> None:
    dyn[1].configure({"rate_limit_requests": 2, "rate_limit_seconds": 3})
    client = client_for()
    for n in (1, 2):
        assert client.push("contacts", "upsert", [contact(n)])[0].ok
    with pytest.raises(RateLimited) as caught:
        client.push("contacts", "upsert", [contact(3)])
    wait = caught.value.retry_after
    assert wait is not None and 0 < wait <= 3 and not caught.value.daily
    assert dyn[1].stats["throttled"] == 1
    assert dyn[1].extra_stats()["max_in_window"] == 2

    def pushed() -> bool:
        try:
            return client.push("contacts", "upsert", [contact(3)])[0].ok
        except RateLimited:
            return False

    wait_until(pushed, timeout=10, interval=0.25, message="the window never reopened")


def test_a_limit_hit_between_batches_keeps_the_results_already_in_hand(
    dyn: Sim, client_for: MakeClient
) -> None:
    dyn[1].configure({"rate_limit_requests": 2, "rate_limit_seconds": 60})
    results = by_id(
        client_for(batch_size=2).push("contacts", "upsert", [contact(n) for n in range(1, 7)])
    )
    assert [n for n, r in results.items() if r.ok] == [1, 2, 3, 4]
    assert all(isinstance(results[n].error, RateLimited) for n in (5, 6))


def test_an_injected_throttle_and_server_errors_are_retryable(
    dyn: Sim, client_for: MakeClient
) -> None:
    client = client_for()
    requests.post(f"{dyn[0].url}/_sim/faults", json={"mode": "rate_limit", "seconds": 4}, timeout=5)
    with pytest.raises(RateLimited) as caught:
        client.push("contacts", "upsert", [contact(1)])
    assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 4
    requests.post(
        f"{dyn[0].url}/_sim/faults",
        json={"mode": "http_error", "seconds": 5, "status": 503},
        timeout=5,
    )
    with pytest.raises(RetryableError) as failed:
        client.push("contacts", "upsert", [contact(1)])
    assert not isinstance(failed.value, RateLimited)


def test_list_fields_reads_the_tables_attribute_definitions(client_for: MakeClient) -> None:
    client = client_for()
    fields = client.list_fields("opportunities")
    assert {"name", "estimatedvalue", "estimatedclosedate", "salesstage", KEY} <= fields
    assert "firstname" not in fields
    with pytest.raises(PermanentError):
        client.list_fields("tickets")


def test_every_example_mapping_target_is_a_column_the_environment_lists(
    client_for: MakeClient,
) -> None:
    client = client_for()
    config = yaml.safe_load(example_config("dynamics").read_text())
    for object_name, spec in config["connections"][0]["objects"].items():
        fields = client.describe_fields(object_name)
        assert {m["target"] for m in spec["mappings"]} <= set(fields.fields), object_name
        assert fields.fields[KEY].unique, "the id property holds an alternate key"
