"""Reading Zoho answers: per-record results, error classes, 429s, batching and COQL quoting."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from providers.base import PushItem
from providers.batching import unique_chunks
from providers.zoho.batching import by_id_property, id_chunks, key_of
from providers.zoho.lookup import quote, select_by_key
from providers.zoho.responses import item_error, raise_for_call, rate_limited
from providers.zoho.results import match_deletes, match_writes
from syncsvc.errors import AuthExpired, PermanentError, RateLimited, RetryableError


def item(n: int, op: str = "upsert", key: str | None = None) -> PushItem:
    value = key or str(n)
    return PushItem(n, "Contacts", op, value, "Syncsvc_Id", value, {"Syncsvc_Id": value}, None, 1)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    """A real ``requests.Response`` holding what Zoho sent (no HTTP involved)."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update(headers or {})
    return response


def success(record_id: str, action: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": "SUCCESS", "details": {"id": record_id}, "status": "success"}
    if action:
        entry["action"] = action
    return entry


def test_write_answers_match_by_position_with_created_from_the_action() -> None:
    invalid = {"code": "INVALID_DATA", "details": {"api_name": "Email"}, "message": "invalid data",
               "status": "error"}  # fmt: skip
    results = match_writes(
        "upsert",
        [item(1), item(2), item(3)],
        [success("11", "insert"), success("12", "update"), invalid],
    )
    assert [(r.external_id, r.created) for r in results[:2]] == [("11", True), ("12", False)]
    error = results[2].error
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("Email", "INVALID_DATA")


def test_a_short_answer_leaves_the_unanswered_records_to_be_retried() -> None:
    results = match_writes("update", [item(1), item(2)], [success("11")])
    assert results[0].ok and results[0].created is False
    assert isinstance(results[1].error, RetryableError)


def test_a_create_refused_as_duplicate_of_our_own_key_is_a_success() -> None:
    duplicate = {"code": "DUPLICATE_DATA", "status": "error", "message": "duplicate data",
                 "details": {"api_name": "Syncsvc_Id", "duplicate_record": {"id": "99"}}}  # fmt: skip
    [ours] = match_writes("create", [item(1, "create")], [duplicate])
    assert (ours.ok, ours.external_id, ours.created) == (True, "99", False)
    other = {**duplicate, "details": {"api_name": "Email", "duplicate_record": {"id": "99"}}}
    [theirs] = match_writes("create", [item(1, "create")], [other])
    assert isinstance(theirs.error, PermanentError) and theirs.error.code == "DUPLICATE_DATA"


def test_multiple_errors_name_the_first_field() -> None:
    entry = {"code": "MULTIPLE_OR_MULTI_ERRORS", "status": "error", "message": "Multiple errors",
             "details": {"errors": [{"code": "DUPLICATE_DATA", "details": {"api_name": "Email"}}]}}  # fmt: skip
    error = item_error(entry)
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("Email", "MULTIPLE_OR_MULTI_ERRORS")


@pytest.mark.parametrize("code", ["INTERNAL_ERROR", "RECORD_LOCKED", "TOO_MANY_REQUESTS"])
def test_transient_record_codes_are_retryable(code: str) -> None:
    error = item_error({"code": code, "details": {}, "status": "error"})
    assert isinstance(error, RetryableError) and not isinstance(error, RateLimited)


def test_deletes_match_by_id_and_an_id_zoho_lacks_counts_as_archived() -> None:
    gone = {"code": "INVALID_DATA", "details": {"id": "12"}, "message": "record not deleted",
            "status": "error"}  # fmt: skip
    locked = {"code": "RECORD_LOCKED", "details": {"id": "13"}, "status": "error"}
    targets = [(item(1), "11"), (item(2), "12"), (item(3), "13"), (item(4), "14")]
    results = match_deletes(targets, [locked, gone, success("11")])
    assert [r.ok for r in results] == [True, True, False, False]
    assert isinstance(results[2].error, RetryableError)
    assert isinstance(results[3].error, RetryableError), "not mentioned: try again"


def test_a_concurrency_429_waits_one_window_and_a_credits_429_is_daily() -> None:
    body = {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many requests",
            "status": "error"}  # fmt: skip
    short = rate_limited(answer(429, body), window_seconds=10)
    assert (short.retry_after, short.daily) == (10.0, False)
    assert rate_limited(answer(429, body), window_seconds=3600).retry_after == 60.0
    no_credits = answer(429, body, {"X-API-CREDITS-REMAINING": "0"})
    daily = rate_limited(no_credits, window_seconds=10)
    assert daily.daily is True and (daily.retry_after or 0) >= 600
    worded = rate_limited(answer(429, {**body, "message": "API credits exhausted"}), 10)
    assert worded.daily is True


def test_whole_call_failures_are_classified() -> None:
    raise_for_call(answer(200, {"data": []}))
    with pytest.raises(RateLimited):
        raise_for_call(answer(429, {"code": "TOO_MANY_REQUESTS"}))
    with pytest.raises(RetryableError):
        raise_for_call(answer(503, None))
    with pytest.raises(AuthExpired):
        raise_for_call(answer(401, {"code": "INVALID_TOKEN", "message": "Invalid OAuth token"}))
    with pytest.raises(PermanentError) as caught:
        raise_for_call(answer(401, {"code": "OAUTH_SCOPE_MISMATCH", "message": "Unauthorized"}))
    assert caught.value.code == "OAUTH_SCOPE_MISMATCH"
    with pytest.raises(PermanentError) as caught:
        raise_for_call(answer(400, {"code": "REQUIRED_PARAM_MISSING",
                                    "details": {"param_name": "ids"}}))  # fmt: skip
    assert caught.value.field == "ids"


def test_chunks_keep_each_record_once_per_call_and_respect_the_size() -> None:
    pairs = [(item(n, key=k), {"Syncsvc_Id": k}) for n, k in enumerate("aabcad")]
    chunks = unique_chunks(pairs, 3, key_of("upsert", "Syncsvc_Id"))
    assert [[p[1]["Syncsvc_Id"] for p in c] for c in chunks] == [["a", "b", "c"], ["a", "d"], ["a"]]
    assert len(unique_chunks(pairs, 100, key_of("create", None))) == 1


def test_upserts_group_by_their_key_field() -> None:
    other = item(2)
    other.id_property = "Email"
    groups = by_id_property("upsert", [(item(1), {}), (other, {}), (item(3), {})])
    assert {k: [p[0].outbox_id for p in v] for k, v in groups.items()} == {
        "Syncsvc_Id": [1, 3],
        "Email": [2],
    }


def test_delete_chunks_count_distinct_ids() -> None:
    targets = [(item(n), str(n // 2)) for n in range(300)]  # every id twice
    chunks = id_chunks(targets, 100)
    assert [(len(c), len({i for _, i in c})) for c in chunks] == [(200, 100), (100, 50)]


def test_coql_literals_are_escaped_and_names_checked() -> None:
    assert quote("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert select_by_key("Contacts", "Syncsvc_Id", ["1", "2"]) == (
        "select id, Syncsvc_Id from Contacts where Syncsvc_Id in ('1', '2') limit 200"
    )
    with pytest.raises(PermanentError):
        select_by_key("Contacts", "Syncsvc_Id) or (id", ["1"])
