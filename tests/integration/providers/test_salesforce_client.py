"""SalesforceClient against the simulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo, PushItem
from providers.salesforce import PROVIDER, SalesforceClient
from providers.salesforce.sim import SalesforceSim, make_simulator
from providers.simulation import SimServer
from syncsvc.config.loader import load_config_file
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import PermanentError, RateLimited, RetryableError
from syncsvc.mapping.mapper import compile_mapper
from tests.integration.providers.helpers import OAUTH, by_id, simulators

KEY = "Syncsvc_Id__c"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "connections" / "salesforce.yaml"
Sim = tuple[SimServer, SalesforceSim]


class Recorded:
    """Every request a client sent: method, path and decoded body."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        body = request.body
        decoded = (
            json.loads(body)
            if body and request.headers.get("Content-Type") == "application/json"
            else None
        )
        self.calls.append((str(request.method), str(request.path_url), decoded))

    def writes(self) -> list[Any]:
        return [body for method, path, body in self.calls if "/composite/sobjects" in path and body]


@pytest.fixture
def start_sim() -> Iterator[Callable[..., Sim]]:
    example = example_sim_options("salesforce")  # the org holds the key field Syncsvc_Id__c
    with simulators(lambda options: make_simulator({**example, **options})) as start:
        yield start


@pytest.fixture
def sim(start_sim: Callable[..., Sim]) -> Sim:
    return start_sim()


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def make_client(sim: Sim, recorded: Recorded) -> Iterator[Callable[..., SalesforceClient]]:
    clients: list[SalesforceClient] = []

    def make(
        server: SimServer | None = None,
        batch_size: int = 200,
        credentials: Mapping[str, Any] = OAUTH,
        rate_limit_seconds: int = 2,
        **options: Any,
    ) -> SalesforceClient:
        url = (server or sim[0]).url
        session = requests.Session()
        session.hooks["response"].append(recorded.hook)
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="salesforce",
            base_url=url,
            credentials=credentials,
            options={"token_url": url + "/services/oauth2/token", **options},
            batch_size=batch_size,
            rate_limit_requests=100,
            rate_limit_seconds=rate_limit_seconds,
        )
        client = SalesforceClient(connection, session=session)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def contact(n: int, op: str = "upsert", external_id: str | None = None, **fields: Any) -> PushItem:
    payload = {KEY: str(n), "LastName": f"Last {n}", "Email": f"user{n}@example.com", **fields}
    return PushItem(n, "Contact", op, str(n), KEY, str(n), payload, external_id, 1)


def deal(n: int, **fields: Any) -> PushItem:
    payload = {
        KEY: str(n),
        "Name": f"Deal {n}",
        "StageName": "Prospecting",
        "CloseDate": "2026-12-24",
    }
    return PushItem(n, "Opportunity", "upsert", str(n), KEY, str(n), {**payload, **fields}, None, 1)


def keys(sim: SalesforceSim, obj: str = "Contact") -> list[str]:
    return sorted(str(r["key"]) for r in sim.view(obj))


