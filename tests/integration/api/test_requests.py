"""Bad requests get a JSON 4xx that names the problem — never a 500."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.integration.api.conftest import Api, ApiWorld, contacts_connection

pytestmark = pytest.mark.e2e


def error(resp: requests.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    assert set(body) <= {"error", "message", "problems"}
    return body


def raw_post(
    api: Api, path: str, data: bytes, content_type: str = "application/json"
) -> requests.Response:
    return api.post(path, data=data, headers={"Content-Type": content_type})


@pytest.fixture
def api(world: ApiWorld) -> Api:
    world.connections(contacts_connection("strict"))
    return world.client("strict", "write")


@pytest.mark.parametrize("path", ["/v1/events", "/v1/connections/strict/ack"])
@pytest.mark.parametrize(
    ("data", "field", "needle"),
    [
        (b'{"events": [', "body", "malformed JSON"),
        (b"{'cursor': 1}", "body", "malformed JSON"),
        (b'{"cursor": NaN}', "body", "NaN is not valid JSON"),
        (b"\xc3\x28", "body", "not UTF-8"),
        (b'{"x": "\\u0000"}', "x", "NUL"),
    ],
)
def test_malformed_json_is_400(api: Api, path: str, data: bytes, field: str, needle: str) -> None:
    body = error(raw_post(api, path, data), 400)
    assert body["error"] == "bad_request"
    assert body["problems"][0]["field"] == field
    assert needle in body["problems"][0]["message"]


def test_wrong_types_and_unknown_fields_are_400_naming_them(api: Api) -> None:
    cases = [
        ("/v1/connections/strict/ack", {"cursor": 5}, "cursor", "is required and must be a string"),
        ("/v1/connections/strict/ack", {"cursor": "x", "limit": 1}, "limit", "unknown field"),
        ("/v1/connections/strict/ack", ["cursor"], "body", "must be a JSON object with a 'cursor'"),
        ("/v1/events", {"events": "all"}, "events", "is required and must be a list"),
        ("/v1/events", {"events": [{"table": "demo.contacts", "op": "insert", "key": {"id": "1"},
                                    "row": {}, "when": "now"}]}, "events[0].when", "unknown field"),
        ("/v1/events", {"events": [{"table": "demo.contacts", "op": 1, "key": {"id": 1}}]},
         "events[0].op", "must be one of insert, update, delete"),
    ]  # fmt: skip
    for path, payload, field, message in cases:
        body = error(api.post(path, json=payload), 400)
        assert {"field": field, "message": message} in body["problems"], (payload, body)
        assert body["message"].startswith(f"{field}: {message}")


def test_query_parameters_are_checked(api: Api) -> None:
    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"offset": "5"}, "offset"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "MTox.AAAAAAAAAAAAAAAAAAAAAA"}, "cursor"),
    ):
        body = error(api.changes("strict", **params), 400)
        assert body["problems"][0]["field"] == field
    assert api.changes("strict", cursor="", limit="").status_code == 200, "empty means absent"


def test_bodies_over_the_limit_are_413_and_other_media_types_415(api: Api) -> None:
    huge = b'{"events": ["' + b"x" * (1024 * 1024) + b'"]}'
    assert error(raw_post(api, "/v1/events", huge), 413)["error"] == "payload_too_large"
    chunks = (b"x" * 65536 for _ in range(20))  # chunked: no Content-Length up front
    resp = api.post("/v1/events", data=chunks, headers={"Content-Type": "application/json"})
    assert error(resp, 413)["error"] == "payload_too_large"
    form = raw_post(api, "/v1/events", b"events=1", "application/x-www-form-urlencoded")
    assert error(form, 415)["error"] == "unsupported_media_type"


def test_a_chunked_body_within_the_limit_is_read(api: Api) -> None:
    parts = (p for p in (b'{"cursor": ', b'"nope"}'))
    resp = api.post(
        "/v1/connections/strict/ack", data=parts, headers={"Content-Type": "application/json"}
    )
    assert error(resp, 400)["problems"][0]["field"] == "cursor"


def test_a_push_connection_has_no_feed(world: ApiWorld) -> None:
    world.connections(contacts_connection("pushing", mode="push"))
    api = world.client("pushing", "write")
    body = error(api.changes("pushing"), 409)
    assert body["error"] == "not_a_poll_connection"


def test_unknown_paths_and_methods_answer_in_json(api: Api) -> None:
    assert error(api.get("/v2/nothing"), 404)["error"] == "not_found"
    resp = api.http.delete(api.url + "/v1/events", timeout=10)
    assert error(resp, 405)["error"] == "method_not_allowed"
    assert resp.headers["Allow"] == "POST"
    assert error(api.http.options(api.url + "/v1/connections/strict/changes", timeout=10), 405)
