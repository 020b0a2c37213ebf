"""The whole path on real processes: trigger → bridge → Celery chain → outbox → HubSpot simulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Pipeline, execute
from tests.support.rules import synced_rules
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONTACT_MAPPINGS = [
    {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
    {"source": "email", "target": "email", "transforms": ["strip", "lower"], "required": True},
    {"source": "first_name", "target": "firstname"},
    {"source": "last_name", "target": "lastname"},
    {"source": "lifecycle_stage", "target": "lifecyclestage"},
]
COMPANY_MAPPINGS = [
    {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
    {"source": "name", "target": "name", "transforms": ["strip"]},
    {"source": "domain", "target": "domain", "transforms": ["strip", "lower"]},
    {"source": "city", "target": "city", "transforms": ["strip"]},
]
DEAL_MAPPINGS = [
    {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
    {"source": "name", "target": "dealname", "transforms": ["strip"]},
    {"source": "amount", "target": "amount"},
    {"source": "stage", "target": "dealstage", "transforms": ["lower"]},
    {"source": "close_date", "target": "closedate"},
    {"target": "pipeline", "transforms": [{"constant": "default"}]},
]


def hubspot_config(
    base_url: str,
    when: dict[str, Any] | None = None,
    rate_limit: tuple[int, int] = (100, 10),
    batch_size: int = 100,
) -> dict[str, Any]:
    rules = synced_rules("demo.contacts", "contacts", when)
    for table, obj in (("demo.companies", "companies"), ("demo.deals", "deals")):
        rules += synced_rules(table, obj)
    return {
        "version": 1,
        "connections": [
            {
                "name": "hubspot-test",
                "provider": "hubspot",
                "base_url": base_url,
                "credentials": {"access_token": "demo-token"},
                "rate_limit": {"requests": rate_limit[0], "per_seconds": rate_limit[1]},
                "batch_size": batch_size,
                "objects": {
                    "contacts": {"mappings": [dict(m) for m in CONTACT_MAPPINGS]},
                    "companies": {"mappings": [dict(m) for m in COMPANY_MAPPINGS]},
                    "deals": {"mappings": [dict(m) for m in DEAL_MAPPINGS]},
                },
                "rules": rules,
            }
        ],
    }


def by_key(sim: SimControl, obj: str) -> dict[str, dict[str, str]]:
    return {r["properties"]["syncsvc_id"]: r["properties"] for r in sim.records(obj)}


def test_inserts_updates_and_deletes_reach_the_crm_with_mapped_values(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    db = pipeline.db
    ids = [
        r["id"]
        for r in execute(
            db,
            "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) VALUES "
            "('Ada@Example.COM', 'Ada', 'Lovelace', 'lead'), ('grace@example.com', 'Grace', 'Hopper', 'customer'), "
            "('alan@example.com', 'Alan', 'Turing', 'lead') RETURNING id",
        )
    ]
    company = execute(
        db,
        "INSERT INTO demo.companies (name, domain, city) VALUES ('Analytical Engines', 'ae.example', 'London') RETURNING id",
    )[0]["id"]
    deal = execute(
        db,
        "INSERT INTO demo.deals (name, amount, stage, close_date) VALUES ('Engine', 1234.5, 'qualifiedtobuy', '2026-12-24') RETURNING id",
    )[0]["id"]

    contacts = wait_until(lambda: c if len(c := by_key(hubspot, "contacts")) == 3 else None, 60)
    ada = contacts[str(ids[0])]
    assert ada["email"] == "ada@example.com"  # lower-cased by the mapping
    assert (ada["firstname"], ada["lastname"], ada["lifecyclestage"]) == ("Ada", "Lovelace", "lead")
    companies = wait_until(lambda: by_key(hubspot, "companies").get(str(company)), 60)
    assert (companies["name"], companies["domain"], companies["city"]) == (
        "Analytical Engines",
        "ae.example",
        "London",
    )
    deals = wait_until(lambda: by_key(hubspot, "deals").get(str(deal)), 60)
    assert deals["dealname"] == "Engine"
    assert float(deals["amount"]) == 1234.5
    assert deals["closedate"].startswith("2026-12-24")

    execute(
        db,
        "UPDATE demo.contacts SET last_name = 'King', lifecycle_stage = 'customer' WHERE id = %s",
        ids[0],
    )
    wait_until(lambda: by_key(hubspot, "contacts")[str(ids[0])]["lastname"] == "King", 60)
    assert by_key(hubspot, "contacts")[str(ids[0])]["lifecyclestage"] == "customer"

    execute(db, "DELETE FROM demo.contacts WHERE id = %s", ids[1])
    execute(db, "DELETE FROM demo.deals WHERE id = %s", deal)
    wait_until(lambda: str(ids[1]) not in by_key(hubspot, "contacts"), 60)
    wait_until(lambda: str(deal) not in by_key(hubspot, "deals"), 60)
    assert set(by_key(hubspot, "contacts")) == {str(ids[0]), str(ids[2])}
    pipeline.wait_idle()
    assert pipeline.dead_letters() == []


def test_ten_rapid_updates_of_one_record_end_with_its_latest_values(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    db = pipeline.db
    rid = execute(
        db,
        "INSERT INTO demo.contacts (email, first_name, lifecycle_stage) VALUES ('r@example.com', 'v0', 'lead') RETURNING id",
    )[0]["id"]
    for i in range(1, 11):
        execute(
            db,
            "UPDATE demo.contacts SET first_name = %s, email = %s WHERE id = %s",
            f"v{i}",
            f"r{i}@example.com",
            rid,
        )
    wait_until(lambda: by_key(hubspot, "contacts").get(str(rid), {}).get("firstname") == "v10", 60)
    pipeline.wait_idle()
    final = by_key(hubspot, "contacts")
    assert len(hubspot.records("contacts")) == 1, "an update must never create a second contact"
    assert final[str(rid)]["firstname"] == "v10"
    assert final[str(rid)]["email"] == "r10@example.com"


def test_invalid_email_goes_to_dead_letters_and_does_not_hold_back_the_others(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    rows = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, lifecycle_stage) "
        "SELECT CASE WHEN g = 3 THEN 'not-an-email' ELSE 'user' || g || '@example.com' END, 'U' || g, 'lead' "
        "FROM generate_series(1, 6) g RETURNING id, email",
    )
    bad = next(r["id"] for r in rows if r["email"] == "not-an-email")
    good = {str(r["id"]) for r in rows if r["id"] != bad}
    wait_until(lambda: set(by_key(hubspot, "contacts")) == good, 60)
    pipeline.wait_idle()
    letters = pipeline.dead_letters()
    assert len(letters) == 1
    letter = letters[0]
    assert letter["record_key"] == str(bad)
    assert letter["stage"] == "validate"
    assert letter["field"] == "email"
    assert "email" in letter["reason"].lower()
    assert letter["event"]["row"]["email"] == "not-an-email"


def test_a_rule_condition_filters_records(pipeline: Pipeline, hubspot: SimControl) -> None:
    pipeline.apply(
        hubspot_config(
            hubspot.base_url,
            when={"field": "lifecycle_stage", "op": "in", "value": ["lead", "customer"]},
        )
    )
    rows = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES "
        "('sub@example.com', 'subscriber'), ('lead@example.com', 'lead'), ('cust@example.com', 'customer') "
        "RETURNING id, lifecycle_stage",
    )
    wanted = {str(r["id"]) for r in rows if r["lifecycle_stage"] != "subscriber"}
    wait_until(lambda: set(by_key(hubspot, "contacts")) == wanted, 60)
    pipeline.wait_idle()
    assert set(by_key(hubspot, "contacts")) == wanted
    assert pipeline.dead_letters() == []


def test_pushes_wait_out_429s_and_finish_without_exceeding_the_crm_limit(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    # The simulator allows 4 requests per 2 s; our own limiter is set looser on purpose, so the
    # simulator's 429s (not our limiter) are what the pushes must honour.
    hubspot.configure(rate_limit_requests=4, rate_limit_seconds=2)
    try:
        pipeline.apply(hubspot_config(hubspot.base_url, rate_limit=(50, 2), batch_size=5))
        execute(
            pipeline.db,
            "INSERT INTO demo.contacts (email, lifecycle_stage) "
            "SELECT 'rl' || g || '@example.com', 'lead' FROM generate_series(1, 60) g",
        )
        wait_until(lambda: len(hubspot.records("contacts")) == 60, 120, interval=0.5)
        pipeline.wait_idle()
        stats = hubspot.stats()
        assert stats["throttled"] > 0, "the simulator should have answered some 429s"
        assert stats["max_in_window"] <= 4
        assert pipeline.dead_letters() == []
    finally:
        hubspot.configure(rate_limit_requests=100, rate_limit_seconds=10)
