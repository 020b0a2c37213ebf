"""One contract every CRM provider passes, end to end on real processes against its simulator.

Each provider is driven through its own example config (``examples/connections/<name>.yaml``)
pointed at its simulator, and observed through the simulator's provider-neutral ``/_sim/view``.
Every simulator runs in its ``strict`` mode: each documented failure behaviour of its CRM that
the default leaves out is on (HubSpot: whole-call 409s and results without trace ids;
Salesforce: client credentials only on the My Domain; Pipedrive: a search index that lags
writes, no daily-budget headers, OAuth only on the company domain; Zoho: the API only on the
data centre's host; Dataverse: ``$batch`` requests that take server time), so a change that
breaks the client's handling of one of them fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from providers.registry import provider_names
from tests.integration.conftest import Pipeline, execute
from tests.support.crms import Crm, running_crm
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=provider_names())
def crm(request: pytest.FixtureRequest) -> Iterator[Crm]:
    yield from running_crm(request.param, strict=True)


@pytest.fixture
def fresh(pipeline: Pipeline, crm: Crm) -> Pipeline:
    crm.fresh(pipeline)
    return pipeline


def with_connection(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(config))
    copy["connections"][0].update(changes)
    return copy


def insert_contacts(p: Pipeline, n: int, last_name: str | None = None) -> list[int]:
    tag = uuid.uuid4().hex[:8]
    rows = execute(
        p.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "SELECT 'c' || g || '.' || %s || '@example.com', 'First' || g, coalesce(%s, 'Last' || g), 'lead' "
        "FROM generate_series(1, %s) g RETURNING id",
        tag,
        last_name,
        n,
    )
    return [r["id"] for r in rows]


def test_create_update_and_delete_reach_the_crm(fresh: Pipeline, crm: Crm) -> None:
    db = fresh.db
    contact = insert_contacts(fresh, 1)[0]
    company = execute(
        db,
        "INSERT INTO demo.companies (name, domain, city) VALUES ('Contract Co', 'contract.example', 'Oslo') RETURNING id",
    )[0]["id"]
    deal = execute(
        db,
        "INSERT INTO demo.deals (name, amount, stage, close_date) VALUES ('Contract deal', 42.5, 'qualifiedtobuy', '2027-01-15') RETURNING id",
    )[0]["id"]
    wait_until(lambda: crm.holds("demo.contacts", contact, "c1."), 60, message=fresh.describe)
    wait_until(
        lambda: crm.holds("demo.companies", company, "Contract Co"), 60, message=fresh.describe
    )
    wait_until(lambda: crm.holds("demo.deals", deal, "Contract deal"), 60, message=fresh.describe)

    marker = "Upd" + uuid.uuid4().hex[:6]
    execute(db, "UPDATE demo.contacts SET last_name = %s WHERE id = %s", marker, contact)
    execute(db, "UPDATE demo.companies SET name = %s WHERE id = %s", marker, company)
    wait_until(lambda: crm.holds("demo.contacts", contact, marker), 60, message=fresh.describe)
    wait_until(lambda: crm.holds("demo.companies", company, marker), 60, message=fresh.describe)
    assert len(crm.view("demo.contacts")) == 1, "an update must not create a second record"

    execute(db, "DELETE FROM demo.contacts WHERE id = %s", contact)
    execute(db, "DELETE FROM demo.deals WHERE id = %s", deal)
    wait_until(lambda: str(contact) not in crm.view("demo.contacts"), 60, message=fresh.describe)
    wait_until(lambda: str(deal) not in crm.view("demo.deals"), 60, message=fresh.describe)
    fresh.wait_idle()
    assert fresh.dead_letters() == []


def test_one_record_the_crm_rejects_goes_to_dead_letters_while_the_others_land(
    fresh: Pipeline, crm: Crm
) -> None:
    refused = "REJECT-" + uuid.uuid4().hex[:6]
    crm.sim.configure(reject_values=[refused])
    good = insert_contacts(fresh, 4)
    execute(
        fresh.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('bad@example.com', NULL, %s, 'lead')",
        refused,
    )
    good += insert_contacts(fresh, 3)
    wait_until(
        lambda: {str(g) for g in good} <= set(crm.view("demo.contacts")), 90, message=fresh.describe
    )
    fresh.wait_idle(90)
    letters = fresh.dead_letters()
    assert len(letters) == 1, letters
    assert letters[0]["stage"] == "push"
    assert refused.lower() in letters[0]["reason"].lower() or letters[0]["field"], letters[0]
    assert len(crm.view("demo.contacts")) == len(good)


def test_an_access_token_expiring_mid_run_is_refreshed(fresh: Pipeline, crm: Crm) -> None:
    first = insert_contacts(fresh, 3)
    wait_until(
        lambda: {str(i) for i in first} <= set(crm.view("demo.contacts")),
        60,
        message=fresh.describe,
    )
    issued = crm.sim.stats()["tokens_issued"]
    crm.sim.configure(expire_tokens=True)
    second = insert_contacts(fresh, 3)
    wait_until(
        lambda: {str(i) for i in second} <= set(crm.view("demo.contacts")),
        60,
        message=fresh.describe,
    )
    fresh.wait_idle()
    assert crm.sim.stats()["tokens_issued"] > issued, "the client should have fetched a new token"
    assert fresh.dead_letters() == []


def test_native_rate_limit_answers_are_honoured(fresh: Pipeline, crm: Crm) -> None:
    crm.sim.fault("rate_limit", seconds=10)
    ids = insert_contacts(fresh, 20)
    wait_until(
        lambda: {str(i) for i in ids} <= set(crm.view("demo.contacts")), 90, message=fresh.describe
    )
    fresh.wait_idle()
    assert crm.sim.stats()["faulted"] > 0, "the CRM should have throttled some requests"
    assert fresh.dead_letters() == []


def test_the_crm_window_is_never_exceeded(fresh: Pipeline, crm: Crm) -> None:
    # The CRM allows 3 requests per 2 s; our limiter is looser, so the CRM's own throttling
    # answers are what keeps the pushes inside its window.
    before = crm.sim.stats()
    crm.sim.configure(rate_limit_requests=3, rate_limit_seconds=2)
    try:
        fresh.apply(
            with_connection(crm.config, batch_size=2, rate_limit={"requests": 30, "per_seconds": 2})
        )
        ids = insert_contacts(fresh, 12)
        wait_until(
            lambda: {str(i) for i in ids} <= set(crm.view("demo.contacts")),
            120,
            message=fresh.describe,
        )
        fresh.wait_idle()
        stats = crm.sim.stats()
        assert stats["max_in_window"] <= 3
        assert stats["throttled"] > 0
        assert fresh.dead_letters() == []
    finally:
        crm.sim.configure(
            rate_limit_requests=before.get("rate_limit_requests", 1000),
            rate_limit_seconds=before.get("rate_limit_seconds", 1),
        )


def test_sending_the_same_versions_again_creates_no_duplicates(fresh: Pipeline, crm: Crm) -> None:
    ids = insert_contacts(fresh, 5)
    wait_until(
        lambda: {str(i) for i in ids} <= set(crm.view("demo.contacts")), 60, message=fresh.describe
    )
    fresh.wait_idle()
    acked = len(crm.sim.acks())
    # Send every delivered version again, and forget the CRM ids we learnt: a CRM without
    # upsert must find the records by our key instead of creating them twice.
    execute(
        fresh.db,
        "UPDATE syncsvc.outbox SET status = 'pending', external_id = NULL, "
        "next_attempt_at = now() - interval '1 minute'",
    )
    wait_until(lambda: len(crm.sim.acks()) >= acked + 5, 60, message=fresh.describe)
    fresh.wait_idle()
    records = crm.view("demo.contacts")
    assert sorted(records) == sorted(str(i) for i in ids)
    assert fresh.dead_letters() == []
