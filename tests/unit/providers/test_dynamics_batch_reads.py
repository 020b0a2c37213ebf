"""Dataverse reads in one ``$batch``: a GET part per record (by alternate key, or by id with
the lookups' tables asked for), and each answered part read the one way (``reads.bodies``): a
200's JSON object is the record, a 404 or anything unreadable is no record."""

from __future__ import annotations

import json

from providers.dynamics import changes, reads
from providers.dynamics.links import INCLUDE_LOGICAL_NAMES
from providers.dynamics.multipart import HttpMessage
from providers.dynamics.operations import Table

TABLE = Table("/api/data/v9.2", "contacts", "contact")
ID = "00000000-0000-0000-0000-00000000000{}"


def ok(body: object) -> HttpMessage:
    return HttpMessage("HTTP/1.1 200 OK", {}, json.dumps(body))


ANSWERS = [
    ok({"contactid": ID.format(1), "emailaddress1": "a@example.com", "x": 1}),
    HttpMessage("HTTP/1.1 404 Not Found", {}, '{"error": {"code": "0x80060891"}}'),
    HttpMessage("HTTP/1.1 200 OK", {}, "not json"),
    ok([{"contactid": ID.format(4)}]),
    ok({"contactid": ID.format(5).upper(), "emailaddress1": None}),
]


def test_one_get_part_per_record_by_key_or_by_id() -> None:
    by_key = reads.get_requests(TABLE, "emailaddress1", ["a@example.com"], ["firstname"])
    by_id = changes.get_requests(TABLE, [ID.format(1)], ["firstname"])
    assert [m.headers.get("Prefer") for m in by_key + by_id] == [None, INCLUDE_LOGICAL_NAMES]
    assert [(m.start, m.content_id) for m in by_key + by_id] == [
        (
            "GET /api/data/v9.2/contacts(emailaddress1='a%40example.com')"
            "?$select=emailaddress1,firstname HTTP/1.1",
            "0",
        ),
        (
            f"GET /api/data/v9.2/contacts({ID.format(1)})"
            "?$select=contactid,firstname,modifiedon HTTP/1.1",
            "0",
        ),
    ]


def test_a_200_with_an_object_is_a_record_anything_else_is_none() -> None:
    by_value = reads.records_of(ANSWERS, ["a", "b", "c", "d", "e"], ["emailaddress1"])
    assert by_value == {"a": {"emailaddress1": "a@example.com"}, "e": {"emailaddress1": None}}
    by_id = changes.records_of(TABLE, ANSWERS, ["emailaddress1"])
    assert {i: r.fields for i, r in by_id.items()} == {
        ID.format(1): {"emailaddress1": "a@example.com"},
        ID.format(5): {"emailaddress1": None},
    }
