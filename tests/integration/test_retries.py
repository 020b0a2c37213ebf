"""Retries: a CRM that keeps failing sends a record to dead letters after max_attempts."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Pipeline, execute
from tests.integration.test_end_to_end_hubspot import by_key, hubspot_config
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def test_a_record_goes_to_dead_letters_after_its_connections_max_attempts(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    config = hubspot_config(hubspot.base_url)
    config["connections"][0]["max_attempts"] = 3
    pipeline.apply(config)
    hubspot.fault("http_error", seconds=120, status=503)
    try:
        execute(
            pipeline.db,
            "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('r@example.com', 'lead')",
        )
        wait_until(lambda: len(pipeline.dead_letters()) == 1, 90, message=pipeline.describe)
    finally:
        hubspot.fault("none")
    letter = pipeline.dead_letters()[0]
    assert letter["stage"] == "push"
    assert "gave up after 3 attempts" in letter["reason"]
    assert "503" in letter["reason"]
    row = execute(pipeline.db, "SELECT status FROM syncsvc.outbox")[0]
    assert row["status"] == "dead"


def test_a_failure_that_clears_is_retried_until_it_lands(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    hubspot.fault("http_error", seconds=4, status=502)
    rid = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, lifecycle_stage) VALUES ('back@example.com', 'lead') RETURNING id",
    )[0]["id"]
    wait_until(lambda: str(rid) in by_key(hubspot, "contacts"), 60, message=pipeline.describe)
    pipeline.wait_idle()
    assert pipeline.dead_letters() == []
    assert hubspot.stats()["faulted"] > 0
