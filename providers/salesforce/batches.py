"""sObject Collections writes: chunking, exact request bodies, per-record results, and isolating
the record that made Salesforce refuse a whole request (``400``) so the others still land."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from providers.base import PushItem, PushResult
from providers.batching import in_halves, in_parts, unique_chunks
from providers.salesforce.responses import (
    body_of,
    describe,
    error_code,
    error_message,
    field_of,
    parser_column,
    raise_for_call,
    record_error,
    top_errors,
    unknown_column,
)
from syncsvc.errors import PermanentError, RetryableError, SyncError

Send = Callable[[str, str, bytes], requests.Response]
"""``(method, path, body) -> response`` through the authenticated transport."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


@dataclass
class Entry:
    """One item as one collection record, already serialised."""

    item: PushItem
    record: dict[str, Any]
    key: str | None
    """A value that may appear only once per request (upsert key, unique key or record id)."""
    text: str = ""

    def encode(self) -> None:
        """Serialise ``record``; raises ValueError/TypeError for values JSON cannot carry."""
        self.text = _dumps(self.record)

    def field_at(self, offset: int) -> str | None:
        """The field whose text holds ``offset`` (relative to this record): the serialisation
        is rebuilt field by field, which gives the same text as ``encode``."""
        found, start = None, 1
        for name, value in self.record.items():
            if start > offset:
                break
            found = name
            start += len(_dumps(name)) + 1 + len(_dumps(value)) + 1
        return found


def entry(item: PushItem, record: dict[str, Any], key: str | None) -> Entry | PushResult:
    """An encoded entry, or the failed result of an item whose values cannot be sent."""
    candidate = Entry(item, record, key)
    try:
        candidate.encode()
    except (TypeError, ValueError) as exc:
        error = PermanentError(
            f"salesforce: payload cannot be sent as JSON: {exc}", code="BAD_PAYLOAD"
        )
        return PushResult(item.outbox_id, error=error)
    return candidate


def chunk(entries: Sequence[Entry], size: int) -> list[list[Entry]]:
    """Chunks of at most ``size``; a key at most once per chunk (Salesforce fails every record
    that shares an external id within one request)."""
    return unique_chunks(entries, size, lambda one: one.key)


def _items(entries: Iterable[Entry]) -> list[PushItem]:
    return [e.item for e in entries]


class CollectionWriter:
    """One kind of collection write (create, update or upsert on one path)."""

    def __init__(self, send: Send, method: str, path: str, op: str, key_field: str | None) -> None:
        self.send = send
        self.method = method
        self.path = path
        self.op = op
        self.key_field = key_field

    def write(self, entries: Sequence[Entry], size: int) -> list[PushResult]:
        return in_parts(chunk(entries, size), self._write, _items)

    def _write(self, entries: list[Entry]) -> list[PushResult]:
        head = '{"allOrNone":false,"records":['
        body = head + ",".join(e.text for e in entries) + "]}"
        response = self.send(self.method, self.path, body.encode())
        answer = body_of(response)
        if response.status_code == 200 and isinstance(answer, list):
            return self._match(entries, answer)
        if response.status_code == 400 and top_errors(answer):
            return self._isolate(entries, response, answer, len(head))
        raise_for_call(response)
        raise RetryableError(f"salesforce: unexpected answer to {self.method} {self.path}")

    def _match(self, entries: list[Entry], answer: list[Any]) -> list[PushResult]:
        """Results come back in request order, one per record."""
        out: list[PushResult] = []
        for index, one in enumerate(entries):
            result = answer[index] if index < len(answer) else None
            if not isinstance(result, dict):
                message = f"salesforce: the {self.op} answer has no result for record {index}"
                out.append(PushResult(one.item.outbox_id, error=RetryableError(message)))
            elif result.get("success") is True and result.get("id"):
                created = result.get("created") if self.op == "upsert" else self.op == "create"
                out.append(
                    PushResult(one.item.outbox_id, external_id=str(result["id"]), created=created)
                )
            else:
                error = record_error(result.get("errors"), self.key_field)
                out.append(PushResult(one.item.outbox_id, error=error))
        return out

    def _isolate(
        self, entries: list[Entry], response: requests.Response, answer: Any, head: int
    ) -> list[PushResult]:
        """The whole request was refused for something in it: fail the records it names and
        send the rest again; with nothing named, split the request in halves."""
        code, message = error_code(answer), error_message(answer)
        bad: list[tuple[Entry, str | None]] = []
        column = unknown_column(message) if code == "INVALID_FIELD" else None
        if column is not None:
            bad = [(e, column) for e in entries if column in e.record]
        elif code == "JSON_PARSER_ERROR":
            position = parser_column(message)
            if position is not None:
                bad = self._at(entries, position - 1, head)
        if not bad and len(entries) == 1:
            if code == "EXCEEDED_ID_LIMIT":  # not a record's fault: the whole call failed
                raise_for_call(response)
            errors = top_errors(answer)
            bad = [(entries[0], field_of(errors[0]) if errors else None)]
        if not bad:
            return in_halves(entries, self._write, lambda one: one.item)
        failed = [
            PushResult(e.item.outbox_id, error=PermanentError(describe(response, answer), f, code))
            for e, f in bad
        ]
        named = {id(e) for e, _ in bad}
        rest = [e for e in entries if id(e) not in named]
        try:
            again = self._write(rest) if rest else []
        except SyncError as exc:  # keep the failures already known
            again = [PushResult(e.item.outbox_id, error=exc) for e in rest]
        return failed + again

    @staticmethod
    def _at(entries: list[Entry], offset: int, head: int) -> list[tuple[Entry, str | None]]:
        """The record (and field) at ``offset`` of the body ``_write`` sent."""
        start = head
        for one in entries:
            end = start + len(one.text)
            if start <= offset < end:
                return [(one, one.field_at(offset - start))]
            start = end + 1
        return []
