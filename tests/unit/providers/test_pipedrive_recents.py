"""Pipedrive's deletions as the deletes poll reads them: the simulator answers ``GET /v1/recents``
as Pipedrive does (every change after ``since_timestamp`` of the item types asked, oldest first,
v1 shapes, a deleted person with ``active_flag: false``, v1 offset paging, a v1 list's token
cost), and the client keeps the deleted records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from providers.base import ConnectionInfo
from providers.pipedrive import PipedriveClient
from providers.simulation import SimServer
from providers.simulation.registry import make_simulator

TOKEN = {"x-api-token": "demo-api-token"}


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    sim = SimServer(make_simulator("pipedrive", {}), port=0).start()
    yield sim
    sim.stop()


@pytest.fixture
def url(server: SimServer) -> str:
    requests.post(f"{server.url}/_sim/reset", timeout=10).raise_for_status()
    return server.url


def edit(url: str, obj: str = "persons", **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{url}/_sim/edit", json={"object": obj, **body}, timeout=10)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()["data"]
    return data


def recents(url: str, **params: Any) -> requests.Response:
    return requests.get(f"{url}/v1/recents", params=params, headers=TOKEN, timeout=10)


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")


def test_recents_shows_a_deleted_person_marked_deleted_in_v1_shape(url: str) -> None:
    ada = edit(url, action="create", fields={"name": "Ada", "emails": [{"value": "a@x.org"}]})
    bob = edit(url, action="create", fields={"name": "Bob"})
    edit(url, action="delete", id=ada["id"])
    edit(url, "organizations", action="create", fields={"name": "Acme"})

    answer = recents(url, since_timestamp=an_hour_ago(), items="person")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    # persons only, oldest change first (whole seconds: a tie goes by id); Ada's is her deletion
    rows = {r["id"]: r["data"] for r in body["data"] if r["item"] == "person"}
    assert len(rows) == len(body["data"]) == 2
    assert [(r["data"]["update_time"], r["id"]) for r in body["data"]] == sorted(
        (d["update_time"], i) for i, d in rows.items()
    )
    gone = rows[ada["id"]]
    assert gone["active_flag"] is False and rows[bob["id"]]["active_flag"] is True
    assert gone["email"][0]["value"] == "a@x.org"  # v1: ``email``, not v2's ``emails``
    assert datetime.strptime(gone["update_time"], "%Y-%m-%d %H:%M:%S")  # v1 time format
    extra = body["additional_data"]
    assert extra["last_timestamp_on_page"] == body["data"][-1]["data"]["update_time"]
    assert extra["pagination"] == {"start": 0, "limit": 100, "more_items_in_collection": False}
    # not after the newest change: nothing
    assert recents(url, since_timestamp=gone["update_time"], items="person").json()["data"] == []


def test_recents_pages_by_offset_and_refuses_what_pipedrive_refuses(url: str) -> None:
    people = [edit(url, action="create", fields={"name": f"P{i}"})["id"] for i in range(5)]
    first = recents(url, since_timestamp=an_hour_ago(), items="person", limit=3).json()
    assert [r["id"] for r in first["data"]] == people[:3]
    assert first["additional_data"]["pagination"]["next_start"] == 3
    second = recents(url, since_timestamp=an_hour_ago(), items="person", start=3, limit=3).json()
    assert [r["id"] for r in second["data"]] == people[3:]
    assert second["additional_data"]["pagination"]["more_items_in_collection"] is False
    assert recents(url, since_timestamp="yesterday", items="person").status_code == 400
    assert recents(url, since_timestamp=an_hour_ago(), items="tickets").status_code == 400
    # the documented types the company holds none of answer no rows
    assert recents(url, since_timestamp=an_hour_ago(), items="note").json()["data"] == []


def test_a_recents_page_costs_what_a_v1_list_costs(url: str) -> None:
    def spent() -> int:
        stats = requests.get(f"{url}/_sim/stats", timeout=10).json()
        return int(stats["daily_tokens_used"])

    before = spent()
    recents(url, since_timestamp=an_hour_ago(), items="person").raise_for_status()
    assert spent() - before == 20


def test_the_client_keeps_only_the_deleted_records(url: str) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    ada = edit(url, action="create", fields={"name": "Ada"})
    edit(url, action="create", fields={"name": "Bob"})
    deal = edit(url, "deals", action="create", fields={"title": "Big"})
    edit(url, action="delete", id=ada["id"])
    edit(url, "deals", action="delete", id=deal["id"])
    info = ConnectionInfo(1, "pd", "pipedrive", url, {"api_token": "demo-api-token"}, {}, 50, 80, 2)
    client = PipedriveClient(info)
    page = client.deleted_since("persons", since, None)
    assert [r.id for r in page.records] == [str(ada["id"])] and page.after is None
    assert page.records[0].deleted_at is not None and page.reached == page.records[0].deleted_at
    deals = client.deleted_since("deals", since, None)
    assert [r.id for r in deals.records] == [str(deal["id"])]
    client.close()
