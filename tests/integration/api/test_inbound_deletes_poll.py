"""The deletes poll's passes (``syncsvc.inbound.deletes``), run from the test against HubSpot's
simulator and the real database, beat kept out of it (the connection's changes are not polled):
a pass bounded per tick goes on from the page kept in the cursor row, passes run every
``deletes_poll_seconds``, and a record archived during a pass, on a page the pass had read
already, is reported by the next pass although a newer deletion was seen meanwhile."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import requests

from providers.base import ProviderClient
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.db import transaction
from syncsvc.inbound import deletes
from tests.integration.conftest import Pipeline
from tests.support.inbound import contacts_config, delete_events, runtime_connection
from tests.support.sim import SimControl

pytestmark = pytest.mark.e2e

CONNECTION = "hs-deletes"
AUTH = {"Authorization": "Bearer demo-token"}
EVERY = 60


def setup(pipeline: Pipeline, hubspot: SimControl) -> tuple[RuntimeConnection, ProviderClient]:
    pipeline.apply(
        contacts_config(
            connection=CONNECTION,
            provider="hubspot",
            base_url=hubspot.base_url,
            credentials={"access_token": "demo-token", "webhook_secret": "s"},
            obj="contacts",
            key_field="syncsvc_id",
            outbound=[{"source": "email", "target": "email"}],
            inbound=[{"source": "email", "target": "email"}],
            webhooks=True,
            poll_seconds=0,  # beat polls nothing of it: the test runs the passes
        )
    )
    conn = runtime_connection(pipeline.settings, CONNECTION)
    assert conn.inbound is not None
    conn = dataclasses.replace(
        conn, inbound=dataclasses.replace(conn.inbound, poll_seconds=5, deletes_poll_seconds=EVERY)
    )
    return conn, conn.provider.client_class(conn.connection_info(pipeline.settings))


def poller(
    pipeline: Pipeline, conn: RuntimeConnection, client: ProviderClient
) -> Callable[..., int]:
    def poll(now: datetime, max_pages: int = deletes.MAX_PAGES) -> int:
        return deletes.poll(partial(transaction, pipeline.settings.db_url), conn, client, now,
                            max_pages)  # fmt: skip

    return poll


def batch(hubspot: SimControl, op: str, inputs: list[dict[str, Any]]) -> Any:
    answer = requests.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts/batch/{op}",
        json={"inputs": inputs}, headers=AUTH, timeout=10,
    )  # fmt: skip
    assert answer.status_code in (201, 204), answer.text
    return answer.json() if answer.content else None


def create(hubspot: SimControl, n: int, tag: str) -> list[str]:
    inputs = [{"properties": {"email": f"{tag}{i}@example.com"}} for i in range(n)]
    created = [r for s in range(0, n, 100) for r in batch(hubspot, "create", inputs[s : s + 100])["results"]]  # fmt: skip
    return sorted((r["id"] for r in created), key=int)


def archive(hubspot: SimControl, ids: list[str]) -> None:
    for start in range(0, len(ids), 100):
        batch(hubspot, "archive", [{"id": i} for i in ids[start : start + 100]])


def token(pipeline: Pipeline) -> deletes.Progress:
    found = pipeline.db.execute(
        "SELECT token FROM syncsvc.inbound_cursor WHERE object = %s",
        (deletes.cursor_name("contacts"),),
    ).fetchone()
    assert found is not None
    return deletes.Progress.load(found["token"])


def test_a_pass_goes_on_from_its_stored_page_and_passes_run_every_interval(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    conn, client = setup(pipeline, hubspot)
    poll = poller(pipeline, conn, client)
    ids = create(hubspot, 150, "gone")
    archive(hubspot, ids)
    now = datetime.now(UTC)

    assert poll(now, max_pages=1) == 100  # one page this tick; the pass is under way
    assert token(pipeline).page == ids[100]
    assert poll(now, max_pages=1) == 50  # due at once: the pass goes on where it stopped
    assert token(pipeline).page is None
    asked = hubspot.stats()["requests"]
    assert poll(now + timedelta(seconds=EVERY - 1)) == 0  # the next pass is not due yet
    assert hubspot.stats()["requests"] == asked
    assert poll(now + timedelta(seconds=EVERY + 1)) == 0  # a whole pass again: nothing new
    assert hubspot.stats()["requests"] == asked + 2
    assert sorted(crm_id for crm_id, _ in delete_events(pipeline)) == sorted(ids)
    client.close()


def test_a_deletion_behind_a_running_pass_is_reported_by_the_next(
    pipeline: Pipeline, hubspot: SimControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list runs by id: a record archived on a page the pass has read is missed by it,
    while a newer deletion further on is seen. The mark trails a pass, so the next pass still
    starts before the missed one (without the overlap, which would hide the point)."""
    monkeypatch.setattr(deletes, "POLL_OVERLAP", timedelta(0))
    conn, client = setup(pipeline, hubspot)
    poll = poller(pipeline, conn, client)
    (early,) = create(hubspot, 1, "early")  # the lowest id: on the first page
    archived = create(hubspot, 150, "gone")
    (late,) = create(hubspot, 1, "late")  # the highest id: on the last page
    archive(hubspot, archived)
    now = datetime.now(UTC)
    assert poll(now) == 150  # a whole pass

    later = now + timedelta(seconds=EVERY + 1)
    assert poll(later, max_pages=1) == 0  # the next pass, its first page: nothing new
    assert token(pipeline).page is not None
    archive(hubspot, [early])  # behind the pass
    time.sleep(0.01)
    archive(hubspot, [late])  # ahead of it, and newer
    assert poll(later, max_pages=1) == 1  # the rest: ``late``; ``early`` was missed
    assert token(pipeline).page is None
    assert early not in {crm_id for crm_id, _ in delete_events(pipeline)}

    assert poll(later + timedelta(seconds=EVERY + 1)) == 1
    assert delete_events(pipeline)[-1][0] == early
    client.close()
