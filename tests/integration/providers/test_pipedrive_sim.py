"""The Pipedrive simulator speaks Pipedrive's wire format: envelopes, error bodies, headers,
limits, search and field lists (raw HTTP, no client)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from providers.pipedrive.sim import PipedriveSim, make_simulator
from providers.pipedrive.sim.fields import custom_key
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options
from syncsvc.errors import ConfigError
from tests.integration.providers.helpers import serving

TOKEN = {"x-api-token": "demo-api-token"}
KEY = custom_key("persons", "syncsvc_id")


class Http:
    def __init__(self, server: SimServer, app: PipedriveSim) -> None:
        self.url, self.app = server.url, app

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", TOKEN)
        return requests.request(method, self.url + path, timeout=5, **kwargs)

    def config(self, **options: Any) -> None:
        requests.post(self.url + "/_sim/config", json=options, timeout=5).raise_for_status()


@pytest.fixture
def http() -> Iterator[Http]:
    with serving(make_simulator(example_sim_options("pipedrive"))) as (server, app):
        yield Http(server, app)


def new_person(http: Http, n: int, **body: Any) -> dict[str, Any]:
    payload = {"name": f"P {n}", "custom_fields": {KEY: str(n)}, **body}
    answer = http("POST", "/api/v2/persons", json=payload)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def assert_error_envelope(body: dict[str, Any]) -> None:
    assert body["success"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert body["data"] is None
    assert "error_info" in body


def test_success_envelope_and_rate_limit_headers(http: Http) -> None:
    answer = http("POST", "/api/v2/persons", json={"name": "Ada", "emails": [{"value": "a@x.com"}]})
    body = answer.json()
    assert answer.status_code == 200 and body["success"] is True
    data = body["data"]
    assert data["emails"] == [{"value": "a@x.com", "primary": True, "label": "work"}]
    assert data["custom_fields"] == {KEY: None, custom_key("persons", "lifecycle_stage"): None}
    assert data["add_time"].endswith("Z") and data["is_deleted"] is False
    headers = answer.headers
    assert headers["x-ratelimit-limit"] == "80"
    assert int(headers["x-ratelimit-remaining"]) == 79
    assert int(headers["x-ratelimit-reset"]) in (1, 2)
    assert int(headers["x-daily-ratelimit-token-remaining"]) == 1_000_000 - 5


def test_unauthenticated_and_unknown_tokens_get_401(http: Http) -> None:
    for headers in ({}, {"x-api-token": "nope"}, {"Authorization": "Bearer nope"}):
        answer = http("GET", "/api/v2/persons", headers=headers)
        assert answer.status_code == 401
        body = answer.json()
        assert_error_envelope(body)
        assert body["errorCode"] == 401


def test_the_burst_window_answers_429_with_pipedrive_headers(http: Http) -> None:
    http.config(rate_limit_requests=2, rate_limit_seconds=30)
    assert [http("GET", "/api/v2/deals").status_code for _ in range(3)] == [200, 200, 429]
    answer = http("GET", "/api/v2/deals")
    body = answer.json()
    assert_error_envelope(body)
    assert (body["error"], body["errorCode"]) == ("Request over limit", 429)
    assert answer.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(answer.headers["x-ratelimit-reset"]) <= 30
    assert "Retry-After" not in answer.headers
    stats = requests.get(http.url + "/_sim/stats", timeout=5).json()
    assert (stats["throttled"], stats["max_in_window"]) == (2, 2)
    http.config(rate_limit_requests=5)  # a new limit starts a new measurement
    assert requests.get(http.url + "/_sim/stats", timeout=5).json()["max_in_window"] == 0


def test_search_has_its_own_window_of_ten_per_two_seconds(http: Http) -> None:
    new_person(http, 1)
    params = {"term": "1", "fields": "custom_fields", "exact_match": "true"}
    codes = [http("GET", "/api/v2/persons/search", params=params).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    assert http("GET", "/api/v2/persons").status_code == 200  # other endpoints still answer


def test_the_daily_budget_spends_pipedrive_token_costs(http: Http) -> None:
    http.config(daily_budget=30)
    person = new_person(http, 1)  # 5
    http("GET", f"/api/v2/persons/{person['id']}")  # 1
    answer = http("GET", "/api/v2/persons/search", params={"term": "P 1"})  # 20
    assert answer.headers["x-daily-ratelimit-token-remaining"] == "4"
    assert http("GET", "/api/v2/persons").status_code == 200  # 10: the last one may overdraw
    answer = http("GET", "/api/v2/persons")
    assert answer.status_code == 429
    assert answer.headers["x-daily-ratelimit-token-remaining"] == "0"
    assert "budget" in answer.json()["error"]
    stats = requests.get(http.url + "/_sim/stats", timeout=5).json()
    assert (stats["daily_tokens_used"], stats["daily_refused"]) == (36, 1)


def test_validation_errors_name_the_field(http: Http) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v2/persons", {"emails": [{"value": "a@x.com"}]}, "Validation failed: name:"),
        ("/api/v2/persons", {"name": "A", "emails": [{"value": "nope"}]}, "emails[0].value:"),
        ("/api/v2/deals", {"title": "D", "value": "12.5"}, "value: must be a number"),
        ("/api/v2/deals", {"title": "D", "status": "pending"}, "status:"),
        (
            "/api/v2/deals",
            {"title": "D", "expected_close_date": "24/12/2026"},
            "expected_close_date:",
        ),
        ("/api/v2/organizations", {"name": "O", "address": "London"}, "address:"),
        (
            "/api/v2/organizations",
            {"name": "O", "city": "London"},
            "Parameter 'city' is not allowed for this request",
        ),
    ]
    for path, body, expected in cases:
        answer = http("POST", path, json=body)
        assert answer.status_code == 400, (path, body)
        error = answer.json()
        assert_error_envelope(error)
        assert error["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
        assert expected in error["error"], (expected, error["error"])


def test_custom_fields_go_by_key_and_errors_name_the_key(http: Http) -> None:
    answer = http("POST", "/api/v2/persons", json={"name": "A", "custom_fields": {"a" * 40: "x"}})
    assert answer.status_code == 400
    assert "'" + "a" * 40 + "'" in answer.json()["error"]
    answer = http("POST", "/api/v2/persons", json={"name": "A", "custom_fields": {KEY: 5}})
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"Validation failed: custom_fields: Expected 'string' as value for text custom field '{KEY}'"
    )


def test_one_record_per_request_an_array_body_is_refused(http: Http) -> None:
    answer = http("POST", "/api/v2/persons", json=[{"name": "A"}, {"name": "B"}])
    assert answer.status_code == 400
    assert "one record per request" in answer.json()["error"]
    assert http.app.dump("persons") == []


def test_list_and_search_limits_are_capped_at_500(http: Http) -> None:
    assert http("GET", "/api/v2/persons", params={"limit": 500}).status_code == 200
    assert http("GET", "/api/v2/persons", params={"limit": 501}).status_code == 400
    params = {"term": "ab", "limit": 501}
    assert http("GET", "/api/v2/persons/search", params=params).status_code == 400


def test_search_matches_exactly_ignoring_case_or_as_a_substring(http: Http) -> None:
    new_person(http, 12, emails=[{"value": "Ada@Example.com"}])
    new_person(http, 123)

    def ids(**params: Any) -> list[int]:
        answer = http("GET", "/api/v2/persons/search", params=params)
        assert answer.status_code == 200, answer.text
        return [i["item"]["id"] for i in answer.json()["data"]["items"]]

    assert ids(term="12", fields="custom_fields", exact_match="true") == [1]
    assert ids(term="12", fields="custom_fields") == [1, 2]
    assert ids(term="ada@example.COM", fields="email", exact_match="true") == [1]
    item = http("GET", "/api/v2/persons/search", params={"term": "P 12"}).json()["data"]["items"][0]
    assert set(item) == {"result_score", "item"}
    assert item["item"]["type"] == "person" and item["item"]["emails"] == ["Ada@Example.com"]
    assert http("GET", "/api/v2/persons/search", params={"term": "1"}).status_code == 400
    bad_field = {"term": "ab", "fields": "title"}
    assert http("GET", "/api/v2/persons/search", params=bad_field).status_code == 400


def test_get_patch_delete_and_404_envelopes(http: Http) -> None:
    person = new_person(http, 1)
    path = f"/api/v2/persons/{person['id']}"
    one = http("GET", path, params={"custom_fields": KEY}).json()["data"]
    assert one["custom_fields"] == {KEY: "1"}
    too_many = ",".join([KEY] * 16)
    assert http("GET", path, params={"custom_fields": too_many}).status_code == 400
    patched = http("PATCH", path, json={"phones": [{"value": "123"}]}).json()["data"]
    assert patched["name"] == "P 1" and patched["phones"][0]["value"] == "123"
    assert http("PATCH", path, json={"name": None}).status_code == 400
    deleted = http("DELETE", path)
    assert deleted.status_code == 200 and deleted.json() == {
        "success": True,
        "data": {"id": person["id"]},
    }
    for method in ("GET", "PATCH", "DELETE"):
        gone = http(method, path, json={"name": "x"} if method == "PATCH" else None)
        assert gone.status_code == 404
        assert gone.json()["error"] == "Person not found"
    assert http.app.view("persons") == []
    assert [a["op"] for a in http.app.acks] == ["create", "update", "archive"]


def test_field_lists_are_v1_shaped_and_paginated(http: Http) -> None:
    first = http("GET", "/v1/personFields", params={"start": 0, "limit": 5}).json()
    assert first["success"] is True and len(first["data"]) == 5
    assert first["additional_data"]["pagination"] == {
        "start": 0,
        "limit": 5,
        "more_items_in_collection": True,
        "next_start": 5,
    }
    everything = http("GET", "/api/v1/personFields", params={"limit": 500}).json()["data"]
    by_name = {f["name"]: f for f in everything}
    assert by_name["syncsvc_id"]["key"] == KEY and by_name["syncsvc_id"]["edit_flag"] is True
    assert by_name["Name"]["key"] == "name" and by_name["Name"]["mandatory_flag"] is True
    assert {"email", "phone"} <= {f["key"] for f in everything}  # v1 names the lists so


def test_the_oauth_token_endpoint(http: Http) -> None:
    basic = "Basic " + base64.b64encode(b"demo-client:demo-secret").decode()
    form = {"grant_type": "refresh_token", "refresh_token": "demo-refresh-token"}
    answer = requests.post(
        http.url + "/oauth/token", data=form, headers={"Authorization": basic}, timeout=5
    )
    token = answer.json()
    assert answer.status_code == 200
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 3600)
    assert {"access_token", "refresh_token", "scope", "api_domain"} <= set(token)
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    assert http("GET", "/api/v2/deals", headers=bearer).status_code == 200
    http.config(expire_tokens=True)
    expired = http("GET", "/api/v2/deals", headers=bearer)
    assert expired.status_code == 401
    assert expired.json()["error"] == "Invalid token: access_token is invalid"

    wrong = requests.post(
        http.url + "/oauth/token",
        data={**form, "refresh_token": "x"},
        headers={"Authorization": basic},
        timeout=5,
    )
    assert wrong.status_code == 400 and "refresh_token is invalid" in wrong.json()["error"]
    as_json = requests.post(
        http.url + "/oauth/token", json=form, headers={"Authorization": basic}, timeout=5
    )
    assert as_json.status_code == 400 and "x-www-form-urlencoded" in as_json.json()["error"]


def test_view_reads_flat_fields_with_custom_fields_by_name(http: Http) -> None:
    new_person(http, 7, emails=[{"value": "a@x.com", "primary": True}], phones=[{"value": "1"}])
    [view] = http.app.view("persons")
    assert view["key"] == "7"
    assert view["fields"] == {"name": "P 7", "emails": "a@x.com", "phones": "1", "syncsvc_id": "7"}


def test_reject_values_fail_one_record_with_a_validation_error(http: Http) -> None:
    http.config(reject_values=["evil"])
    answer = http("POST", "/api/v2/persons", json={"name": "evil"})
    assert answer.status_code == 400 and answer.json()["error"].startswith(
        "Validation failed: name:"
    )
    assert new_person(http, 1)["name"] == "P 1"
    requests.post(http.url + "/_sim/reset", timeout=5).raise_for_status()
    assert http.app.view("persons") == [] and http.app.reject_values == frozenset()


def test_unknown_options_fail_loudly(http: Http) -> None:
    with pytest.raises(ConfigError):
        make_simulator({"rate_limit": 5})
    answer = requests.post(http.url + "/_sim/config", json={"custom_fields": {}}, timeout=5)
    assert answer.status_code == 400


def test_the_standard_fields_come_from_the_data_files_in_the_real_shape(http: Http) -> None:
    counts = {}
    for path, obj in (("personFields", "persons"), ("organizationFields", "organizations")):
        data = http("GET", f"/v1/{path}", params={"limit": 500}).json()["data"]
        counts[obj] = len(data)
        for entry in data:
            assert {"id", "key", "name", "field_type", "edit_flag", "mandatory_flag"} <= set(entry)
    deals = http("GET", "/v1/dealFields", params={"limit": 500}).json()["data"]
    by_key = {f["key"]: f for f in deals}
    assert by_key["status"]["options"][:3] == [
        {"id": "open", "label": "Open"},
        {"id": "lost", "label": "Lost"},
        {"id": "won", "label": "Won"},
    ]
    assert by_key["title"]["mandatory_flag"] is True and by_key["title"]["edit_flag"] is False
    assert by_key["weighted_value_currency"]["is_subfield"] is True
    assert counts["persons"] >= 30 and counts["organizations"] >= 30 and len(deals) >= 30


def test_a_custom_field_created_through_the_admin_endpoint(http: Http) -> None:
    answer = http(
        "POST",
        "/v1/personFields",
        json={
            "name": "Tier",
            "field_type": "enum",
            "options": [{"label": "Gold"}, {"label": "Tin"}],
        },
    )
    assert answer.status_code == 200, answer.text
    field = answer.json()["data"]
    assert len(field["key"]) == 40 and field["edit_flag"] is True
    assert [o["label"] for o in field["options"]] == ["Gold", "Tin"]
    gold = field["options"][0]["id"]
    listed = http("GET", "/v1/personFields", params={"limit": 500}).json()["data"]
    assert field["key"] in {f["key"] for f in listed}
    written = http(
        "POST", "/api/v2/persons", json={"name": "A", "custom_fields": {field["key"]: gold}}
    )
    assert (
        written.status_code == 200 and written.json()["data"]["custom_fields"][field["key"]] == gold
    )
    for bad in ({"name": "X", "field_type": "boolean"}, {"name": "Y", "field_type": "set"}):
        refused = http("POST", "/v1/personFields", json=bad)
        assert refused.status_code == 400
        assert_error_envelope(refused.json())


def test_writes_the_account_refuses_get_v2_error_bodies_and_are_counted(http: Http) -> None:
    tier = http(
        "POST", "/v1/personFields", json={"name": "T", "field_type": "set", "options": ["a"]}
    ).json()["data"]["key"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"open_deals_count": 3}, "read_only", "open_deals_count: Parameter 'open_deals_count'"),
        ({"favourite": 3}, "unknown_field", "favourite: Parameter 'favourite' is not allowed"),
        ({"custom_fields": {KEY: 12}}, "wrong_type", "Expected 'string' as value for text"),
        ({"custom_fields": {tier: [999]}}, "bad_option", "Option with id 999 does not exist"),
        ({"label_ids": [99]}, "bad_option", "label_ids: label 99 does not exist"),
        ({"custom_fields": {KEY: "k" * 256}}, "too_long", "longer than 255 characters"),
    ]
    counted: dict[str, int] = {}
    for extra, kind, expected in cases:
        answer = http("POST", "/api/v2/persons", json={"name": "A", **extra})
        assert answer.status_code == 400, extra
        body = answer.json()
        assert_error_envelope(body)
        assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
        assert body["error"].startswith("Validation failed: ") and expected in body["error"]
        assert body["error"].count(KEY) <= 1
        stats = requests.get(http.url + "/_sim/stats", timeout=5).json()
        counted[kind] = counted.get(kind, 0) + 1
        assert {k: n for k, n in stats["refused_by_kind"].items() if n} == counted
    assert stats["refused_writes"] == len(cases)
    assert http.app.dump("persons") == []  # nothing refused was stored
