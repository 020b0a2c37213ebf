"""HubSpot's recycle bin as the deletes poll reads it: the simulator lists archived records the
way ``GET /crm/v3/objects/{type}?archived=true`` does (only archived ones, ``archivedAt``, by id,
100 a page at most, ``paging.next.after``), and the client reads every page of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.hubspot import HubSpotClient
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator

AUTH = {"Authorization": "Bearer demo-token"}


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    sim = SimServer(make_simulator("hubspot", {}), port=0).start()
    yield sim
    sim.stop()


@pytest.fixture
def url(server: SimServer) -> str:
    requests.post(f"{server.url}/_sim/reset", timeout=10).raise_for_status()
    return server.url


def batch(url: str, op: str, inputs: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        f"{url}/crm/v3/objects/contacts/batch/{op}", json={"inputs": inputs}, headers=AUTH,
        timeout=10,
    )  # fmt: skip


def create(url: str, n: int, start: int = 0) -> list[str]:
    inputs = [{"properties": {"email": f"c{i}@example.com"}} for i in range(start, start + n)]
    answer = batch(url, "create", inputs)
    assert answer.status_code == 201, answer.text
    return sorted((r["id"] for r in answer.json()["results"]), key=int)


def listed(url: str, **params: str) -> requests.Response:
    return requests.get(f"{url}/crm/v3/objects/contacts", params=params, headers=AUTH, timeout=10)


def client(url: str) -> HubSpotClient:
    return HubSpotClient(
        ConnectionInfo(1, "hs", "hubspot", url, {"access_token": "demo-token"}, {}, 100, 100, 10)
    )


def test_archived_records_are_listed_apart_with_their_archive_time(url: str) -> None:
    kept, gone = create(url, 2)
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert batch(url, "archive", [{"id": gone}]).status_code == 204

    active = listed(url).json()
    assert [r["id"] for r in active["results"]] == [kept] and "paging" not in active
    (archived,) = listed(url, archived="true", properties="email").json()["results"]
    assert archived["id"] == gone and archived["archived"] is True
    stamp = datetime.fromisoformat(archived["archivedAt"].replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC)
    assert set(archived["properties"]) == {"email", "hs_object_id", "createdate"}
    # read by id: gone unless asked for the archived one
    one = f"{url}/crm/v3/objects/contacts/{gone}"
    assert requests.get(one, headers=AUTH, timeout=10).status_code == 404
    answer = requests.get(one, params={"archived": "true"}, headers=AUTH, timeout=10)
    assert answer.status_code == 200 and answer.json()["archivedAt"] == archived["archivedAt"]


def test_pages_run_by_id_at_most_100_and_more_is_refused(url: str) -> None:
    ids = create(url, 100) + create(url, 30, start=100)
    assert batch(url, "archive", [{"id": i} for i in ids[:100]]).status_code == 204
    assert batch(url, "archive", [{"id": i} for i in ids[100:]]).status_code == 204
    first = listed(url, archived="true", limit="100").json()
    assert [r["id"] for r in first["results"]] == ids[:100]
    after = first["paging"]["next"]["after"]
    second = listed(url, archived="true", limit="100", after=after).json()
    assert [r["id"] for r in second["results"]] == ids[100:] and "paging" not in second
    assert len(listed(url, archived="true").json()["results"]) == 10  # the default limit
    refused = listed(url, archived="true", limit="101")
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert listed(url, archived="maybe").status_code == 400  # a boolean, as the spec says


def test_the_client_reads_the_whole_bin_page_by_page(url: str) -> None:
    ids = create(url, 100) + create(url, 50, start=100)
    for chunk in (ids[:100], ids[100:]):
        assert batch(url, "archive", [{"id": i} for i in chunk]).status_code == 204
    hubspot = client(url)
    since = datetime.now(UTC)  # HubSpot's list has no filter: the poller applies it
    pages, after = [], None
    while True:
        page = hubspot.deleted_since("contacts", since, after)
        pages.append(page)
        if page.after is None:
            break
        after = page.after
    assert [len(p.records) for p in pages] == [100, 50]
    assert [r.id for p in pages for r in p.records] == ids
    assert all(r.deleted_at is not None for p in pages for r in p.records)
    assert all(p.reached is None for p in pages)  # not in time order
    hubspot.close()
