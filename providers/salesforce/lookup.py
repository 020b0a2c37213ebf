"""Finding record ids by our key: ``SELECT Id, Key FROM Obj WHERE Key IN ('1','2')`` (SOQL)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import requests

from providers.salesforce.responses import body_of, raise_for_call
from syncsvc.errors import PermanentError, RetryableError

Get = Callable[[str], requests.Response]
"""``GET path`` (query string included) through the authenticated transport."""

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
MAX_VALUES = 200
MAX_IN_CHARS = 3_500
"""Keep the ``IN (...)`` list well inside SOQL's WHERE-clause and URL length limits."""
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def soql_string(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped, so a value cannot end it early."""
    return "'" + "".join(_ESCAPES.get(c, c) for c in value) + "'"


def identifier(name: str) -> str:
    """``name`` when it is an API name; anything else would change the URL or query."""
    if not IDENTIFIER.match(name):
        message = f"salesforce: {name!r} is not an object or field API name"
        raise PermanentError(message, field=name, code="INVALID_NAME")
    return name


def key_query(object_name: str, field: str, values: Sequence[str], also: Sequence[str] = ()) -> str:
    """``SELECT Id, field[, also…] FROM object WHERE field IN (values)``."""
    obj, key = identifier(object_name), identifier(field)
    selected = ", ".join(dict.fromkeys(["Id", key, *(identifier(f) for f in also)]))
    listed = ",".join(soql_string(v) for v in values)
    # names are checked identifiers, values escaped literals: nothing can leave its place
    return f"SELECT {selected} FROM {obj} WHERE {key} IN ({listed})"  # noqa: S608


def value_chunks(values: Sequence[str]) -> list[list[str]]:
    """Distinct values in groups short enough for one query each."""
    chunks: list[list[str]] = []
    size = 0
    for value in dict.fromkeys(values):
        cost = len(soql_string(value)) + 1
        if not chunks or len(chunks[-1]) >= MAX_VALUES or size + cost > MAX_IN_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(value)
        size += cost
    return chunks


class KeyLookup:
    def __init__(self, get: Get, api: str, short_wait: float) -> None:
        self.get = get
        self.api = api
        self.short_wait = short_wait

    def ids(self, object_name: str, field: str, values: Sequence[str]) -> dict[str, list[str]]:
        """Record ids per key value (absent values left out). Text comparison in SOQL ignores
        case, so the answer is matched back exactly first, then case-insensitively."""
        found: dict[str, list[str]] = {}
        for group in value_chunks(values):
            query = key_query(object_name, field, group)
            path = f"{self.api}/query?q={quote(query, safe='')}"
            exact = {v: v for v in group}
            folded = {v.casefold(): v for v in group}
            for key, record_id in self._rows(path, field):
                wanted = exact.get(key) or folded.get(key.casefold())
                if wanted is not None:
                    found.setdefault(wanted, []).append(record_id)
        return found

    def records(
        self, object_name: str, field: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The records whose ``field`` holds one of ``values`` (the first one per value), with
        ``fields``, by value; matched back as ``ids`` does."""
        found: dict[str, dict[str, Any]] = {}
        for group in value_chunks(values):
            query = key_query(object_name, field, group, fields)
            path = f"{self.api}/query?q={quote(query, safe='')}"
            exact = {v: v for v in group}
            folded = {v.casefold(): v for v in group}
            for record in self.query_records(path):
                key = record.get(field)
                if key is None:
                    continue
                wanted = exact.get(str(key)) or folded.get(str(key).casefold())
                if wanted is not None and wanted not in found:
                    found[wanted] = {name: record.get(name) for name in (field, *fields)}
        return found

    def _rows(self, path: str, field: str) -> list[tuple[str, str]]:
        """``(key value, Id)`` of every row of a query, following ``nextRecordsUrl`` pages."""
        return [
            (str(r[field]), str(r["Id"]))
            for r in self.query_records(path)
            if r.get("Id") and r.get(field) is not None
        ]

    def query_records(self, path: str) -> list[dict[str, Any]]:
        """Every record of a query, following ``nextRecordsUrl`` pages."""
        rows: list[dict[str, Any]] = []
        next_path: str | None = path
        while next_path:
            response = self.get(next_path)
            raise_for_call(response, self.short_wait)
            body = body_of(response)
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise RetryableError(f"salesforce: unexpected query answer from {next_path}")
            rows.extend(r for r in body["records"] if isinstance(r, dict))
            more = body.get("nextRecordsUrl")
            next_path = str(more) if more and not body.get("done", True) else None
        return rows
