"""The sync log: one entry per delivery attempt outcome, and ``trace`` reading a record's story."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.integration.conftest import Pipeline, execute
from tests.integration.test_end_to_end_hubspot import hubspot_config
from tests.support.orders import orders_config as orders_config_of
from tests.support.orders import orders_table
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

ORDERS = "synclog_t.orders"


def log_of(pipeline: Pipeline, key: str) -> list[dict[str, Any]]:
    return execute(
        pipeline.db, "SELECT * FROM syncsvc.sync_log WHERE record_key = %s ORDER BY id", key
    )


def outbox_row(pipeline: Pipeline, key: str) -> dict[str, Any]:
    rows = execute(pipeline.db, "SELECT * FROM syncsvc.outbox WHERE record_key = %s", key)
    assert len(rows) == 1, rows
    return rows[0]


def insert_contact(pipeline: Pipeline, email: str, first_name: str = "Ada") -> str:
    row = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, lifecycle_stage) VALUES (%s, %s, 'lead') "
        "RETURNING id",
        email,
        first_name,
    )[0]
    return str(row["id"])


def failing_until_retried(pipeline: Pipeline, hubspot: SimControl, key: str) -> None:
    """The CRM keeps failing until the record's first failed attempt is logged."""

    def retried() -> bool:
        return any(e["status"] == "retry" for e in log_of(pipeline, key))

    try:
        wait_until(retried, 90, message=pipeline.describe)
    finally:
        hubspot.fault("none")


def settled(pipeline: Pipeline, key: str, status: str) -> Callable[[], bool]:
    def check() -> bool:
        rows = execute(pipeline.db, "SELECT status FROM syncsvc.outbox WHERE record_key = %s", key)
        return bool(rows) and rows[0]["status"] == status

    return check


def test_a_delivered_record_has_one_entry_with_its_crm_id(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    key = insert_contact(pipeline, "log1@example.com")
    wait_until(settled(pipeline, key, "delivered"), 60, message=pipeline.describe)
    row = outbox_row(pipeline, key)
    [entry] = log_of(pipeline, key)
    assert entry["status"] == "delivered"
    assert (entry["object"], entry["op"], entry["attempt"]) == ("contacts", "upsert", 1)
    assert entry["version"] == row["version"]
    assert entry["external_id"] == row["external_id"] is not None
    assert entry["error_message"] is None and entry["http_status"] is None
    assert entry["duration_ms"] is not None and entry["duration_ms"] >= 0
    assert entry["connection_id"] == row["connection_id"]


def test_a_retried_then_delivered_record_has_an_entry_per_attempt(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    hubspot.fault("http_error", seconds=300, status=503)
    key = insert_contact(pipeline, "log2@example.com")
    failing_until_retried(pipeline, hubspot, key)
    wait_until(settled(pipeline, key, "delivered"), 90, message=pipeline.describe)
    entries = log_of(pipeline, key)
    failed = hubspot.stats()["faulted"]
    assert failed >= 1
    assert [e["status"] for e in entries] == ["retry"] * failed + ["delivered"]
    assert [e["attempt"] for e in entries] == list(range(1, failed + 2))
    for e in entries[:-1]:
        assert e["http_status"] == 503
        assert "503" in e["error_message"]
        assert e["external_id"] is None
    assert entries[-1]["external_id"] == outbox_row(pipeline, key)["external_id"]


def test_a_dead_lettered_record_has_the_crms_error_code_and_message(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    pipeline.apply(hubspot_config(hubspot.base_url))
    hubspot.configure(reject_values=["Refuse-Me"])
    key = insert_contact(pipeline, "log3@example.com", first_name="Refuse-Me")
    wait_until(settled(pipeline, key, "dead"), 60, message=pipeline.describe)
    [entry] = log_of(pipeline, key)
    assert entry["status"] == "dead"
    assert entry["attempt"] == 1
    assert entry["http_status"] == 400
    assert entry["error_code"] == "INVALID_VALUE"
    assert "refused by a validation rule on firstname" in entry["error_message"]
    [letter] = pipeline.dead_letters()
    assert letter["record_key"] == key and letter["stage"] == "push"


# trace ------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    import syncsvc.cli as cli_pkg
    from syncsvc.cli import trace  # noqa: F401

    for name, value in service_env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli_pkg.cli, ["trace", *args])

    return run


@pytest.fixture
def orders(pipeline: Pipeline) -> Iterator[None]:
    with orders_table(pipeline.db, ORDERS, "email text"):
        yield


def orders_config(base_url: str) -> dict[str, Any]:
    return orders_config_of(hubspot_config(base_url), ORDERS)


def test_trace_tells_a_composite_key_records_story(
    pipeline: Pipeline,
    hubspot: SimControl,
    orders: None,
    run_cli: Callable[..., Result],
) -> None:
    pipeline.apply(orders_config(hubspot.base_url))
    hubspot.fault("http_error", seconds=300, status=502)
    execute(
        pipeline.db,
        "INSERT INTO synclog_t.orders VALUES ('eu', 7, 'o7@example.com'), "
        "('eu', 8, 'o8@example.com')",
    )
    key = json.dumps({"order_no": 7, "region": "eu"}, separators=(",", ":"), sort_keys=True)
    failing_until_retried(pipeline, hubspot, key)
    wait_until(settled(pipeline, key, "delivered"), 90, message=pipeline.describe)
    crm_id = outbox_row(pipeline, key)["external_id"]

    result = run_cli(ORDERS, "region=eu,order_no=7", "--json")
    assert result.exit_code == 0, result.output
    story = json.loads(result.output)
    assert story["key"] == {"region": "eu", "order_no": 7}
    assert story["record_key"] == key
    assert story["events"] == [] and story["dead_letters"] == []
    [row] = story["outbox"]
    assert (row["connection"], row["status"], row["external_id"]) == (
        "hubspot-test",
        "delivered",
        crm_id,
    )
    statuses = [e["status"] for e in reversed(row["log"])]  # the log is newest first
    assert statuses[-1] == "delivered" and set(statuses[:-1]) == {"retry"}
    assert row["log"][0]["external_id"] == crm_id
    assert all(e["http_status"] == 502 for e in row["log"][1:])

    text = run_cli(ORDERS, "order_no=7,region=eu")
    assert text.exit_code == 0, text.output
    assert "hubspot-test" in text.output and crm_id in text.output
    assert "delivered" in text.output and "502" in text.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("synclog_t.nope", "1"), "does not exist"),
        ((ORDERS, "eu"), "composite key: give it as region=…,order_no=…"),
        ((ORDERS, "region=eu"), "misses ['order_no']"),
        ((ORDERS, "region=eu,order_no=x"), "malformed key"),
        ((ORDERS, "region=eu,order_no=1,color=red"), "'color' is not a key column"),
        ((ORDERS, "region=eu,,order_no=1"), "malformed key"),
        (("no such table!", "1"), "not a table name"),
    ],
)
def test_trace_names_a_bad_table_or_key(
    orders: None, run_cli: Callable[..., Result], args: tuple[str, str], message: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
