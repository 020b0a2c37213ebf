"""Finding a record by our key: the search burst window and reading search answers."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from providers.answers import body_of
from providers.pipedrive.defaults import SEARCH_FIELDS
from providers.pipedrive.fields import RECHECK_SECONDS, FieldCatalog
from providers.pipedrive.responses import describe, raise_for_call
from syncsvc.errors import PermanentError, RateLimited

SEARCH_PAGE = 100


class SearchWindow:
    """Pipedrive allows 10 searches per 2 s per token, whatever the plan: a search that would
    exceed that is not sent but raised as ``RateLimited`` (thread-safe, this process only)."""

    def __init__(
        self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = max(1, limit)
        self.seconds = seconds
        self._clock = clock
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            while self._hits and self._hits[0] <= now - self.seconds:
                self._hits.popleft()
            if len(self._hits) < self.limit:
                self._hits.append(now)
                return
            wait = max(0.05, self._hits[0] + self.seconds - now)
        raise RateLimited(
            f"pipedrive: own search limit {self.limit}/{self.seconds:g}s is full", retry_after=wait
        )


def search_hits(body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The ``item`` of every search result, lowest id first (the oldest record wins)."""
    data = body.get("data") or {}
    items = data.get("items") if isinstance(data, dict) else None
    hits = [
        entry["item"]
        for entry in items or []
        if isinstance(entry, dict)
        and isinstance(entry.get("item"), dict)
        and entry["item"].get("id") is not None
    ]
    yield from sorted(hits, key=lambda hit: int(hit["id"]))


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def confirmed(record: Mapping[str, Any], field: str, key: str) -> bool:
    """Whether ``record[field]`` really holds ``key`` (search matches any searched field, and
    ``exact_match`` ignores case): custom fields compare exactly, names and emails by case."""
    if field in ("emails", "phones"):
        values = record.get(field) or []
        texts = [_text(v) for v in (values if isinstance(values, list) else [values])]
        return key.casefold() in {t.casefold() for t in texts}
    value = _text(record.get(field))
    if field in ("name", "title", "address"):
        return value.casefold() == key.strip().casefold()
    return value == key.strip()


Call = Callable[..., requests.Response]


class Finder:
    """Looks a record up by the value of its key field (our record key)."""

    def __init__(self, call: Call, catalog: FieldCatalog, window: SearchWindow) -> None:
        self.call = call
        self.catalog = catalog
        self.window = window

    def _custom_key(self, object_name: str, key_field: str) -> str:
        fields = self.catalog.get(object_name)
        key = fields.custom_key(key_field)
        if key is None:
            key = self.catalog.get(object_name, fresher_than=RECHECK_SECONDS).custom_key(key_field)
        if key is None:
            raise PermanentError(
                f"pipedrive: {object_name} has no custom field {key_field!r} to hold our record "
                "key; create it (type text) or set the rule's id_property",
                field=key_field,
                code="UNKNOWN_KEY_FIELD",
            )
        return key

    def find(self, object_name: str, key_field: str, key: str) -> str | None:
        """The id of the (oldest) record whose ``key_field`` holds ``key``, or ``None``.

        Search matches any searched field and ignores case, so every hit is confirmed: from the
        search item for standard fields, by reading the custom field back (1 token) otherwise.
        """
        search_field = SEARCH_FIELDS[object_name].get(key_field)
        custom_key = None if search_field else self._custom_key(object_name, key_field)
        self.window.acquire()
        response = self.call(
            "GET",
            object_path(object_name, "search"),
            params={
                "term": key,
                "fields": search_field or "custom_fields",
                "exact_match": "true",
                "limit": SEARCH_PAGE,
            },
        )
        if response.status_code in (400, 404, 422):  # this key cannot be searched for
            body = body_of(response)
            raise PermanentError(describe(response, body), field=key_field, code="SEARCH_REFUSED")
        raise_for_call(response)
        for hit in search_hits(body_of(response)):
            if custom_key is None:
                if confirmed(hit, key_field, key):
                    return str(hit["id"])
                continue
            path = object_path(object_name, str(hit["id"]))
            record = self.call("GET", path, params={"custom_fields": custom_key})
            if record.status_code == 404:
                continue
            raise_for_call(record)
            data = body_of(record).get("data") or {}
            if confirmed(data.get("custom_fields") or {}, custom_key, key):
                return str(hit["id"])
        return None


def object_path(object_name: str, *rest: str) -> str:
    return "/".join(("/api/v2", quote(object_name, safe=""), *(quote(r, safe="") for r in rest)))
