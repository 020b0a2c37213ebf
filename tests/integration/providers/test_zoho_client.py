"""ZohoClient against the Zoho simulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo, PushItem
from providers.simulation import SimServer
from providers.zoho import ZohoClient
from providers.zoho.sim import ZohoSim, make_simulator
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import PermanentError, RateLimited, RetryableError
from syncsvc.fields.model import FieldType
from tests.integration.providers.helpers import OAUTH, by_id, simulators

Sim = tuple[SimServer, ZohoSim]
StartSim = Callable[..., Sim]


class Recorded(requests.Session):
    """A real session that remembers every exchange (method, path, JSON body, status)."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[requests.Response] = []
        self.hooks["response"].append(lambda r, *a, **k: self.exchanges.append(r))

    def calls(self, method: str, fragment: str) -> list[requests.Response]:
        return [
            r
            for r in self.exchanges
            if r.request.method == method and fragment in (r.request.path_url or "")
        ]


def example_org(options: dict[str, Any]) -> ZohoSim:
    """A simulated org holding the example account's custom fields (the unique ``Syncsvc_Id``
    these tests upsert by) plus ``options``."""
    return make_simulator({**example_sim_options("zoho"), **options})


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    with simulators(example_org) as start:
        yield start


@pytest.fixture
def zoho(start_sim: StartSim) -> Sim:
    return start_sim()


MakeClient = Callable[..., ZohoClient]


@pytest.fixture
def make_client(zoho: Sim) -> Iterator[MakeClient]:
    clients: list[ZohoClient] = []

    def make(
        server: SimServer | None = None,
        credentials: Mapping[str, Any] = OAUTH,
        batch_size: int = 100,
        window: int = 10,
        **options: Any,
    ) -> ZohoClient:
        url = (server or zoho[0]).url
        connection = ConnectionInfo(
            id=1,
            name="test",
            provider="zoho",
            base_url=url,
            credentials=credentials,
            options={"token_url": url + "/oauth/v2/token", **options},
            batch_size=batch_size,
            rate_limit_requests=100,
            rate_limit_seconds=window,
        )
        client = ZohoClient(connection, session=Recorded())
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def session_of(client: ZohoClient) -> Recorded:
    assert isinstance(client.session, Recorded)
    return client.session


def contact(n: int, op: str = "upsert", external_id: str | None = None, **fields: Any) -> PushItem:
    payload = {"Syncsvc_Id": str(n), "Last_Name": f"Last {n}", "Email": f"c{n}@example.com"}
    payload.update(fields)
    return PushItem(n, "Contacts", op, str(n), "Syncsvc_Id", str(n), payload, external_id, 1)


def deal(n: int, op: str = "upsert", external_id: str | None = None, **fields: Any) -> PushItem:
    payload = {
        "Syncsvc_Id": str(n),
        "Deal_Name": f"Deal {n}",
        "Stage": "Qualification",
        "Closing_Date": "2027-01-15",
        **fields,
    }
    return PushItem(n, "Deals", op, str(n), "Syncsvc_Id", str(n), payload, external_id, 1)


def keys(sim: ZohoSim, module: str) -> list[str]:
    return sorted(str(r["key"]) for r in sim.view(module))


