"""The client's requests and the simulator's answers match HubSpot's official OpenAPI files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from providers.base import PushItem
from providers.hubspot.sim import HubSpotSim
from providers.simulation import SimServer
from syncsvc.errors import CredentialsRefused, RateLimited
from tests.integration.providers.conftest import MakeClient, StartSim
from tests.integration.providers.helpers import OAUTH
from tests.integration.providers.hubspot_openapi import Recorder, check

Sim = tuple[SimServer, HubSpotSim]
AUTH = {"Authorization": "Bearer demo-token"}


def item(
    object_name: str, n: int, op: str, external_id: str | None = None, **props: str
) -> PushItem:
    id_property = "email" if object_name == "contacts" else "syncsvc_id"
    properties = {"syncsvc_id": str(n), **props}
    if object_name == "contacts":
        properties.setdefault("email", f"c{n}@example.com")
    id_value = properties.get(id_property)
    return PushItem(
        n,
        object_name,
        op,
        str(n),
        id_property,
        id_value,
        properties,
        external_id,
        1,
    )


def test_every_batch_exchange_of_a_full_scenario_matches_the_openapi_files(
    start_sim: StartSim, make_client: MakeClient, recorder: Recorder
) -> None:
    client = make_client()
    for object_name in ("contacts", "companies", "deals"):
        created = client.push(
            object_name, "upsert", [item(object_name, n, "upsert") for n in (1, 2)]
        )
        assert all(r.ok for r in created)
        client.push(
            object_name, "create", [item(object_name, 1, "create"), item(object_name, 3, "create")]
        )
        updates = [
            item(object_name, 1, "update", external_id=created[0].external_id),
            item(object_name, 9, "update", external_id="424242"),
        ]
        client.push(object_name, "update", updates)
        client.push(
            object_name,
            "archive",
            [item(object_name, 2, "archive"), item(object_name, 8, "archive")],
        )
    bad = [item("contacts", 5, "upsert"), item("contacts", 6, "upsert", email="nope")]
    bad[1].id_value = "nope"
    assert not client.push("contacts", "upsert", bad)[1].ok

    tiny, _ = start_sim(rate_limit_requests=1)
    limited = make_client(server=tiny)
    limited.push("deals", "upsert", [item("deals", 1, "upsert")])
    with pytest.raises(RateLimited):
        limited.push("deals", "upsert", [item("deals", 2, "upsert")])
    with pytest.raises(CredentialsRefused):
        make_client(credentials={"access_token": "wrong"}).push(
            "deals", "upsert", [item("deals", 1, "upsert")]
        )
    make_client(credentials=OAUTH).push("companies", "upsert", [item("companies", 4, "upsert")])

    exchanged = {
        (r.request.url.rsplit("/", 1)[-1] if r.request.url else "", r.status_code)
        for r in recorder.batch_exchanges()
    }
    expected = {("upsert", 200), ("upsert", 400), ("upsert", 429), ("upsert", 401)}
    expected |= {("create", 207), ("update", 207), ("read", 207), ("archive", 204)}
    assert expected <= exchanged
    assert len(recorder.batch_exchanges()) >= 20
    assert [str(p) for p in recorder.problems()] == []


def test_strict_answers_whole_call_conflicts_and_untraced_results_match_the_openapi_files(
    start_sim: StartSim, make_client: MakeClient, recorder: Recorder
) -> None:
    strict, _ = start_sim(strict=True)
    client = make_client(server=strict)
    for object_name in ("contacts", "companies", "deals"):
        created = client.push(
            object_name, "upsert", [item(object_name, n, "upsert") for n in (1, 2)]
        )
        assert all(r.ok for r in created)
        clash = item(object_name, 3, "create", syncsvc_id="1")
        client.push(object_name, "create", [item(object_name, 4, "create"), clash])
        clash_by_email = item(object_name, 2, "upsert", syncsvc_id="1")  # contacts: 409
        client.push(object_name, "upsert", [item(object_name, 5, "upsert"), clash_by_email])
        update = item(object_name, 1, "update", external_id=created[0].external_id)
        client.push(object_name, "update", [update, item(object_name, 6, "update")])

    exchanged = recorder.batch_exchanges()
    statuses = {
        (r.request.url.rsplit("/", 1)[-1] if r.request.url else "", r.status_code)
        for r in exchanged
    }
    assert {("create", 409), ("upsert", 409), ("create", 201), ("upsert", 200)} <= statuses
    results = [
        result
        for r in exchanged
        if r.status_code < 300 and r.content
        for result in r.json().get("results", [])
    ]
    assert results and all("objectWriteTraceId" not in result for result in results)
    assert [str(p) for p in recorder.problems()] == []


def _raw(server: SimServer, path: str, body: Any, headers: dict[str, str]) -> requests.Response:
    """A hand-made exchange, recorded the way the client's are (not checked at teardown)."""
    recorder = Recorder()
    with recorder.attach(requests.Session()) as session:
        session.post(server.url + path, json=body, headers=headers, timeout=5)
    return recorder.responses[-1]


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"id": "a@example.com", "idProperty": "email"}]},
        {"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {"age": 5}}]},
        {"records": []},
    ],
    ids=["properties-missing", "value-not-a-string", "no-inputs"],
)
def test_a_request_body_that_breaks_the_spec_is_caught(hubspot_sim: Sim, body: Any) -> None:
    response = _raw(hubspot_sim[0], "/crm/v3/objects/contacts/batch/upsert", body, AUTH)
    problems = [str(p) for p in check(response)]
    assert any(p.startswith("request") and "InvalidRequestBody" in p for p in problems), problems


