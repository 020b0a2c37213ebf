"""Reading Salesforce answers, SOQL quoting, request bodies and token handling (no HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from providers.base import PushItem
from providers.salesforce.auth import TokenSource
from providers.salesforce.batches import CollectionWriter, Entry, chunk, entry
from providers.salesforce.lookup import identifier, key_query, soql_string, value_chunks
from providers.salesforce.responses import limit_info, raise_for_call, record_error
from providers.salesforce.sim.query import parse
from providers.salesforce.sim.store import SUFFIX, id18
from syncsvc.errors import (
    ConfigError,
    CredentialsRefused,
    PermanentError,
    RateLimited,
    RetryableError,
)


def answer(status: int, body: Any, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers)
    return response


def item(n: int, **payload: Any) -> PushItem:
    return PushItem(n, "Contact", "upsert", str(n), "Syncsvc_Id__c", str(n), payload, None, 1)


def test_a_required_field_error_is_permanent_and_names_the_field() -> None:
    error = record_error(
        [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ]
    )
    assert isinstance(error, PermanentError)
    assert (error.field, error.code) == ("LastName", "REQUIRED_FIELD_MISSING")


def test_a_locked_row_is_retryable() -> None:
    error = record_error(
        [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain", "fields": []}]
    )
    assert isinstance(error, RetryableError)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Duplicate external id specified: 7", "Syncsvc_Id__c"),
        ("duplicate value found: Tax_Id__c duplicates value on record with id: 0035g", "Tax_Id__c"),
    ],
)
def test_duplicate_errors_name_the_field(message: str, field: str) -> None:
    error = record_error(
        [{"statusCode": "DUPLICATE_VALUE", "message": message, "fields": []}], "Syncsvc_Id__c"
    )
    assert isinstance(error, PermanentError) and error.field == field


def test_limit_info_is_read_from_the_header() -> None:
    response = answer(
        200, [], **{"Sforce-Limit-Info": "api-usage=18/5000; per-app-api-usage=1/250(appName=x)"}
    )
    assert limit_info(response) == (18, 5000)
    assert limit_info(answer(200, [])) is None


def test_request_limit_exceeded_is_short_for_concurrency_and_daily_for_the_total() -> None:
    short = answer(
        403,
        [
            {
                "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ],
    )
    with pytest.raises(RateLimited) as caught:
        raise_for_call(short, short_wait=2.0)
    assert (caught.value.daily, caught.value.retry_after) == (False, 2.0)
    daily = answer(
        403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    )
    with pytest.raises(RateLimited) as caught:
        raise_for_call(daily)
    assert caught.value.daily is True and (caught.value.retry_after or 0) >= 3600


def test_a_300_is_a_permanent_multiple_match() -> None:
    with pytest.raises(PermanentError) as caught:
        raise_for_call(answer(300, ["/services/data/v62.0/sobjects/Contact/003A", "/x/003B"]))
    assert caught.value.code == "MULTIPLE_CHOICES"


def test_soql_strings_cannot_end_early() -> None:
    assert soql_string("O'Brien") == r"'O\'Brien'"
    assert soql_string("a\\' OR Id != '") == r"'a\\\' OR Id != \''"
    assert soql_string("line\nbreak") == r"'line\nbreak'"


def test_the_sim_parser_reads_back_what_the_client_quotes() -> None:
    tricky = ["O'Brien", "back\\slash", "x') OR (Name = 'y", "new\nline"]
    parsed = parse(key_query("Contact", "Syncsvc_Id__c", tricky))
    where = parsed.where
    assert where is not None and where.kind == "in" and where.parts == []
    assert (where.column, where.values) == ("Syncsvc_Id__c", tricky)
    assert parsed.fields == ["Id", "Syncsvc_Id__c"] and parsed.object == "Contact"


def test_identifiers_are_checked() -> None:
    assert identifier("Syncsvc_Id__c") == "Syncsvc_Id__c"
    for bad in ("Id FROM Contact--", "a b", "", "1abc", "x/../y"):
        with pytest.raises(PermanentError):
            identifier(bad)


def test_values_are_grouped_by_count_and_length() -> None:
    groups = value_chunks([str(n) for n in range(450)] + ["0"])
    assert [len(g) for g in groups] == [200, 200, 50]
    long_values = ["x" * 1000 for _ in range(3)] + ["y" * 1000]
    assert all(sum(len(v) for v in g) <= 3500 for g in value_chunks(long_values))


def test_chunks_never_hold_one_key_twice() -> None:
    entries = [Entry(item(n), {}, key) for n, key in enumerate(["a", "b", "a", "c", "a"])]
    chunks = chunk(entries, 3)
    assert [[e.key for e in c] for c in chunks] == [["a", "b", "c"], ["a"], ["a"]]


def test_an_entry_knows_which_field_a_column_points_at() -> None:
    made = entry(item(1), {"attributes": {"type": "Contact"}, "LastName": "L", "Email": "e"}, "1")
    assert isinstance(made, Entry)
    assert made.field_at(made.text.index('"Email"') + 9) == "Email"
    assert made.field_at(made.text.index('"LastName"')) == "LastName"


def test_a_value_json_cannot_carry_fails_that_item_only() -> None:
    made = entry(item(1), {"Amount": float("nan")}, "1")
    assert not isinstance(made, Entry)
    assert isinstance(made.error, PermanentError) and made.error.code == "BAD_PAYLOAD"


def test_case_safe_ids_differ_for_ids_that_differ_only_in_case() -> None:
    upper, lower = id18("0015g00000ABCDE"), id18("0015g00000abcde")
    assert upper[:15] == "0015g00000ABCDE" and all(c in SUFFIX for c in upper[15:])
    assert upper[15:] != lower[15:]


OAUTH_KEYS = {"client_id": "c", "client_secret": "s"}


class FakeTokenEndpoint:
    def __init__(self, *bodies: tuple[int, Any]) -> None:
        self.bodies = list(bodies)
        self.forms: list[dict[str, str]] = []

    def __call__(self, url: str, form: dict[str, str]) -> requests.Response:
        self.forms.append(form)
        status, body = self.bodies.pop(0)
        return answer(status, body)


def test_credentials_choose_the_grant() -> None:
    endpoint = FakeTokenEndpoint(
        (200, {"access_token": "a", "instance_url": "https://x.my.salesforce.com"})
    )
    source = TokenSource({"client_id": "c", "client_secret": "s"}, {}, endpoint)
    assert source.token() == "a"
    assert endpoint.forms[0]["grant_type"] == "client_credentials"
    assert source.instance_url == "https://x.my.salesforce.com"
    static = TokenSource({"access_token": "fixed"}, {}, endpoint)
    assert (static.token(), static.refreshable) == ("fixed", False)
    with pytest.raises(ConfigError):
        TokenSource({"client_id": "only"}, {}, endpoint)
    with pytest.raises(ConfigError):
        TokenSource({"access_token": "x"}, {"token_url": "${UNSET_URL_FOR_TEST}/token"}, endpoint)
    defaulted = {"token_url": "${UNSET_URL_FOR_TEST:-http://sim:1}/services/oauth2/token"}
    assert (
        TokenSource(OAUTH_KEYS, defaulted, endpoint).token_url
        == "http://sim:1/services/oauth2/token"
    )


def test_a_rotated_refresh_token_is_used_next_time() -> None:
    endpoint = FakeTokenEndpoint(
        (200, {"access_token": "a1", "refresh_token": "r2"}), (200, {"access_token": "a2"})
    )
    source = TokenSource(
        {"client_id": "c", "client_secret": "s", "refresh_token": "r1"}, {}, endpoint
    )
    assert source.token() == "a1"
    assert source.refresh(stale="a1") == "a2"
    assert [f["refresh_token"] for f in endpoint.forms] == ["r1", "r2"]


def test_a_refused_grant_is_credentials_refused_and_a_5xx_retryable() -> None:
    refused = FakeTokenEndpoint(
        (400, {"error": "invalid_grant", "error_description": "expired access/refresh token"})
    )
    with pytest.raises(CredentialsRefused) as caught:
        TokenSource(
            {"client_id": "c", "client_secret": "s", "refresh_token": "r"}, {}, refused
        ).token()
    assert caught.value.code == "invalid_grant"
    down = FakeTokenEndpoint((503, {}))
    with pytest.raises(RetryableError):
        TokenSource({"client_id": "c", "client_secret": "s"}, {}, down).token()


def test_a_throttled_or_unavailable_token_endpoint_is_not_a_refused_grant() -> None:
    limited = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with pytest.raises(RateLimited):
        TokenSource(OAUTH_KEYS, {}, FakeTokenEndpoint((403, limited))).token()
    with pytest.raises(RetryableError) as caught:
        TokenSource(OAUTH_KEYS, {}, FakeTokenEndpoint((502, {}))).token()
    assert not isinstance(caught.value, RateLimited)
    with pytest.raises(CredentialsRefused) as refused:
        TokenSource(OAUTH_KEYS, {}, FakeTokenEndpoint((403, {}))).token()
    assert refused.value.code == "HTTP_403"


def test_a_stated_session_timeout_refreshes_ahead_of_expiry() -> None:
    now = [0.0]
    endpoint = FakeTokenEndpoint((200, {"access_token": "a1"}), (200, {"access_token": "a2"}))
    source = TokenSource(
        {"client_id": "c", "client_secret": "s"}, {"session_timeout": 600}, endpoint, lambda: now[0]
    )
    assert source.token() == "a1"
    now[0] = 500.0
    assert source.token() == "a1"
    now[0] = 541.0
    assert source.token() == "a2"


def test_a_refusal_that_names_nothing_is_narrowed_down_by_halves() -> None:
    calls: list[int] = []

    def send(method: str, path: str, body: bytes) -> requests.Response:
        records = json.loads(body)["records"]
        calls.append(len(records))
        if any(r.get("Title") == "bad" for r in records):
            return answer(400, [{"message": "Something in the request", "errorCode": "MYSTERY"}])
        return answer(
            200,
            [{"id": f"003{n:015d}", "success": True, "errors": []} for n in range(len(records))],
        )

    writer = CollectionWriter(send, "POST", "/x", "create", "Syncsvc_Id__c")
    made = [entry(item(n), {"Title": "bad" if n == 5 else "ok"}, str(n)) for n in range(8)]
    results = writer.write([e for e in made if isinstance(e, Entry)], 200)
    failed = [r for r in results if not r.ok]
    assert [r.outbox_id for r in failed] == [5]
    assert isinstance(failed[0].error, PermanentError) and failed[0].error.code == "MYSTERY"
    assert sorted(r.outbox_id for r in results) == list(range(8))
    assert calls == [8, 4, 4, 2, 1, 1, 2]
