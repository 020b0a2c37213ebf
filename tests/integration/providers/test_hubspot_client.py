"""HubSpotClient against the simulator over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from providers.base import PushItem
from providers.hubspot.sim import HubSpotSim
from providers.simulation import SimServer
from syncsvc.errors import CredentialsRefused, PermanentError, RateLimited, RetryableError
from syncsvc.fields.model import FieldOption, FieldType
from tests.integration.providers.conftest import MakeClient, StartSim
from tests.integration.providers.helpers import by_id
from tests.integration.providers.hubspot_openapi import Recorder

Sim = tuple[SimServer, HubSpotSim]


def contact(n: int, email: str | None = None, **extra: Any) -> PushItem:
    email = email or f"user{n}@example.com"
    properties = {"email": email, "firstname": f"User {n}", "syncsvc_id": str(n), **extra}
    return PushItem(
        outbox_id=n,
        object="contacts",
        op="upsert",
        record_key=str(n),
        id_property="email",
        id_value=email,
        payload=properties,
        external_id=None,
        version=1,
    )


def deal(n: int, op: str = "upsert", external_id: str | None = None, **props: str) -> PushItem:
    properties = {"dealname": f"Deal {n}", "syncsvc_id": str(n), **props}
    return PushItem(n, "deals", op, str(n), "syncsvc_id", str(n), properties, external_id, 1)


def test_upsert_creates_then_updates_the_same_record_without_duplicates(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    first = by_id(client.push("contacts", "upsert", [contact(1), contact(2)]))
    assert all(r.ok and r.created is True for r in first.values())

    again = contact(1, firstname="Renamed")
    second = by_id(client.push("contacts", "upsert", [again]))
    assert second[1].ok and second[1].created is False
    assert second[1].external_id == first[1].external_id

    records = {r["properties"]["syncsvc_id"]: r for r in hubspot_sim[1].dump("contacts")}
    assert len(records) == 2
    assert records["1"]["properties"]["firstname"] == "Renamed"
    assert [a["op"] for a in hubspot_sim[1].acks if a["key"] == "1"] == ["upsert", "upsert"]


def test_upsert_by_email_matches_case_insensitively(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    created = client.push("contacts", "upsert", [contact(1, "Mixed.Case@Example.com")])
    updated = client.push("contacts", "upsert", [contact(1, "mixed.case@example.com")])
    assert updated[0].external_id == created[0].external_id
    assert updated[0].created is False
    assert len(hubspot_sim[1].dump("contacts")) == 1


def test_more_items_than_a_batch_go_in_several_calls_of_at_most_batch_size(
    hubspot_sim: Sim, make_client: MakeClient, recorder: Recorder
) -> None:
    client = make_client(batch_size=40)
    results = client.push("contacts", "upsert", [contact(n) for n in range(1, 101)])
    assert len(results) == 100 and all(r.ok for r in results)
    sizes = [len(json.loads(r.request.body or b"")["inputs"]) for r in recorder.batch_exchanges()]
    assert sizes == [40, 40, 20]
    assert len(hubspot_sim[1].dump("contacts")) == 100


def test_one_invalid_email_is_isolated_and_the_good_records_land(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[5] = contact(6, "not-an-email")
    results = by_id(make_client().push("contacts", "upsert", items))

    bad = results.pop(6)
    assert isinstance(bad.error, PermanentError)
    assert bad.error.field == "email"
    assert bad.error.code == "INVALID_EMAIL"
    assert all(r.ok for r in results.values())
    landed = {r["properties"]["syncsvc_id"] for r in hubspot_sim[1].dump("contacts")}
    assert landed == {"1", "2", "3", "4", "5", "7", "8"}


def test_an_unknown_property_fails_only_the_items_that_carry_it_without_bisecting(
    hubspot_sim: Sim, make_client: MakeClient, recorder: Recorder
) -> None:
    items = [contact(n) for n in range(1, 9)]
    items[2] = contact(3, favourite_colour="blue")
    items[6] = contact(7, favourite_colour="red")
    results = by_id(make_client().push("contacts", "upsert", items))

    assert {n for n, r in results.items() if not r.ok} == {3, 7}
    assert results[3].error is not None
    assert isinstance(results[3].error, PermanentError)
    assert (results[3].error.field, results[3].error.code) == (
        "favourite_colour",
        "PROPERTY_DOESNT_EXIST",
    )
    assert len(recorder.batch_exchanges()) == 2
    assert len(hubspot_sim[1].dump("contacts")) == 6


def test_a_missing_id_value_fails_that_item_before_any_call(make_client: MakeClient) -> None:
    item = contact(1)
    item.id_value = None
    [result] = make_client().push("contacts", "upsert", [item])
    assert isinstance(result.error, PermanentError)
    assert result.error.field == "email"


def test_duplicate_create_answers_207_and_fails_only_the_duplicate(
    hubspot_sim: Sim, make_client: MakeClient, recorder: Recorder
) -> None:
    client = make_client()
    client.push("deals", "create", [deal(1)])
    results = by_id(client.push("deals", "create", [deal(1), deal(2)]))

    assert recorder.batch_exchanges()[-1].status_code == 207
    assert isinstance(results[1].error, PermanentError)
    assert results[1].error.code == "CONFLICT"
    assert results[2].ok and results[2].created is True
    assert sorted(r["properties"]["syncsvc_id"] for r in hubspot_sim[1].dump("deals")) == ["1", "2"]


def test_update_by_external_id_and_by_unique_value(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    [created] = client.push("deals", "upsert", [deal(1), deal(2)])[:1]
    by_external = deal(1, "update", external_id=created.external_id, amount="10.5")
    by_value = deal(2, "update", amount="20")
    results = by_id(client.push("deals", "update", [by_external, by_value]))
    assert all(r.ok and r.created is False for r in results.values())
    amounts = {
        r["properties"]["syncsvc_id"]: r["properties"]["amount"]
        for r in hubspot_sim[1].dump("deals")
    }
    assert amounts == {"1": "10.5", "2": "20"}


def test_update_of_a_record_gone_from_hubspot_is_a_permanent_not_found(
    make_client: MakeClient,
) -> None:
    [result] = make_client().push("deals", "update", [deal(1, "update", external_id="999999")])
    assert isinstance(result.error, PermanentError)
    assert result.error.code == "OBJECT_NOT_FOUND"


def test_archive_of_synced_and_never_synced_records_succeeds(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    client = make_client()
    created = by_id(client.push("contacts", "upsert", [contact(1), contact(2)]))

    known_id = contact(1)
    known_id.op, known_id.external_id = "archive", created[1].external_id
    known_value = contact(2)
    known_value.op = "archive"
    never_synced = contact(3)
    never_synced.op = "archive"
    nothing_at_all = contact(4)
    nothing_at_all.op, nothing_at_all.id_property, nothing_at_all.id_value = "archive", None, None

    items = [known_id, known_value, never_synced, nothing_at_all]
    results = by_id(client.push("contacts", "archive", items))
    assert all(r.ok for r in results.values())
    assert results[2].external_id == created[2].external_id
    assert results[3].external_id is None
    assert hubspot_sim[1].dump("contacts") == []
    assert sorted(a["key"] for a in hubspot_sim[1].acks if a["op"] == "archive") == ["1", "2"]


def test_archive_twice_is_harmless(hubspot_sim: Sim, make_client: MakeClient) -> None:
    client = make_client()
    [created] = client.push("deals", "upsert", [deal(1)])
    gone = deal(1, "archive", external_id=created.external_id)
    assert client.push("deals", "archive", [gone])[0].ok
    assert client.push("deals", "archive", [gone])[0].ok


def test_429_is_raised_as_rate_limited_with_the_window_as_retry_after(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(rate_limit_requests=2, rate_limit_seconds=3)
    client = make_client(server=server)
    client.push("deals", "upsert", [deal(1)])
    client.push("deals", "upsert", [deal(2)])
    with pytest.raises(RateLimited) as caught:
        client.push("deals", "upsert", [deal(3)])
    assert caught.value.retry_after == pytest.approx(3.0)
    assert caught.value.daily is False
    assert sim.extra_stats()["max_in_window"] == 2


def test_retry_after_header_wins_over_the_window_length(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, _ = start_sim(rate_limit_requests=1, rate_limit_seconds=10, send_retry_after=True)
    client = make_client(server=server)
    client.push("deals", "upsert", [deal(1)])
    with pytest.raises(RateLimited) as caught:
        client.push("deals", "upsert", [deal(2)])
    assert caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 10


def test_daily_limit_is_flagged_daily(start_sim: StartSim, make_client: MakeClient) -> None:
    server, _ = start_sim(daily_limit=1)
    client = make_client(server=server)
    client.push("deals", "upsert", [deal(1)])
    with pytest.raises(RateLimited) as caught:
        client.push("deals", "upsert", [deal(2)])
    assert caught.value.daily is True
    assert (caught.value.retry_after or 0) >= 60


def test_a_rate_limit_after_some_calls_keeps_their_results_and_retries_the_rest(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, sim = start_sim(rate_limit_requests=1, rate_limit_seconds=30)
    results = by_id(
        make_client(server=server, batch_size=2).push(
            "deals", "upsert", [deal(n) for n in range(1, 5)]
        )
    )
    assert results[1].ok and results[2].ok
    assert all(isinstance(results[n].error, RateLimited) for n in (3, 4))
    assert len(sim.dump("deals")) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_server_errors_are_retryable(
    hubspot_sim: Sim, make_client: MakeClient, status: int
) -> None:
    requests.post(
        hubspot_sim[0].url + "/_sim/faults",
        json={"mode": "http_error", "status": status, "seconds": 30},
        timeout=5,
    )
    with pytest.raises(RetryableError) as caught:
        make_client().push("deals", "upsert", [deal(1)])
    assert not isinstance(caught.value, RateLimited)


def test_injected_rate_limit_fault_looks_like_a_hubspot_429(
    hubspot_sim: Sim, make_client: MakeClient
) -> None:
    requests.post(
        hubspot_sim[0].url + "/_sim/faults", json={"mode": "rate_limit", "seconds": 30}, timeout=5
    )
    with pytest.raises(RateLimited) as caught:
        make_client().push("deals", "upsert", [deal(1)])
    assert caught.value.retry_after == pytest.approx(10.0)


def test_a_refused_token_is_credentials_refused_for_the_call(make_client: MakeClient) -> None:
    client = make_client(credentials={"access_token": "wrong"})
    with pytest.raises(CredentialsRefused) as caught:
        client.push("deals", "upsert", [deal(1)])
    assert caught.value.code == "HTTP_401" and "INVALID_AUTHENTICATION" in str(caught.value)


def test_list_fields_names_default_and_custom_properties(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    server, _ = start_sim(custom_properties={"companies": ["tier"]})
    client = make_client(server=server)
    assert {"email", "firstname", "hs_object_id"} <= client.list_fields("contacts")
    assert {"name", "domain", "tier"} <= client.list_fields("companies")
    assert "syncsvc_id" not in client.list_fields("contacts")  # options replace the example's
    assert {"dealname", "amount", "dealstage", "pipeline", "closedate"} <= client.list_fields(
        "deals"
    )


def test_describe_fields_reads_types_options_and_unique_properties_from_the_crm(
    start_sim: StartSim, make_client: MakeClient, recorder: Recorder
) -> None:
    server, _ = start_sim(
        custom_properties={
            "deals": [
                {"name": "deal_ref", "label": "Deal ref", "type": "string", "fieldType": "text",
                 "groupName": "dealinformation", "hasUniqueValue": True},
            ]
        }
    )  # fmt: skip
    client = make_client(server=server)
    deals = client.describe_fields("deals")
    assert deals.knows_unique
    assert deals.fields["deal_ref"].unique and deals.fields["deal_ref"].custom
    assert deals.fields["amount"].type is FieldType.NUMBER and not deals.fields["amount"].custom
    assert deals.fields["closedate"].type is FieldType.DATETIME
    stage = deals.fields["dealstage"]
    assert stage.type is FieldType.ENUMERATION
    assert stage.option_for("Closed Won") == FieldOption("closedwon", "Closed Won")
    assert not deals.fields["hs_object_id"].writable
    contacts = client.describe_fields("contacts")
    assert contacts.fields["email"].unique  # HubSpot's contact identity
    assert contacts.fields["hs_buying_role"].type is FieldType.MULTI_ENUMERATION
