"""Outbox items → $batch requests, and batch answers → results, without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.base import PushItem, PushResult
from providers.dynamics import multipart
from providers.dynamics.operations import Planned, Table, plan, record_guid, result
from syncsvc.errors import PermanentError, RateLimited, RetryableError

TABLE = Table("/api/data/v9.2", "contacts", "contact")
GUID = "d31ba648-c592-ed11-aad1-000d3a993550"
KEY = "syncsvc_externalid"
CONNECTION = 3


def item(
    op: str = "upsert",
    key: str | None = "42",
    external_id: str | None = None,
    payload: Any = None,
) -> PushItem:
    body = {KEY: key, "lastname": "Lovelace"} if payload is None else payload
    return PushItem(9, "contacts", op, "42", KEY, key, body, external_id, 1)


def planned(op: str, **kwargs: Any) -> Planned:
    step = plan(TABLE, op, item(op, **kwargs), CONNECTION)
    assert isinstance(step, Planned)
    return step


def test_upsert_patches_by_alternate_key_and_asks_for_the_record_id() -> None:
    step = planned("upsert", external_id=GUID)
    message = step.message
    assert message.start == (
        f"PATCH /api/data/v9.2/contacts({KEY}='42')?$select=contactid HTTP/1.1"
    )
    assert message.headers == {
        "Content-Type": "application/json; type=entry", "Prefer": "return=representation",
    }  # fmt: skip
    assert json.loads(message.body) == {KEY: "42", "lastname": "Lovelace"}
    assert message.content_id == "9"


def test_update_is_update_only_and_prefers_the_known_record_id() -> None:
    assert planned("update", external_id=GUID).message.url.startswith(
        f"/api/data/v9.2/contacts({GUID})?"
    )
    message = planned("update").message
    assert message.headers["If-Match"] == "*"
    assert message.url.startswith(f"/api/data/v9.2/contacts({KEY}='42')")


def test_create_is_create_only_by_key_and_by_a_stable_record_id_without_one() -> None:
    by_key = planned("create").message
    assert (by_key.method, by_key.headers["If-None-Match"]) == ("PATCH", "*")
    bare = planned("create", key=None, payload={"lastname": "x"})
    guid = record_guid(CONNECTION, "contacts", "42")
    assert (bare.message.method, bare.message.headers["If-None-Match"]) == ("PATCH", "*")
    assert bare.message.url == f"/api/data/v9.2/contacts({guid})?$select=contactid"
    assert bare.record_id == guid
    again = planned("create", key=None, payload={"lastname": "y"})
    assert again.message.url == bare.message.url, "every send of a record names the same id"
    known = planned("create", key=None, external_id=GUID, payload={"lastname": "x"})
    assert known.message.url.startswith(f"/api/data/v9.2/contacts({GUID})")


def test_record_ids_differ_by_connection_table_and_record() -> None:
    ids = {
        record_guid(1, "contacts", "42"), record_guid(2, "contacts", "42"),
        record_guid(1, "accounts", "42"), record_guid(1, "contacts", "43"),
    }  # fmt: skip
    assert len(ids) == 4


def test_archive_deletes_by_id_then_by_key_and_skips_records_never_synced() -> None:
    assert planned("archive", external_id=GUID).message.start == (
        f"DELETE /api/data/v9.2/contacts({GUID}) HTTP/1.1"
    )
    assert planned("archive").message.url == f"/api/data/v9.2/contacts({KEY}='42')"
    skipped = plan(TABLE, "archive", item("archive", key=None), CONNECTION)
    assert isinstance(skipped, PushResult) and skipped.ok


def test_an_upsert_without_a_key_value_fails_naming_the_key_column() -> None:
    refused = plan(TABLE, "upsert", item(key=""), CONNECTION)
    assert isinstance(refused, PushResult) and isinstance(refused.error, PermanentError)
    assert (refused.error.field, refused.error.code) == (KEY, "MISSING_KEY")


@pytest.mark.parametrize("payload", [["not", "a", "map"], {"x": float("nan")}, {"x": object()}])
def test_a_payload_that_is_not_a_json_object_fails_alone(payload: Any) -> None:
    refused = plan(TABLE, "upsert", item(payload=payload), CONNECTION)
    assert isinstance(refused, PushResult) and isinstance(refused.error, PermanentError)
    assert refused.error.code == "BAD_PAYLOAD"


def answer(status: int, body: Any = "", **headers: str) -> multipart.HttpMessage:
    text = body if isinstance(body, str) else json.dumps(body)
    return multipart.response(status, text, {k.replace("_", "-"): v for k, v in headers.items()})


def test_written_answers_give_the_record_id_and_whether_it_was_created() -> None:
    step = planned("upsert")
    created = result(TABLE, step, answer(201, {"contactid": GUID}))
    updated = result(TABLE, step, answer(200, {"contactid": GUID}))
    bare = result(TABLE, step, answer(204, **{"odata-entityid": f"https://o/contacts({GUID})"}))
    assert (created.external_id, created.created) == (GUID, True)
    assert (updated.external_id, updated.created) == (GUID, False)
    assert (bare.ok, bare.external_id, bare.created) == (True, GUID, None)


def test_a_delete_of_a_record_already_gone_is_a_success() -> None:
    gone = {"error": {"code": "0x80060891", "message": "A record with the specified key values "
                      "does not exist in contact entity"}}  # fmt: skip
    assert result(TABLE, planned("archive"), answer(404, gone)).ok
    assert result(TABLE, planned("archive"), answer(204)).ok


def test_a_create_of_a_record_already_there_is_a_success() -> None:
    exists = {"error": {"code": "0x80040237", "message": "A record with matching key values"}}
    done = result(TABLE, planned("create"), answer(412, exists))
    assert done.ok and done.created is False
    bare = planned("create", key=None, payload={"lastname": "x"})
    resent = result(TABLE, bare, answer(412, exists))
    assert resent.ok and resent.external_id == bare.record_id


def test_an_update_of_a_missing_record_is_permanent() -> None:
    missing = {"error": {"code": "0x80060891", "message": "does not exist"}}
    error = result(TABLE, planned("update"), answer(404, missing)).error
    assert isinstance(error, PermanentError) and error.code == "0x80060891"


def test_a_validation_error_names_the_column_from_the_message() -> None:
    body = {"error": {"code": "0x80044331", "message": "A validation error occurred.  The length "
            "of the 'lastname' attribute of the 'contact' entity exceeded the maximum allowed "
            "length of '50'."}}  # fmt: skip
    error = result(TABLE, planned("upsert"), answer(400, body)).error
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("lastname", "0x80044331")


def test_throttled_and_server_errors_inside_a_batch_are_retried() -> None:
    throttled = {"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}
    waited = result(TABLE, planned("upsert"), answer(429, throttled, retry_after="7")).error
    assert isinstance(waited, RateLimited) and waited.retry_after == 7
    assert isinstance(result(TABLE, planned("upsert"), answer(503)).error, RetryableError)
    unanswered = result(TABLE, planned("upsert"), None).error
    assert isinstance(unanswered, RetryableError) and not isinstance(unanswered, RateLimited)