# upsert, update, create ----------------------------------------------------------------------
def test_upsert_creates_then_updates_the_same_record_without_duplicates(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    first = by_id(client.push("Contacts", "upsert", [contact(1), contact(2)]))
    assert all(r.ok and r.created is True for r in first.values())

    second = by_id(client.push("Contacts", "upsert", [contact(1, First_Name="Renamed")]))
    assert second[1].ok and second[1].created is False
    assert second[1].external_id == first[1].external_id

    records = {r["key"]: r for r in zoho[1].view("Contacts")}
    assert sorted(records) == ["1", "2"]
    assert records["1"]["fields"]["First_Name"] == "Renamed"
    assert [a["op"] for a in zoho[1].acks if a["key"] == "1"] == ["upsert", "upsert"]
    [call] = session_of(client).calls("POST", "/Contacts/upsert")[-1:]
    assert json.loads(call.request.body or b"")["duplicate_check_fields"] == ["Syncsvc_Id"]


def test_upsert_sends_the_key_from_the_item_even_when_the_payload_lacks_it(
    zoho: Sim, make_client: MakeClient
) -> None:
    item = contact(7)
    del item.payload["Syncsvc_Id"]
    [result] = make_client().push("Contacts", "upsert", [item])
    assert result.ok
    assert keys(zoho[1], "Contacts") == ["7"]


def test_more_items_than_a_batch_go_in_calls_of_at_most_batch_size(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client(batch_size=40)
    results = client.push("Contacts", "upsert", [contact(n) for n in range(1, 101)])
    assert len(results) == 100 and all(r.ok for r in results)
    calls = session_of(client).calls("POST", "/Contacts/upsert")
    assert [len(json.loads(c.request.body or b"")["data"]) for c in calls] == [40, 40, 20]
    assert len(zoho[1].view("Contacts")) == 100


def test_a_connection_batch_size_above_zohos_ceiling_is_capped_at_100(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client(batch_size=500)
    assert all(r.ok for r in client.push("Deals", "upsert", [deal(n) for n in range(250)]))
    calls = session_of(client).calls("POST", "/Deals/upsert")
    assert [len(json.loads(c.request.body or b"")["data"]) for c in calls] == [100, 100, 50]


def test_two_versions_of_one_record_in_a_push_go_in_separate_calls(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    older, newer = contact(1, First_Name="Old"), contact(1, First_Name="New")
    newer.outbox_id = 2
    results = client.push("Contacts", "upsert", [older, newer, contact(3)])
    assert all(r.ok for r in results)
    assert len(session_of(client).calls("POST", "/Contacts/upsert")) == 2
    [record] = [r for r in zoho[1].view("Contacts") if r["key"] == "1"]
    assert record["fields"]["First_Name"] == "New"


def test_one_invalid_record_fails_alone_naming_its_field_and_the_rest_land(
    zoho: Sim, make_client: MakeClient
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[5] = contact(6, Email="not-an-email")
    client = make_client()
    results = by_id(client.push("Contacts", "upsert", items))

    bad = results.pop(6)
    assert isinstance(bad.error, PermanentError)
    assert (bad.error.field, bad.error.code) == ("Email", "INVALID_DATA")
    assert all(r.ok for r in results.values())
    assert keys(zoho[1], "Contacts") == ["1", "2", "3", "4", "5", "7", "8"]
    assert len(session_of(client).calls("POST", "/upsert")) == 1, "per-record answers: no split"
    assert session_of(client).exchanges[-1].status_code == 207


def test_a_value_refused_by_a_validation_rule_fails_only_its_record(
    zoho: Sim, make_client: MakeClient
) -> None:
    zoho[1].reject_values = frozenset({"REJECT-ME"})
    items = [contact(1), contact(2, Last_Name="REJECT-ME"), contact(3)]
    results = by_id(make_client().push("Contacts", "upsert", items))
    assert isinstance(results[2].error, PermanentError)
    assert results[2].error.field == "Last_Name"
    assert results[1].ok and results[3].ok
    assert keys(zoho[1], "Contacts") == ["1", "3"]


def test_missing_mandatory_fields_fail_with_mandatory_not_found(
    zoho: Sim, make_client: MakeClient
) -> None:
    no_stage = deal(1)
    del no_stage.payload["Stage"]
    results = by_id(make_client().push("Deals", "upsert", [no_stage, deal(2)]))
    assert isinstance(results[1].error, PermanentError)
    assert (results[1].error.field, results[1].error.code) == ("Stage", "MANDATORY_NOT_FOUND")
    assert results[2].ok


def test_when_every_record_fails_the_400_still_answers_per_record(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    results = client.push("Deals", "upsert", [deal(1, Stage="Dreaming"), deal(2, Amount="lots")])
    assert session_of(client).exchanges[-1].status_code == 400
    fields = {r.outbox_id: getattr(r.error, "field", None) for r in results}
    assert fields == {1: "Stage", 2: "Amount"}
    assert zoho[1].view("Deals") == []


def test_a_batch_refused_as_a_whole_is_split_until_the_parts_are_taken(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(max_batch=3)
    client = make_client(server=server)
    items = [contact(n) for n in range(1, 11)]
    items[6] = contact(7, Email="broken")
    results = by_id(client.push("Contacts", "upsert", items))
    assert [n for n, r in results.items() if not r.ok] == [7]
    assert getattr(results[7].error, "field", None) == "Email"
    assert len(sim.view("Contacts")) == 9
    sizes = [
        (r.status_code, len(json.loads(r.request.body or b"")["data"]))
        for r in session_of(client).calls("POST", "/upsert")
    ]
    assert sizes[0] == (400, 10) and all(n <= 3 for status, n in sizes if status != 400)
    gone = [contact(r.outbox_id, "archive", r.external_id) for r in results.values() if r.ok]
    assert all(r.ok for r in client.push("Contacts", "archive", gone))
    assert sim.view("Contacts") == []


def test_a_key_field_zoho_cannot_match_on_fails_the_whole_call_without_splitting(
    make_client: MakeClient,
) -> None:
    items = [contact(n) for n in range(1, 5)]
    for item in items:
        item.id_property = "First_Name"
    client = make_client()
    with pytest.raises(PermanentError) as caught:
        client.push("Contacts", "upsert", items)
    assert caught.value.field == "duplicate_check_fields"
    assert len(session_of(client).exchanges) == 2, "one token request, one refused upsert"


def test_a_missing_key_value_fails_that_item_before_any_call(make_client: MakeClient) -> None:
    item = contact(1)
    item.id_value = None
    client = make_client()
    [result] = client.push("Contacts", "upsert", [item])
    assert isinstance(result.error, PermanentError)
    assert result.error.field == "Syncsvc_Id"
    assert session_of(client).exchanges == []


def test_update_by_external_id_and_by_key(zoho: Sim, make_client: MakeClient) -> None:
    client = make_client()
    created = by_id(client.push("Deals", "upsert", [deal(1), deal(2)]))
    items = [deal(1, "update", created[1].external_id, Amount=10.5), deal(2, "update", Amount=20)]
    results = by_id(client.push("Deals", "update", items))
    assert all(r.ok and r.created is False for r in results.values())
    assert results[2].external_id == created[2].external_id
    amounts = {r["key"]: r["fields"]["Amount"] for r in zoho[1].view("Deals")}
    assert amounts == {"1": 10.5, "2": 20}
    assert len(session_of(client).calls("POST", "/coql")) == 1, "only the unknown id is looked up"


def test_update_of_a_record_gone_from_zoho_fails_permanently(make_client: MakeClient) -> None:
    client = make_client()
    by_key, by_id_ = deal(1, "update"), deal(2, "update", external_id="5725767000000999999")
    results = by_id(client.push("Deals", "update", [by_key, by_id_]))
    assert isinstance(results[1].error, PermanentError) and results[1].error.code == "NOT_FOUND"
    assert isinstance(results[2].error, PermanentError) and results[2].error.field == "id"


def test_create_inserts_and_a_repeated_create_of_our_key_is_idempotent(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    [first] = client.push("Accounts", "create", [_account(1)])
    assert first.ok and first.created is True
    [again] = client.push("Accounts", "create", [_account(1)])
    assert again.ok and again.created is False
    assert again.external_id == first.external_id
    assert keys(zoho[1], "Accounts") == ["1"]


def _account(n: int) -> PushItem:
    payload = {"Syncsvc_Id": str(n), "Account_Name": f"Account {n}", "Billing_City": "Oslo"}
    return PushItem(n, "Accounts", "create", str(n), "Syncsvc_Id", str(n), payload, None, 1)


# archive -------------------------------------------------------------------------------------
def test_archive_of_synced_and_never_synced_records_succeeds(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    created = by_id(client.push("Contacts", "upsert", [contact(1), contact(2)]))
    known_id = contact(1, "archive", created[1].external_id)
    known_key = contact(2, "archive")
    never_synced = contact(3, "archive")
    nothing_at_all = contact(4, "archive")
    nothing_at_all.id_property, nothing_at_all.id_value = None, None

    results = by_id(
        client.push("Contacts", "archive", [known_id, known_key, never_synced, nothing_at_all])
    )
    assert all(r.ok for r in results.values())
    assert results[2].external_id == created[2].external_id
    assert results[3].external_id is None
    assert zoho[1].view("Contacts") == []
    assert sorted(a["key"] for a in zoho[1].acks if a["op"] == "archive") == ["1", "2"]
    [delete] = session_of(client).calls("DELETE", "/Contacts")
    assert delete.request.path_url.endswith("ids=" + "%2C".join(
        [str(created[1].external_id), str(created[2].external_id)]
    ))  # fmt: skip


def test_archive_twice_is_harmless(zoho: Sim, make_client: MakeClient) -> None:
    client = make_client()
    [created] = client.push("Deals", "upsert", [deal(1)])
    gone = deal(1, "archive", created.external_id)
    assert client.push("Deals", "archive", [gone])[0].ok
    assert client.push("Deals", "archive", [gone])[0].ok
    assert session_of(client).exchanges[-1].status_code == 400  # Zoho: "record not deleted"


def test_archive_of_many_records_deletes_at_most_100_ids_per_call(
    zoho: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    created = client.push("Deals", "upsert", [deal(n) for n in range(150)])
    gone = [deal(r.outbox_id, "archive", r.external_id) for r in created]
    assert all(r.ok for r in client.push("Deals", "archive", gone))
    assert len(session_of(client).calls("DELETE", "/Deals")) == 2
    assert zoho[1].view("Deals") == []


# limits --------------------------------------------------------------------------------------
def test_a_window_429_is_raised_as_rate_limited_with_our_window_as_retry_after(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(rate_limit_requests=2, rate_limit_seconds=3)
    client = make_client(server=server, window=5)
    client.push("Deals", "upsert", [deal(1)])
    client.push("Deals", "upsert", [deal(2)])
    with pytest.raises(RateLimited) as caught:
        client.push("Deals", "upsert", [deal(3)])
    assert caught.value.retry_after == pytest.approx(5.0)
    assert caught.value.daily is False
    stats = sim.extra_stats()
    assert (stats["max_in_window"], sim.stats["throttled"]) == (2, 1)


def test_exhausted_api_credits_are_flagged_daily(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, _ = start_sim(api_credits=3)
    client = make_client(server=server)
    client.push("Deals", "upsert", [deal(n) for n in range(25)])  # 3 credits: 25 records
    with pytest.raises(RateLimited) as caught:
        client.push("Deals", "upsert", [deal(99)])
    assert caught.value.daily is True
    assert (caught.value.retry_after or 0) >= 60


def test_a_rate_limit_after_some_calls_keeps_their_results_and_retries_the_rest(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(rate_limit_requests=1, rate_limit_seconds=30)
    client = make_client(server=server, batch_size=2)
    results = by_id(client.push("Deals", "upsert", [deal(n) for n in range(1, 5)]))
    assert results[1].ok and results[2].ok
    assert all(isinstance(results[n].error, RateLimited) for n in (3, 4))
    assert len(sim.view("Deals")) == 2


def test_server_errors_are_retryable(zoho: Sim, make_client: MakeClient) -> None:
    client = make_client()
    client.push("Deals", "upsert", [deal(1)])  # fetch a token first
    requests.post(
        zoho[0].url + "/_sim/faults", json={"mode": "http_error", "seconds": 5}, timeout=5
    ).raise_for_status()
    with pytest.raises(RetryableError):
        client.push("Deals", "upsert", [deal(2)])


# fields --------------------------------------------------------------------------------------
def test_list_fields_reads_the_field_api_names(make_client: MakeClient) -> None:
    client = make_client()
    contacts = client.list_fields("Contacts")
    assert {"Last_Name", "First_Name", "Email", "Phone", "Syncsvc_Id"} <= contacts
    assert {"Deal_Name", "Stage", "Closing_Date", "Amount"} <= client.list_fields("Deals")
    calls = session_of(client).calls("GET", "/crm/v8/settings/fields")
    assert [c.request.path_url.split("?")[1] for c in calls] == ["module=Contacts", "module=Deals"]


def test_describe_fields_reads_types_options_and_the_unique_key(make_client: MakeClient) -> None:
    client = make_client()
    deals = client.describe_fields("Deals")
    assert deals.knows_unique
    stage = deals.fields["Stage"]
    assert (stage.type, stage.crm_type, stage.required) == (FieldType.ENUMERATION, "picklist", True)
    assert "Closed Won" in [o.value for o in stage.options]
    assert deals.fields["Amount"].type is FieldType.NUMBER
    assert deals.fields["Closing_Date"].type is FieldType.DATE
    assert not deals.fields["Expected_Revenue"].writable
    key = deals.fields["Syncsvc_Id"]
    assert (key.unique, key.custom, key.max_length) == (True, True, 255)
    assert [n for n, d in deals.fields.items() if d.unique] == ["Syncsvc_Id"]


def test_list_fields_of_an_unknown_module_is_a_permanent_error(make_client: MakeClient) -> None:
    with pytest.raises(PermanentError) as caught:
        make_client().list_fields("Spaceships")
    assert caught.value.code == "INVALID_MODULE"


def test_the_token_refresh_carries_its_secrets_in_the_body_not_the_url(
    make_client: MakeClient,
) -> None:
    client = make_client()
    client.describe_fields("Contacts")
    token_calls = [r for r in session_of(client).exchanges if "/oauth/v2/token" in r.request.url]
    assert token_calls, "the client asked for a token"
    for response in token_calls:
        url = str(response.request.url)
        body = str(response.request.body or "")
        for name in ("refresh_token", "client_id", "client_secret"):
            assert name not in url, url
            assert f"{name}=" in body
