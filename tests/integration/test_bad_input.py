"""Bad input is named, never silent (I-5): each bad row gets a dead letter with the field and the
reason, and everything else keeps flowing. (Bad config files: tests/integration/test_config.py;
invalid UTF-8 and malformed JSON at the HTTP API: tests/integration/api/test_requests.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncsvc import capture
from tests.integration.conftest import Pipeline, execute
from tests.integration.test_end_to_end_hubspot import by_key, hubspot_config
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def people_config(base_url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "connections": [
            {
                "name": "hubspot-badinput",
                "provider": "hubspot",
                "base_url": base_url,
                "credentials": {"access_token": "demo-token"},
                "objects": {
                    "contacts": {
                        "mappings": [
                            {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"]},
                            {"source": "email", "target": "email"},
                            {"source": "note", "target": "lastname"},
                        ]
                    }
                },
                "rules": [
                    {"name": "people", "source": "badinput.people", "operations": ["insert", "update"],
                     "action": "upsert", "object": "contacts", "id_property": "syncsvc_id"},
                ],
            }
        ],
    }  # fmt: skip


@pytest.fixture
def people(pipeline: Pipeline) -> Iterator[Pipeline]:
    db = pipeline.db
    db.execute("CREATE SCHEMA IF NOT EXISTS badinput")
    db.execute("DROP TABLE IF EXISTS badinput.people")
    db.execute("CREATE TABLE badinput.people (id int PRIMARY KEY, email text, age text, note text)")
    capture.add_capture(db, "badinput.people", notify="always")
    yield pipeline
    pipeline.wait_idle()
    capture.remove_capture(db, "badinput.people")
    db.execute("DROP TABLE badinput.people")


def test_each_bad_row_is_dead_lettered_with_its_field_and_the_good_ones_land(
    people: Pipeline, hubspot: SimControl
) -> None:
    people.apply(people_config(hubspot.base_url))
    rows = [
        (1, "good1@example.com", "31", "fine"),
        (2, "wrong-type@example.com", "thirty", "age is not a number"),
        (3, None, "40", "email missing"),
        (4, "huge@example.com", "50", "x" * 1_000_000),
        (5, "bell@example.com", "60", "ring \x07 the bell"),
        (6, "user@localhost", "70", "the CRM refuses this email"),
        (7, "good2@example.com", None, "fine too"),
    ]
    for row in rows:
        execute(people.db, "INSERT INTO badinput.people VALUES (%s, %s, %s, %s)", *row)
    wait_until(lambda: set(by_key(hubspot, "contacts")) == {"1", "7"}, 60, message=people.describe)
    wait_until(lambda: len(people.dead_letters()) == 5, 60, message=people.describe)
    people.wait_idle()
    letters = {d["record_key"]: d for d in people.dead_letters()}
    expected = {
        "2": ("validate", "age", "not a valid integer"),
        "3": ("validate", "email", "null"),
        "4": ("validate", "note", "longer than maximum length 1000"),
        "5": ("validate", "note", "control characters"),
        "6": ("push", "email", "invalid"),
    }
    for key, (stage, field, reason) in expected.items():
        letter = letters[key]
        assert (letter["stage"], letter["field"]) == (stage, field), letter
        assert reason in letter["reason"].lower(), letter["reason"]
    kept = letters["4"]["event"]["row"]["note"]
    assert len(kept) < 20_000, "a dead letter keeps the start of a huge value, not all of it"
    assert set(by_key(hubspot, "contacts")) == {"1", "7"}


def test_deleting_a_record_that_was_never_synced_is_quiet(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(
        hubspot_config(
            hubspot.base_url, when={"field": "lifecycle_stage", "op": "ne", "value": "subscriber"}
        )
    )
    rid = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('never@example.com', 'subscriber') RETURNING id",
    )[0]["id"]
    execute(pipeline.db, "DELETE FROM demo.contacts WHERE id = %s", rid)
    synced = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('marker@example.com', 'lead') RETURNING id",
    )[0]["id"]
    wait_until(lambda: str(synced) in by_key(hubspot, "contacts"), 60, message=pipeline.describe)
    pipeline.wait_idle()
    assert set(by_key(hubspot, "contacts")) == {str(synced)}
    assert pipeline.dead_letters() == []
    outbox = execute(
        pipeline.db, "SELECT status FROM syncsvc.outbox WHERE record_key = %s", str(rid)
    )
    assert all(r["status"] == "delivered" for r in outbox)
