"""Request checks that need no database: bodies, event shapes, query strings."""

from __future__ import annotations

import json
from typing import Any

import falcon
import falcon.testing
import pytest

from syncsvc.api.body import read_json, storable
from syncsvc.api.errors import ApiError
from syncsvc.api.events import parse_events
from syncsvc.api.params import bounded_int, query

LIMIT = 1024


def request(body: bytes, content_type: str = "application/json", **kwargs: Any) -> falcon.Request:
    env = falcon.testing.create_environ(
        method="POST", body=body, headers={"Content-Type": content_type}, **kwargs
    )
    env["CONTENT_LENGTH"] = str(len(body))
    return falcon.Request(env)


def problems(exc: ApiError) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in exc.problems]


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"table": "demo.contacts", "op": "insert", "key": {"id": 1}, "row": {}}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_json_object_is_read() -> None:
    assert read_json(request(b'{"a": [1, 2.5, "x", null]}'), LIMIT) == {"a": [1, 2.5, "x", None]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{", "malformed JSON at line 1 column 2"),
        (b'{"a": 1,}', "malformed JSON"),
        (b"", "is empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b'{"a": Infinity}', "Infinity is not valid JSON"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": "x\\u0000y"}', "NUL"),
        (b'{"a\\u0000": 1}', "NUL"),
        (b'{"a": "\\ud800"}', "unpaired surrogate"),
        (b"[" * 40 + b"]" * 40, "nested deeper"),
    ],
)
def test_malformed_bodies_are_400_naming_the_problem(body: bytes, needle: str) -> None:
    with pytest.raises(ApiError) as info:
        read_json(request(body), LIMIT)
    assert info.value.status == 400
    assert needle in info.value.message


def test_a_body_over_the_limit_is_413_whether_or_not_it_says_its_length_first() -> None:
    big = json.dumps({"a": "x" * LIMIT}).encode()
    with pytest.raises(ApiError) as info:
        read_json(request(big), LIMIT)
    assert info.value.status == 413
    env = falcon.testing.create_environ(
        method="POST", body=big, headers={"Content-Type": "application/json"}
    )
    del env["CONTENT_LENGTH"]
    with pytest.raises(ApiError) as info:
        read_json(falcon.Request(env), LIMIT)
    assert info.value.status == 411
    env["wsgi.input_terminated"] = True  # a chunked body, as gunicorn hands it over
    with pytest.raises(ApiError) as info:
        read_json(falcon.Request(env), LIMIT)
    assert info.value.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(content_type: str) -> None:
    with pytest.raises(ApiError) as info:
        read_json(request(b"{}", content_type), LIMIT)
    assert info.value.status == 415


def test_storable_names_the_path_of_a_nul() -> None:
    problem = storable({"events": [{"row": {"name": "a\x00"}}]}, "")
    assert problem is not None and problem.field == "events[0].row.name"


def test_a_valid_batch_parses() -> None:
    parsed = parse_events(
        {
            "events": [
                event(id="e-1"),
                event(op="delete", row=..., key={"id": "k"}),
                event(op="update", row={"a": 1}),
            ]
        },
        10,
    )
    assert [(e.op, e.client_id) for e in parsed] == [
        ("insert", "e-1"),
        ("delete", None),
        ("update", None),
    ]
    assert parsed[1].row is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], ("body", "must be a JSON object with an 'events' list")),
        ({}, ("events", "is required and must be a list")),
        ({"events": {}}, ("events", "is required and must be a list")),
        ({"events": []}, ("events", "must hold at least one event")),
        ({"events": [event()] * 11}, ("events", "at most 10 events per request")),
        ({"events": [event()], "extra": 1}, ("extra", "unknown field")),
        ({"events": [5]}, ("events[0]", "must be an object")),
        ({"events": [event(colour="red")]}, ("events[0].colour", "unknown field")),
        ({"events": [event(table="contacts")]}, ("events[0].table", "must be a SCHEMA.TABLE name")),
        ({"events": [event(table=7)]}, ("events[0].table", "must be a SCHEMA.TABLE name")),
        (
            {"events": [event(op="upsert")]},
            ("events[0].op", "must be one of insert, update, delete"),
        ),
        (
            {"events": [event(key=[1])]},
            ("events[0].key", "must be an object of 1 to 16 key columns"),
        ),
        (
            {"events": [event(key={})]},
            ("events[0].key", "must be an object of 1 to 16 key columns"),
        ),
        (
            {"events": [event(key={"id": 1.5})]},
            ("events[0].key.id", "must be a string or an integer"),
        ),
        (
            {"events": [event(key={"id": True})]},
            ("events[0].key.id", "must be a string or an integer"),
        ),
        ({"events": [event(key={"id": ""})]}, ("events[0].key.id", "must not be empty")),
        (
            {"events": [event(row=...)]},
            ("events[0].row", "is required for insert and must be an object"),
        ),
        (
            {"events": [event(row="x")]},
            ("events[0].row", "is required for insert and must be an object"),
        ),
        (
            {"events": [event(op="delete", row={})]},
            ("events[0].row", "must be absent or null for delete"),
        ),
        (
            {"events": [event(id="")]},
            ("events[0].id", "must be 1 to 200 printable ASCII characters"),
        ),
        (
            {"events": [event(id=5)]},
            ("events[0].id", "must be 1 to 200 printable ASCII characters"),
        ),
        (
            {"events": [event(id="a b")]},
            ("events[0].id", "must be 1 to 200 printable ASCII characters"),
        ),
    ],
)
def test_bad_batches_are_400_naming_the_field(body: Any, expected: tuple[str, str]) -> None:
    with pytest.raises(ApiError) as info:
        parse_events(body, 10)
    assert info.value.status == 400
    assert problems(info.value)[0] == expected
    assert info.value.message.startswith(f"{expected[0]}: {expected[1]}")


def test_every_bad_event_is_named_not_only_the_first() -> None:
    with pytest.raises(ApiError) as info:
        parse_events({"events": [event(op="x"), event(), event(table="x", key=5)]}, 10)
    assert [f for f, _ in problems(info.value)] == [
        "events[0].op",
        "events[2].table",
        "events[2].key",
    ]
    assert "(and 2 more)" in info.value.message


def query_of(qs: str) -> dict[str, str]:
    req = falcon.Request(falcon.testing.create_environ(query_string=qs))
    return query(req, {"cursor", "limit"})


def test_query_strings_take_known_parameters_once_and_treat_empty_as_absent() -> None:
    assert query_of("cursor=&limit=5") == {"limit": "5"}
    for qs, field in (("limit=1&limit=2", "limit"), ("offset=3", "offset")):
        with pytest.raises(ApiError) as info:
            query_of(qs)
        assert problems(info.value)[0][0] == field


@pytest.mark.parametrize("raw", ["0", "1001", "-1", "1.5", "ten", "1" * 20])
def test_limits_out_of_range_are_400(raw: str) -> None:
    with pytest.raises(ApiError) as info:
        bounded_int({"limit": raw}, "limit", 100, 1, 1000)
    assert problems(info.value) == [("limit", "must be an integer from 1 to 1000")]
    assert bounded_int({}, "limit", 100, 1, 1000) == 100
