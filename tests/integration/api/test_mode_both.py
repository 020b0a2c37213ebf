"""Mode `both`: push (to a real HubSpot simulator) and the poll feed run at once, and every
version of every record is delivered exactly once — by one of them, never by both."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from tests.integration.api.conftest import Api, ApiWorld, contacts_connection
from tests.integration.conftest import execute
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

RECORDS = 200


class Drainer(threading.Thread):
    """Polls and acknowledges every page until stopped; remembers what it was served."""

    def __init__(self, api: Api, name: str) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.connection = name
        self.stop = threading.Event()
        self.served: list[tuple[str, int]] = []
        self.payloads: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                page = self.api.changes(self.connection, limit=25).json()
                for c in page["changes"]:
                    self.served.append((c["record_key"], c["version"]))
                    self.payloads[c["record_key"]] = c["payload"]
                if page["changes"]:
                    assert self.api.ack(self.connection, page["next_cursor"]).status_code == 200
                elif not page["has_more"]:
                    if self.stop.is_set():
                        return
                    self.stop.wait(0.05)
        except BaseException as exc:
            self.error = exc


def pushed(hubspot: SimControl) -> Counter[str]:
    return Counter(a["key"] for a in hubspot.acks() if a["object"] == "contacts")


def test_push_and_poll_never_deliver_the_same_version_twice(
    world: ApiWorld, hubspot: SimControl
) -> None:
    # Our own limiter lets the push through slowly (50 records a second), so the poller
    # gets to serve a good part of every round while pushes are in flight.
    world.connections(
        contacts_connection(
            "both", mode="both", base_url=hubspot.base_url, rate_limit=(5, 1), batch_size=10
        )
    )
    cid = world.connection_id("both")
    db = world.pipeline.db
    drainer = Drainer(world.client("both", "write"), "both")
    drainer.start()

    def settled() -> bool:
        assert drainer.error is None, repr(drainer.error)
        row = db.execute(
            "SELECT count(*) FILTER (WHERE status <> 'delivered') AS open, count(*) AS n "
            "FROM syncsvc.outbox WHERE connection_id = %s",
            (cid,),
        ).fetchone()
        events = db.execute("SELECT count(*) AS n FROM syncsvc.sync_event").fetchone()
        assert row is not None and events is not None
        return row["n"] == RECORDS and row["open"] == 0 and events["n"] == 0

    try:
        ids = [
            r["id"]
            for r in execute(
                db,
                "INSERT INTO demo.contacts (email, first_name) SELECT 'b' || g || '@example.com', "
                "'round 1' FROM generate_series(1, %s) g RETURNING id",
                RECORDS,
            )
        ]
        wait_until(settled, 180, interval=0.25, message=world.pipeline.describe)
        round_one = Counter(k for k, _ in drainer.served) + pushed(hubspot)
        assert round_one == Counter({str(i): 1 for i in ids}), "one delivery per record"

        execute(db, "UPDATE demo.contacts SET first_name = 'round 2' WHERE id = ANY(%s)", ids)
        wait_until(settled, 180, interval=0.25, message=world.pipeline.describe)
    finally:
        drainer.stop.set()
        drainer.join(30)
    assert drainer.error is None, repr(drainer.error)

    polled = Counter(k for k, _ in drainer.served)
    by_push = pushed(hubspot)
    assert polled + by_push == Counter({str(i): 2 for i in ids}), "one delivery per version"
    assert len(set(drainer.served)) == len(drainer.served)
    assert sum(polled.values()) > 0 and sum(by_push.values()) > 0, "both channels delivered"

    # Whichever channel carried a record's last version holds its latest state.
    final = {
        r["record_key"]: r["version"]
        for r in execute(
            db,
            "SELECT record_key, version FROM syncsvc.outbox "
            "WHERE connection_id = %s AND delivered_version = version",
            cid,
        )
    }
    assert set(final) == {str(i) for i in ids}
    in_crm = {r["properties"]["syncsvc_id"]: r["properties"] for r in hubspot.records("contacts")}
    served = set(drainer.served)
    for key, version in final.items():
        latest = drainer.payloads[key] if (key, version) in served else in_crm[key]
        assert latest["firstname"] == "round 2", key
    print(f"\nmode both: {sum(polled.values())} versions polled, {sum(by_push.values())} pushed")
