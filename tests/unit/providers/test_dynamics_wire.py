"""OData key segments and the $batch multipart format, without a server."""

from __future__ import annotations

import pytest

from providers.dynamics import multipart
from providers.dynamics.multipart import ChangeSet, HttpMessage
from providers.dynamics.odata import by_id, by_key, entity_id, key_literal, parse_key

GUID = "d31ba648-c592-ed11-aad1-000d3a993550"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("42", "'42'"),
        ("O'Brien", "'O''Brien'"),
        ("a/b?c#d", "'a%2Fb%3Fc%23d'"),
        ("100% sure", "'100%25%20sure'"),
        ("it's (x)", "'it''s%20%28x%29'"),
        ("", "''"),
        (7, "7"),
    ],
)
def test_key_literals_are_quoted_and_encoded(value: str | int, literal: str) -> None:
    assert key_literal(value) == literal


@pytest.mark.parametrize("value", ["42", "O'Brien", "a/b?c#d", "''", "ü ✓", "x,y=z", "a)b("])
def test_a_key_segment_parses_back_to_its_value(value: str) -> None:
    segment = by_key("contacts", "syncsvc_externalid", value)
    assert segment.startswith("contacts(") and segment.endswith(")")
    assert parse_key(segment[len("contacts(") : -1]) == {"syncsvc_externalid": value}


def test_guid_and_composite_keys_parse() -> None:
    assert parse_key(GUID.upper()) == GUID
    assert parse_key("a='x',b=5") == {"a": "x", "b": 5}
    assert by_id("accounts", GUID) == f"accounts({GUID})"
    with pytest.raises(ValueError):
        by_id("accounts", "not-a-guid")


@pytest.mark.parametrize("bad", ["", "name=", "name='open", "=1", "a='x' b='y'", "a=x"])
def test_malformed_key_segments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_key(bad)


def test_a_bool_is_not_a_key_value() -> None:
    with pytest.raises(TypeError):
        key_literal(True)


def test_entity_id_reads_the_guid_of_an_odata_entity_id_header() -> None:
    assert entity_id(f"https://org.crm.dynamics.com/api/data/v9.2/tasks({GUID})") == GUID
    assert entity_id("https://x/api/data/v9.2/contacts(syncsvc_externalid='1')") is None
    assert entity_id(None) is None


# A response in the shape the Dataverse docs show for a batch sent with continue-on-error:
# LF line ends, a failed request first, then two 204s with OData-EntityId.
DOCUMENTED_RESPONSE = f"""--batchresponse_f44bd09d
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: de4c5227
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{{"error":{{"code":"0x80044331","message":"A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'."}}}}
--batchresponse_f44bd09d
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: https://org/api/data/v9.2/tasks({GUID})
OData-EntityId: https://org/api/data/v9.2/tasks({GUID})


--batchresponse_f44bd09d
Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff

--changesetresponse_64cc3fff
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0


--changesetresponse_64cc3fff--
--batchresponse_f44bd09d--
"""


def test_a_documented_batch_response_is_read_part_by_part() -> None:
    parts = multipart.read("multipart/mixed; boundary=batchresponse_f44bd09d", DOCUMENTED_RESPONSE)
    assert [type(p) for p in parts] == [HttpMessage, HttpMessage, ChangeSet]
    failed, created = parts[0], parts[1]
    assert isinstance(failed, HttpMessage) and isinstance(created, HttpMessage)
    assert failed.status == 400 and "'subject' attribute" in failed.body
    assert failed.headers["content-type"].startswith("application/json")
    assert created.status == 204 and entity_id(created.headers["odata-entityid"]) == GUID
    assert [m.content_id for m in multipart.flatten(parts)] == [None, None, "1"]


def test_written_batches_read_back_the_same_with_crlf_line_ends() -> None:
    body = '{"lastname":"x\\ny","n":1}'
    sent: list[multipart.Part] = [
        multipart.request("PATCH", "/api/data/v9.2/contacts(k='1')", body, {"If-Match": "*"}, "7"),
        ChangeSet([multipart.request("DELETE", "contacts(k='2')", content_id="8")]),
    ]
    content_type, text = multipart.write(sent)
    assert "\r\n" in text and text.rstrip().endswith("--")
    assert multipart.boundary_of(content_type) is not None
    got = multipart.read(content_type, text)
    first, second = got
    assert isinstance(first, HttpMessage) and isinstance(second, ChangeSet)
    assert (first.method, first.url, first.body, first.content_id) == (
        "PATCH", "/api/data/v9.2/contacts(k='1')", body, "7",
    )  # fmt: skip
    assert first.headers == {"if-match": "*"}
    assert (second.messages[0].method, second.messages[0].content_id) == ("DELETE", "8")


def test_response_parts_get_their_reason_phrase() -> None:
    _, text = multipart.write([multipart.response(412)], "batchresponse")
    assert "HTTP/1.1 412 Precondition Failed" in text


def test_a_body_that_is_not_multipart_is_refused() -> None:
    with pytest.raises(ValueError):
        multipart.read("application/json", "{}")
    with pytest.raises(ValueError):
        multipart.read(
            "multipart/mixed; boundary=b", "--b\r\nContent-Type: application/http\r\n\r\n"
        )