def test_a_request_without_a_bearer_token_is_caught(hubspot_sim: Sim) -> None:
    response = _raw(hubspot_sim[0], "/crm/v3/objects/deals/batch/archive", {"inputs": []}, {})
    problems = [str(p) for p in check(response)]
    assert any(p.startswith("request") and "Security" in p for p in problems), problems


@pytest.mark.parametrize("drop", ["category", "correlationId", "message"])
def test_a_409_body_that_breaks_the_spec_is_caught(start_sim: StartSim, drop: str) -> None:
    server, _ = start_sim(strict=True)
    inputs = [{"properties": {"email": "a@example.com"}, "associations": []}]
    path = "/crm/v3/objects/contacts/batch/create"
    assert _raw(server, path, {"inputs": inputs}, AUTH).status_code == 201
    response = _raw(server, path, {"inputs": inputs}, AUTH)
    assert response.status_code == 409 and check(response) == []

    tampered = response.json()
    del tampered[drop]
    response._content = json.dumps(tampered).encode()
    problems = [str(p) for p in check(response)]
    assert any(p.startswith("response") for p in problems), problems


def _tamper(result: dict[str, Any], how: str) -> None:
    if how == "id-missing":
        del result["id"]
    elif how == "date-not-a-date-time":
        result["createdAt"] = "yesterday"
    else:
        result["properties"]["amount"] = 10


@pytest.mark.parametrize("how", ["id-missing", "date-not-a-date-time", "value-not-a-string"])
def test_a_response_body_that_breaks_the_spec_is_caught(hubspot_sim: Sim, how: str) -> None:
    body = {"inputs": [{"id": "1", "idProperty": "syncsvc_id", "properties": {"amount": "10"}}]}
    response = _raw(hubspot_sim[0], "/crm/v3/objects/deals/batch/upsert", body, AUTH)
    assert response.status_code == 200 and check(response) == []

    tampered = response.json()
    _tamper(tampered["results"][0], how)
    response._content = json.dumps(tampered).encode()
    problems = [str(p) for p in check(response)]
    assert any(p.startswith("response") for p in problems), problems


def test_the_recycle_bin_list_of_the_deletes_poll_matches_the_openapi_files(
    make_client: MakeClient, recorder: Recorder
) -> None:
    """``GET /crm/v3/objects/{type}?archived=true`` as the client asks for it (``archived``,
    ``limit``, ``properties``, ``after``) and the simulator answers it (``archivedAt``,
    ``paging.next.after``), on every page."""
    client = make_client()
    since = datetime.now(UTC) - timedelta(minutes=1)
    for object_name in ("contacts", "deals"):
        upserts = [item(object_name, n, "upsert") for n in range(1, 102)]
        created = client.push(object_name, "upsert", upserts[:100])
        created += client.push(object_name, "upsert", upserts[100:])
        archived = [item(object_name, n, "archive", r.external_id) for n, r in enumerate(created)]
        client.push(object_name, "archive", archived[:100])
        client.push(object_name, "archive", archived[100:])
        pages = [client.deleted_since(object_name, since, None)]
        while pages[-1].after is not None:
            pages.append(client.deleted_since(object_name, since, pages[-1].after))
        assert [len(p.records) for p in pages] == [100, 1]
    listed = [r for r in recorder.responses if "archived=true" in (r.request.url or "")]
    assert len(listed) == 4 and all(r.status_code == 200 for r in listed)
    assert [str(p) for p in recorder.problems()] == []
