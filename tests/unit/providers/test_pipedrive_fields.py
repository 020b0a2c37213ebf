"""Building v2 request bodies from flat payloads, reading Pipedrive's answers, the search
window, the field cache and the token source (no HTTP)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests

from providers.pipedrive.auth import TokenSource
from providers.pipedrive.fields import FieldCatalog, ObjectFields, build_body, fetch_all
from providers.pipedrive.lookup import SearchWindow, confirmed, search_hits
from providers.pipedrive.responses import error_path, raise_for_call, rate_limited
from syncsvc.errors import PermanentError, RateLimited, RetryableError

KEY = "a" * 40
STAGE = "b" * 40
HQ = "c" * 40
REVENUE = "d" * 40


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fields(object_name: str = "persons") -> ObjectFields:
    return ObjectFields(
        object_name,
        {KEY: "syncsvc_id", STAGE: "Lifecycle Stage", HQ: "HQ", REVENUE: "Revenue"},
        {KEY: "varchar", STAGE: "varchar", HQ: "address", REVENUE: "monetary"},
    )


def response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = (json.dumps(body) if body is not None else "<html>blocked</html>").encode()
    answer.headers.update(headers or {})
    return answer


def test_a_flat_payload_becomes_a_v2_body() -> None:
    payload = {
        "name": "Ada",
        "emails": "ada@example.com",
        "phones": ["1", "2"],
        "syncsvc_id": "12",
        "lifecycle stage": "lead",
        "HQ": "London",
        "Revenue": 10,
    }
    assert build_body(fields(), payload) == {
        "name": "Ada",
        "emails": [{"value": "ada@example.com", "primary": True, "label": "work"}],
        "phones": [
            {"value": "1", "primary": True, "label": "work"},
            {"value": "2", "primary": False, "label": "work"},
        ],
        "custom_fields": {
            KEY: "12",
            STAGE: "lead",
            HQ: {"value": "London"},
            REVENUE: {"value": 10},
        },
    }


def test_empty_contacts_and_addresses_clear_the_field() -> None:
    assert build_body(fields(), {"emails": None, "phones": ""}) == {"emails": [], "phones": []}
    org = build_body(fields("organizations"), {"address": "", "name": "O"})
    assert org == {"address": None, "name": "O"}
    assert build_body(fields("organizations"), {"address": "Tallinn"})["address"] == {
        "value": "Tallinn"
    }


def test_custom_fields_may_be_named_by_key_and_passed_through() -> None:
    body = build_body(fields(), {KEY: "1", "custom_fields": {STAGE: "x"}})
    assert body == {"custom_fields": {STAGE: "x", KEY: "1"}}


def test_unknown_and_ambiguous_targets_name_the_field() -> None:
    with pytest.raises(PermanentError) as caught:
        build_body(fields(), {"favourite_colour": "blue"})
    assert (caught.value.field, caught.value.code) == ("favourite_colour", "UNKNOWN_FIELD")
    twice = ObjectFields("persons", {KEY: "Tier", STAGE: "tier"}, {})
    assert twice.custom_key("Tier") == KEY  # an exact name wins
    with pytest.raises(PermanentError) as caught:
        twice.custom_key("TIER")
    assert caught.value.code == "AMBIGUOUS_FIELD"


def test_error_paths_map_back_to_mapping_targets() -> None:
    f = fields()
    assert f.target_of(f"custom_fields.{STAGE}") == "Lifecycle Stage"
    assert f.target_of("emails[0].value") == "emails"
    assert f.target_of(None) is None
    assert error_path({"error": "Validation failed: emails[0].value: bad"}) == "emails[0].value"
    assert error_path({"error": "whatever", "field_code": KEY}) == f"custom_fields.{KEY}"
    assert error_path({"error": "Person not found"}) is None


def test_names_are_standard_keys_plus_custom_names_and_keys() -> None:
    names = fields().names()
    assert {"name", "emails", "phones", "org_id", "syncsvc_id", KEY, "HQ"} <= names
    assert "title" not in names


def test_rate_limited_prefers_retry_after_then_the_reset_header() -> None:
    body = {"success": False, "error": "Request over limit", "errorCode": 429}
    assert (
        rate_limited(
            response(429, body, {"Retry-After": "7", "x-ratelimit-reset": "2"})
        ).retry_after
        == 7
    )
    assert rate_limited(response(429, body, {"x-ratelimit-reset": "3"})).retry_after == 3
    assert rate_limited(response(429, body)).retry_after == 2.0
    daily = rate_limited(response(429, body, {"x-daily-ratelimit-token-remaining": "0"}))
    assert daily.daily is True and 1 <= (daily.retry_after or 0) <= 3600
    assert rate_limited(response(429, body, {"x-daily-requests-left": "0"})).daily is True
    budget = {"success": False, "error": "Daily API token budget exceeded", "errorCode": 429}
    assert rate_limited(response(429, budget)).daily is True


def test_call_failures_map_to_the_error_hierarchy() -> None:
    with pytest.raises(RateLimited):
        raise_for_call(response(429, {"success": False}))
    with pytest.raises(RetryableError) as retry:
        raise_for_call(
            response(503, {"success": False, "error": "maintenance"}, {"Retry-After": "5"})
        )
    assert retry.value.retry_after == 5
    with pytest.raises(RetryableError) as blocked:  # Cloudflare's HTML page after ignored 429s
        raise_for_call(response(403))
    assert (blocked.value.retry_after or 0) >= 60
    body = {"success": False, "error": "Validation failed: title: required", "code": "ERR_X"}
    with pytest.raises(PermanentError) as caught:
        raise_for_call(response(400, body))
    assert (caught.value.field, caught.value.code) == ("title", "ERR_X")
    raise_for_call(response(200, {"success": True}))


def test_search_hits_oldest_first_and_confirmation() -> None:
    body = {"data": {"items": [{"item": {"id": 9}}, {"item": {"id": 3}}, {"bad": 1}]}}
    assert [h["id"] for h in search_hits(body)] == [3, 9]
    assert list(search_hits({"data": None})) == []
    assert confirmed({KEY: "12"}, KEY, "12")
    assert not confirmed({KEY: "120"}, KEY, "12")
    assert confirmed({KEY: 12.0}, KEY, "12")
    assert confirmed({"emails": ["A@X.com"]}, "emails", "a@x.com")
    assert confirmed({"name": "Ada"}, "name", "ADA")
    assert not confirmed({KEY: None}, KEY, "12")


def test_the_search_window_refuses_the_eleventh_search_in_two_seconds() -> None:
    clock = Clock()
    window = SearchWindow(10, 2.0, clock)
    for _ in range(10):
        window.acquire()
    with pytest.raises(RateLimited) as caught:
        window.acquire()
    assert caught.value.retry_after == pytest.approx(2.0)
    clock.now += 2.0
    window.acquire()


def test_field_lists_are_paged_cached_and_refetched_when_stale() -> None:
    pages = {
        0: {
            "data": [{"key": "name"}, {"key": KEY, "name": "syncsvc_id"}],
            "additional_data": {"pagination": {"more_items_in_collection": True, "next_start": 2}},
        },
        2: {
            "data": [{"key": STAGE, "name": "Stage", "field_type": "enum"}],
            "additional_data": {"pagination": {"more_items_in_collection": False}},
        },
    }
    asked: list[int] = []

    def get(path: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params["start"])
        return pages[params["start"]]

    clock = Clock()
    catalog = FieldCatalog(lambda o: fetch_all(get, "/v1/personFields"), clock)
    first = catalog.get("persons")
    assert first.custom_names == {KEY: "syncsvc_id", STAGE: "Stage"}
    assert first.custom_types[STAGE] == "enum"
    assert catalog.get("persons") is first and asked == [0, 2]
    clock.now += 10
    assert catalog.get("persons", fresher_than=30) is first
    clock.now += 30
    assert catalog.get("persons", fresher_than=30) is not first
    assert asked == [0, 2, 0, 2]


def test_the_token_source_refreshes_ahead_of_expiry_once_for_all_threads() -> None:
    clock = Clock()
    sent: list[tuple[dict[str, str], tuple[str, str]]] = []

    def post(form: dict[str, str], basic: tuple[str, str]) -> requests.Response:
        sent.append((form, basic))
        return response(
            200, {"access_token": f"t{len(sent)}", "expires_in": 3600, "refresh_token": "r2"}
        )

    source = TokenSource(
        {"client_id": "c", "client_secret": "s", "refresh_token": "r1"}, post, clock
    )
    threads = [threading.Thread(target=source.token) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 1
    assert sent[0] == ({"grant_type": "refresh_token", "refresh_token": "r1"}, ("c", "s"))
    assert source.token() == "t1"
    assert source.headers("t1") == {"Authorization": "Bearer t1"}
    clock.now += 3600 - 59  # inside the one-minute margin
    assert source.token() == "t2"
    assert sent[1][0]["refresh_token"] == "r2"  # the rotated refresh token is used
    assert source.refresh(stale="t1") == "t2"  # another thread already refreshed
    assert len(sent) == 2


def test_an_api_token_is_sent_as_the_x_api_token_header() -> None:
    source = TokenSource({"api_token": "abc"}, lambda f, b: response(500, {}))
    assert source.token() == "abc"
    assert source.headers("abc") == {"x-api-token": "abc"}
    assert source.refreshable is False