def test_upsert_creates_then_updates_the_same_record_without_duplicates(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    client = make_client()
    first = by_id(client.push("Contact", "upsert", [contact(1), contact(2)]))
    assert all(r.ok and r.created is True for r in first.values())
    second = by_id(client.push("Contact", "upsert", [contact(1, FirstName="Ada")]))
    assert second[1].ok and second[1].created is False
    assert second[1].external_id == first[1].external_id
    records = {r["key"]: r for r in sim[1].view("Contact")}
    assert sorted(records) == ["1", "2"]
    assert records["1"]["fields"]["FirstName"] == "Ada"
    assert [a["op"] for a in sim[1].acks if a["key"] == "1"] == ["upsert", "upsert"]
    method, path, body = recorded.calls[-1]
    assert (method, path) == (
        "PATCH",
        "/services/data/v62.0/composite/sobjects/Contact/Syncsvc_Id__c",
    )
    assert body["allOrNone"] is False
    assert body["records"][0]["attributes"] == {"type": "Contact"}


def test_more_items_than_a_call_takes_go_in_calls_of_at_most_200(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    client = make_client(batch_size=500)
    results = client.push("Contact", "upsert", [contact(n) for n in range(1, 451)])
    assert len(results) == 450 and all(r.ok for r in results)
    assert [len(body["records"]) for body in recorded.writes()] == [200, 200, 50]
    assert len(sim[1].view("Contact")) == 450


def test_the_connection_batch_size_is_honoured(
    make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    make_client(batch_size=40).push("Contact", "upsert", [contact(n) for n in range(1, 101)])
    assert [len(body["records"]) for body in recorded.writes()] == [40, 40, 20]


def test_the_same_key_twice_goes_in_separate_calls_and_lands_once(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    items = [contact(1), contact(2), contact(1, FirstName="Later")]
    items[2].outbox_id = 3
    results = by_id(make_client().push("Contact", "upsert", items))
    assert all(r.ok for r in results.values())
    assert results[1].external_id == results[3].external_id
    assert len(recorded.writes()) == 2
    assert keys(sim[1]) == ["1", "2"]


def test_one_bad_record_fails_alone_and_the_others_land(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[5] = contact(6, Email="not-an-email")
    results = by_id(make_client().push("Contact", "upsert", items))
    bad = results.pop(6)
    assert isinstance(bad.error, PermanentError)
    assert (bad.error.field, bad.error.code) == ("Email", "INVALID_EMAIL_ADDRESS")
    assert all(r.ok for r in results.values())
    assert keys(sim[1]) == ["1", "2", "3", "4", "5", "7", "8"]
    assert len(recorded.writes()) == 1


def test_a_validation_rule_refusal_fails_only_that_record(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    requests.post(sim[0].url + "/_sim/config", json={"reject_values": ["REJECT-ME"]}, timeout=5)
    items = [contact(1), contact(2, FirstName="REJECT-ME"), contact(3)]
    results = by_id(make_client().push("Contact", "upsert", items))
    assert isinstance(results[2].error, PermanentError)
    assert (results[2].error.field, results[2].error.code) == (
        "FirstName",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    assert keys(sim[1]) == ["1", "3"]


def test_a_missing_required_field_names_it(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    item = deal(1)
    del item.payload["CloseDate"]
    [result] = make_client().push("Opportunity", "upsert", [item])
    assert isinstance(result.error, PermanentError)
    assert (result.error.field, result.error.code) == ("CloseDate", "REQUIRED_FIELD_MISSING")


def test_an_unknown_field_fails_only_the_records_that_carry_it_without_bisecting(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[2] = contact(3, Colour__c="blue")
    items[6] = contact(7, Colour__c="red")
    results = by_id(make_client().push("Contact", "upsert", items))
    assert {n for n, r in results.items() if not r.ok} == {3, 7}
    assert isinstance(results[3].error, PermanentError)
    assert (results[3].error.field, results[3].error.code) == ("Colour__c", "INVALID_FIELD")
    assert len(recorded.writes()) == 2
    assert len(sim[1].view("Contact")) == 6


def test_a_value_the_parser_refuses_is_found_by_its_column(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    items = [deal(n) for n in range(1, 7)]
    items[3] = deal(4, CloseDate="2026-13-45")
    results = by_id(make_client().push("Opportunity", "upsert", items))
    assert isinstance(results[4].error, PermanentError)
    assert (results[4].error.field, results[4].error.code) == ("CloseDate", "JSON_PARSER_ERROR")
    assert all(r.ok for n, r in results.items() if n != 4)
    assert len(recorded.writes()) == 2
    assert keys(sim[1], "Opportunity") == ["1", "2", "3", "5", "6"]


def test_a_missing_key_value_fails_that_item_before_any_call(
    make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    item = contact(1)
    item.id_value = None
    del item.payload[KEY]
    [result] = make_client().push("Contact", "upsert", [item])
    assert isinstance(result.error, PermanentError) and result.error.field == KEY
    assert recorded.writes() == []


def test_create_of_a_key_that_exists_is_a_duplicate_value(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    client = make_client()
    client.push("Contact", "create", [contact(1, op="create")])
    results = by_id(
        client.push("Contact", "create", [contact(1, op="create"), contact(2, op="create")])
    )
    assert recorded.calls[-1][:2] == ("POST", "/services/data/v62.0/composite/sobjects")
    assert isinstance(results[1].error, PermanentError)
    assert (results[1].error.code, results[1].error.field) == ("DUPLICATE_VALUE", KEY)
    assert results[2].ok and results[2].created is True
    assert keys(sim[1]) == ["1", "2"]


def test_update_by_record_id_and_by_key(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    client = make_client()
    created = by_id(client.push("Contact", "upsert", [contact(1), contact(2)]))
    by_record = contact(1, "update", created[1].external_id, Title="CEO")
    by_key = contact(2, "update", Title="CTO")
    results = by_id(client.push("Contact", "update", [by_record, by_key]))
    assert all(r.ok and r.created is False for r in results.values())
    assert results[2].external_id == created[2].external_id
    titles = {r["key"]: r["fields"]["Title"] for r in sim[1].view("Contact")}
    assert titles == {"1": "CEO", "2": "CTO"}


def test_update_of_a_record_salesforce_does_not_have_is_permanent(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    client = make_client()
    [never] = client.push("Contact", "update", [contact(1, "update")])
    assert isinstance(never.error, PermanentError) and never.error.code == "NOT_FOUND"
    [created] = client.push("Contact", "upsert", [contact(2)])
    client.push("Contact", "archive", [contact(2, "archive", created.external_id)])
    [deleted] = client.push("Contact", "update", [contact(2, "update", created.external_id)])
    assert isinstance(deleted.error, PermanentError) and deleted.error.code == "ENTITY_IS_DELETED"


def test_archive_of_synced_and_never_synced_records_succeeds(
    sim: Sim, make_client: Callable[..., SalesforceClient], recorded: Recorded
) -> None:
    client = make_client()
    created = by_id(client.push("Contact", "upsert", [contact(1), contact(2), contact(5)]))
    known_id = contact(1, "archive", created[1].external_id)
    known_key = contact(2, "archive")
    never_synced = contact(3, "archive")
    no_key = contact(4, "archive")
    no_key.id_property = no_key.id_value = None
    results = by_id(client.push("Contact", "archive", [known_id, known_key, never_synced, no_key]))
    assert all(r.ok for r in results.values())
    assert results[2].external_id == created[2].external_id
    assert results[3].external_id is None
    assert keys(sim[1]) == ["5"]
    assert sorted(a["key"] for a in sim[1].acks if a["op"] == "archive") == ["1", "2"]
    assert any("/query?q=SELECT" in path for _, path, _ in recorded.calls)


def test_archive_twice_is_harmless(make_client: Callable[..., SalesforceClient]) -> None:
    client = make_client()
    [created] = client.push("Contact", "upsert", [contact(1)])
    gone = contact(1, "archive", created.external_id)
    assert client.push("Contact", "archive", [gone])[0].ok
    assert client.push("Contact", "archive", [gone])[0].ok


def test_duplicate_keys_in_salesforce_are_permanent_for_upsert_and_archive(
    start_sim: Callable[..., Sim], make_client: Callable[..., SalesforceClient]
) -> None:
    server, sim = start_sim(unique_external_ids=False)
    client = make_client(server=server)
    client.push("Contact", "create", [contact(1, "create")])
    client.push("Contact", "create", [contact(1, "create")])
    [upsert] = client.push("Contact", "upsert", [contact(1)])
    assert isinstance(upsert.error, PermanentError) and upsert.error.code == "DUPLICATE_EXTERNAL_ID"
    [archive] = client.push("Contact", "archive", [contact(1, "archive")])
    assert (
        isinstance(archive.error, PermanentError) and archive.error.code == "DUPLICATE_EXTERNAL_ID"
    )
    assert len(sim.view("Contact")) == 2


def test_a_locked_row_is_retried_not_dead(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    requests.post(sim[0].url + "/_sim/config", json={"lock_failures": 1}, timeout=5)
    results = by_id(make_client().push("Contact", "upsert", [contact(1), contact(2)]))
    assert isinstance(results[1].error, RetryableError)
    assert not isinstance(results[1].error, PermanentError)
    assert results[2].ok


def test_the_short_window_is_raised_as_rate_limited_with_a_short_wait(
    start_sim: Callable[..., Sim], make_client: Callable[..., SalesforceClient]
) -> None:
    server, sim = start_sim(rate_limit_requests=2, rate_limit_seconds=3)
    client = make_client(server=server, rate_limit_seconds=3)
    client.push("Contact", "upsert", [contact(1)])
    client.push("Contact", "upsert", [contact(2)])
    with pytest.raises(RateLimited) as caught:
        client.push("Contact", "upsert", [contact(3)])
    assert caught.value.daily is False
    assert caught.value.retry_after == pytest.approx(3.0)
    assert sim.extra_stats()["max_in_window"] == 2
    assert sim.stats["throttled"] == 1


def test_the_daily_allocation_is_flagged_daily(
    start_sim: Callable[..., Sim], make_client: Callable[..., SalesforceClient]
) -> None:
    server, _ = start_sim(daily_limit=1)
    client = make_client(server=server)
    client.push("Contact", "upsert", [contact(1)])
    assert client.api_usage == (1, 1)
    with pytest.raises(RateLimited) as caught:
        client.push("Contact", "upsert", [contact(2)])
    assert caught.value.daily is True
    assert (caught.value.retry_after or 0) >= 3600


def test_a_limit_after_some_calls_keeps_their_results_and_waits_for_the_rest(
    start_sim: Callable[..., Sim], make_client: Callable[..., SalesforceClient]
) -> None:
    server, sim = start_sim(rate_limit_requests=1, rate_limit_seconds=30)
    client = make_client(server=server, batch_size=2)
    results = by_id(client.push("Contact", "upsert", [contact(n) for n in range(1, 5)]))
    assert results[1].ok and results[2].ok
    assert all(isinstance(results[n].error, RateLimited) for n in (3, 4))
    assert len(sim.view("Contact")) == 2


def test_the_injected_rate_limit_fault_is_salesforces_403(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    client = make_client()
    client.list_fields("Contact")  # the token is fetched before the fault
    requests.post(
        sim[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 30}, timeout=5
    )
    with pytest.raises(RateLimited) as caught:
        client.push("Contact", "upsert", [contact(1)])
    assert 1 <= (caught.value.retry_after or 0) <= 5 and not caught.value.daily


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(
    sim: Sim, make_client: Callable[..., SalesforceClient], status: int
) -> None:
    client = make_client()
    client.list_fields("Contact")
    fault = {"mode": "http_error", "status": status, "seconds": 30}
    requests.post(sim[0].url + "/_sim/faults", json=fault, timeout=5)
    with pytest.raises(RetryableError) as caught:
        client.push("Contact", "upsert", [contact(1)])
    assert not isinstance(caught.value, RateLimited)


def test_list_fields_names_the_writable_standard_and_custom_fields(
    start_sim: Callable[..., Sim], make_client: Callable[..., SalesforceClient]
) -> None:
    custom = example_sim_options("salesforce")["custom_fields"]
    server, _ = start_sim(custom_fields={**custom, "Account": [*custom["Account"], "Tier__c"]})
    client = make_client(server=server)
    contact_fields = client.list_fields("Contact")
    assert {"FirstName", "LastName", "Email", "Phone", KEY} <= contact_fields
    assert not {"Id", "CreatedDate", "Name"} & contact_fields
    assert {"Name", "Website", "Industry", "BillingCity", KEY, "Tier__c"} <= client.list_fields(
        "Account"
    )
    assert {"Name", "Amount", "StageName", "CloseDate", KEY} <= client.list_fields("Opportunity")
    with pytest.raises(PermanentError):
        client.list_fields("Nonexistent")


def test_a_login_host_base_url_follows_the_instance_url(
    sim: Sim, make_client: Callable[..., SalesforceClient]
) -> None:
    client = make_client(use_instance_url=True)
    nothing_listens = "http://127.0.0.1:9"
    client.connection = ConnectionInfo(
        **{**client.connection.__dict__, "base_url": nothing_listens}
    )
    assert client.push("Contact", "upsert", [contact(1)])[0].ok
    assert len(sim[1].view("Contact")) == 1


def test_the_example_config_maps_demo_rows_into_fields_the_org_has(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCSVC_SIM_SALESFORCE_URL", sim[0].url)
    [conn] = load_config_file(EXAMPLE).connections
    info = ConnectionInfo(
        0, conn.name, conn.provider, conn.base_url, conn.credentials or {}, conn.options,
        conn.batch_size, conn.rate_limit_requests, conn.rate_limit_seconds,
    )  # fmt: skip
    client = SalesforceClient(info)
    rows = {
        "Contact": {"id": 7, "email": "Ada@Example.com", "first_name": "Ada", "last_name": None},
        "Account": {"id": 3, "name": "Engines", "domain": "ae.example", "industry": "health"},
        "Opportunity": {"id": 11, "name": "Engine", "amount": 99.5, "stage": "closedwon"},
    }
    try:
        for obj, mappings in conn.objects.items():
            assert {m["target"] for m in mappings} <= client.list_fields(obj)
            properties, issues = compile_mapper(mappings, obj).apply(rows[obj])
            assert issues == []
            payload = PROVIDER.transformer.shape(obj, properties)
            key = str(rows[obj]["id"])
            item = PushItem(1, obj, "upsert", key, KEY, key, payload, None, 1)
            assert client.push(obj, "upsert", [item])[0].ok
            [record] = sim[1].view(obj)
            assert record["key"] == key
    finally:
        client.close()
    deal = sim[1].view("Opportunity")[0]["fields"]
    assert (deal["StageName"], deal["Amount"], deal["IsWon"]) == ("Closed Won", 99.5, True)
    assert sim[1].view("Contact")[0]["fields"]["LastName"] == "[not provided]"


def test_describe_fields_reads_types_options_required_and_the_external_id(
    make_client: Callable[..., SalesforceClient],
) -> None:
    client = make_client()
    lead = client.describe_fields("Lead")
    assert lead.knows_unique
    assert lead.fields["LastName"].required and lead.fields["Company"].required
    assert not lead.fields["Status"].required, "defaulted on create"
    assert lead.fields["Description"].max_length == 32000
    assert lead.fields["AnnualRevenue"].crm_type == "currency"
    assert [o.value for o in lead.fields["Rating"].options] == ["Hot", "Warm", "Cold"]
    assert not lead.fields["Name"].writable and not lead.fields["Id"].writable
    contact = client.describe_fields("Contact")
    assert contact.fields[KEY].unique and contact.fields[KEY].custom
    assert [d.name for d in contact.fields.values() if d.unique] == [KEY]
    assert contact.fields["HasOptedOutOfEmail"].type.value == "boolean"
    with pytest.raises(PermanentError):
        client.describe_fields("Nonexistent")
