from typing import Any

from providers.base import PushItem
from providers.hubspot.client import chunk_pairs
from providers.hubspot.responses import error_code, error_field
from providers.hubspot.results import match
from syncsvc.errors import PermanentError, RetryableError


def item(
    outbox_id: int,
    email: str | None = None,
    external_id: str | None = None,
    id_property: str = "email",
) -> PushItem:
    return PushItem(
        outbox_id=outbox_id,
        object="contacts",
        op="upsert",
        record_key=str(outbox_id),
        id_property=id_property if email else None,
        id_value=email,
        payload={},
        external_id=external_id,
        version=1,
    )


def entry(record_id: str, id_property: str = "email") -> dict[str, Any]:
    return {"id": record_id, "idProperty": id_property, "properties": {}}


def test_chunks_respect_the_size_and_never_repeat_a_record_id() -> None:
    pairs = [(item(i), entry(f"u{i % 3}@x.com")) for i in range(7)]
    chunks = chunk_pairs(pairs, size=5)
    for chunk in chunks:
        ids = [e["id"] for _, e in chunk]
        assert len(chunk) <= 5
        assert len(ids) == len(set(ids))
    assert sorted(i.outbox_id for chunk in chunks for i, _ in chunk) == list(range(7))


def test_chunks_fill_up_to_the_size_when_ids_are_distinct() -> None:
    pairs = [(item(i), entry(f"u{i}@x.com")) for i in range(250)]
    assert [len(c) for c in chunk_pairs(pairs, size=100)] == [100, 100, 50]


def test_results_match_by_trace_id_then_by_unique_value_case_insensitively() -> None:
    items = [item(1, "a@x.com"), item(2, "B@X.com")]
    body = {
        "results": [
            {"id": "11", "objectWriteTraceId": "1", "properties": {}, "new": True},
            {"id": "12", "properties": {"email": "b@x.com"}, "new": False},
        ]
    }
    results = {r.outbox_id: r for r in match("upsert", items, body)}
    assert (results[1].external_id, results[1].created) == ("11", True)
    assert (results[2].external_id, results[2].created) == ("12", False)


def test_a_conflict_error_fails_only_its_input_and_an_unmentioned_input_is_retried() -> None:
    items = [item(1, "a@x.com"), item(2, "b@x.com"), item(3, "c@x.com")]
    body = {
        "results": [{"id": "11", "objectWriteTraceId": "1", "properties": {}}],
        "errors": [
            {
                "status": "409",
                "category": "CONFLICT",
                "message": "Contact already exists. Existing ID: 5",
                "context": {"objectWriteTraceId": ["2"]},
            }
        ],
    }
    results = {r.outbox_id: r for r in match("upsert", items, body)}
    assert results[1].ok
    assert isinstance(results[2].error, PermanentError)
    assert results[2].error.code == "CONFLICT"
    assert type(results[3].error) is RetryableError


def test_not_found_errors_match_inputs_by_their_ids() -> None:
    items = [item(1, external_id="77"), item(2, external_id="78")]
    body = {
        "results": [{"id": "78", "properties": {}}],
        "errors": [{"status": "404", "category": "OBJECT_NOT_FOUND", "context": {"ids": ["77"]}}],
    }
    results = {r.outbox_id: r for r in match("update", items, body)}
    assert isinstance(results[1].error, PermanentError)
    assert results[1].error.code == "OBJECT_NOT_FOUND"
    assert results[2].ok and results[2].created is False


def test_field_and_code_come_from_errors_in_or_the_embedded_details() -> None:
    message = (
        'Property values were not valid: [{"isValid":false,"message":"Email address x is '
        'invalid","error":"INVALID_EMAIL","name":"email"}]'
    )
    bare = {"category": "VALIDATION_ERROR", "message": message}
    assert (error_field(bare), error_code(bare)) == ("email", "INVALID_EMAIL")
    detailed = {"errors": [{"message": "m", "in": "phone", "code": "INVALID_PHONE"}]}
    assert (error_field(detailed), error_code(detailed)) == ("phone", "INVALID_PHONE")
    assert error_field({"message": "no details"}) is None


def result(record_id: str, new: bool = False, **properties: str) -> dict[str, Any]:
    return {"id": record_id, "properties": properties, "new": new}


def test_upsert_results_without_trace_ids_match_by_the_key_sent_not_a_remembered_id() -> None:
    moved = item(1, "new@x.com", external_id="11")
    took_over = item(2, "old@x.com", external_id="12")
    body = {"results": [result("11", email="old@x.com"), result("13", True, email="new@x.com")]}
    results = {r.outbox_id: r for r in match("upsert", [moved, took_over], body)}
    assert (results[1].external_id, results[1].created) == ("13", True)
    assert (results[2].external_id, results[2].created) == ("11", False)


def test_update_by_id_matches_the_result_id_and_ignores_an_unrelated_property_value() -> None:
    by_id, by_value = item(1, "a@x.com", external_id="21"), item(2, "b@x.com")
    body = {"results": [result("22", email="b@x.com"), result("21", email="zzz@x.com")]}
    results = {r.outbox_id: r for r in match("update", [by_id, by_value], body)}
    assert results[1].external_id == "21" and results[2].external_id == "22"


def test_results_are_never_matched_by_position() -> None:
    items = [item(1, "a@x.com"), item(2, "b@x.com")]
    body = {"results": [result("31"), result("32")]}
    assert all(type(r.error) is RetryableError for r in match("upsert", items, body))


def test_two_different_answers_for_one_input_deliver_neither() -> None:
    body = {"results": [result("41", email="a@x.com"), result("42", email="A@x.com ")]}
    [only] = match("upsert", [item(1, "a@x.com")], body)
    assert type(only.error) is RetryableError
    assert "more than one outcome" in str(only.error)


def test_an_unmatched_create_is_dead_lettered_not_resent() -> None:
    keyed, unkeyed = item(1, "1", id_property="syncsvc_id"), item(2)
    body = {"results": [result("51", syncsvc_id="1"), result("52")]}
    results = {r.outbox_id: r for r in match("create", [keyed, unkeyed], body)}
    assert results[1].ok and results[1].external_id == "51"
    assert isinstance(results[2].error, PermanentError)
    assert results[2].error.code == "UNMATCHED_CREATE"


def test_an_error_without_trace_ids_matches_by_the_sent_ids_only() -> None:
    ids = ["a@x.com", "b@x.com"]
    error = {"status": "404", "category": "OBJECT_NOT_FOUND", "context": {"ids": ids}}
    by_value, by_id = item(1, "a@x.com"), item(2, "b@x.com", external_id="77")
    results = {r.outbox_id: r for r in match("update", [by_value, by_id], {"errors": [error]})}
    assert isinstance(results[1].error, PermanentError)
    assert type(results[2].error) is RetryableError
