"""An account's fields, and turning a flat payload into a Pipedrive API v2 request body.

The payload (``Transformer.shape``'s output, stored in the outbox) is flat: standard fields by
their v2 names, custom fields by their NAME (or 40-character key). Shaping into Pipedrive's
structures happens here, when a request is built: ``emails``/``phones`` strings become
``[{"value", "primary", "label"}]``, an ``address`` string becomes ``{"value"}``, and custom
fields move into ``custom_fields`` under their per-account hash keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.pipedrive.defaults import CUSTOM_KEY_RE, STANDARD_FIELDS
from syncsvc.errors import PermanentError

CONTACT_LISTS = frozenset({"emails", "phones"})
RECHECK_SECONDS = 30.0
"""A name no custom field has refetches the field list, at most this often (fields change)."""
PAGE = 500
ADDRESS_TYPES = frozenset({"address"})


@dataclass(frozen=True)
class ObjectFields:
    """The fields one object has in one account (from ``GET /v1/{object}Fields``)."""

    object_name: str
    custom_names: Mapping[str, str] = field(default_factory=dict)
    """Custom field key → name."""
    custom_types: Mapping[str, str] = field(default_factory=dict)
    fetched_at: float = 0.0

    @property
    def standard(self) -> frozenset[str]:
        return STANDARD_FIELDS.get(self.object_name, frozenset())

    def names(self) -> set[str]:
        """Every name a mapping target may use: the writable v2 standard keys, custom field
        names and custom field keys."""
        return {*self.standard, *self.custom_names.values(), *self.custom_names}

    def custom_key(self, target: str) -> str | None:
        """The key of the custom field ``target`` names: exact name first, then ignoring case."""
        if target in self.custom_names:
            return target
        exact = [k for k, name in self.custom_names.items() if name == target]
        folded = exact or [
            k for k, name in self.custom_names.items() if name.casefold() == target.casefold()
        ]
        if len(folded) > 1:
            raise PermanentError(
                f"pipedrive: {self.object_name} has {len(folded)} custom fields named "
                f"{target!r}; map the 40-character key instead",
                field=target,
                code="AMBIGUOUS_FIELD",
            )
        return folded[0] if folded else None

    def target_of(self, path: str | None) -> str | None:
        """The mapping target an error path is about (``custom_fields.<key>`` → its name)."""
        if not path:
            return None
        head, _, rest = path.partition(".")
        if head == "custom_fields" and rest:
            key = rest.split(".")[0].split("[")[0]
            return self.custom_names.get(key, key)
        return head.split("[")[0]


def parse_fields(object_name: str, raw: list[dict[str, Any]], fetched_at: float) -> ObjectFields:
    """Custom fields are the ones with a 40-character hash key; the standard ones are known."""
    custom: dict[str, str] = {}
    types: dict[str, str] = {}
    for entry in raw:
        key = str(entry.get("key") or "")
        if CUSTOM_KEY_RE.match(key):
            custom[key] = str(entry.get("name") or key)
            types[key] = str(entry.get("field_type") or "varchar")
    return ObjectFields(object_name, custom, types, fetched_at)


Get = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Calls ``GET path?params`` and returns the answer's JSON body (raising for failures)."""


def fetch_all(get: Get, path: str) -> list[dict[str, Any]]:
    """Every entry of a v1 field list, page by page (``start``/``limit``)."""
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        body = get(path, {"start": start, "limit": PAGE})
        out.extend(f for f in body.get("data") or [] if isinstance(f, dict))
        pagination = (body.get("additional_data") or {}).get("pagination") or {}
        if not pagination.get("more_items_in_collection"):
            return out
        start = int(pagination.get("next_start") or start + PAGE)


class FieldCatalog:
    """Field lists per object, fetched once per client and refetched on demand (thread-safe)."""

    def __init__(
        self,
        fetch: Callable[[str], list[dict[str, Any]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, ObjectFields] = {}

    def get(self, object_name: str, fresher_than: float | None = None) -> ObjectFields:
        """The cached fields, fetched when missing or (with ``fresher_than``) older than that."""
        with self._lock:
            cached = self._cache.get(object_name)
            now = self._clock()
            if cached is not None and (
                fresher_than is None or now - cached.fetched_at <= fresher_than
            ):
                return cached
            fields = parse_fields(object_name, self._fetch(object_name), now)
            self._cache[object_name] = fields
            return fields


def _contact_list(value: Any) -> list[Any]:
    """``"a@x.com"`` → ``[{"value": "a@x.com", "primary": true, "label": "work"}]``."""
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if item is None or item == "":
            continue
        if isinstance(item, dict):
            out.append(item)
        else:
            out.append({"value": str(item), "primary": not out, "label": "work"})
    return out


def _standard_value(target: str, value: Any) -> Any:
    if target in CONTACT_LISTS:
        return _contact_list(value)
    if target == "address":
        return _address(value)
    return value


def _address(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value if isinstance(value, dict) else {"value": str(value)}


def _custom_value(field_type: str, value: Any) -> Any:
    if field_type in ADDRESS_TYPES:
        return _address(value)
    if field_type == "monetary" and isinstance(value, int | float) and not isinstance(value, bool):
        return {"value": value}
    return value


def build_body(fields: ObjectFields, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 request body for ``payload``; ``PermanentError`` names a field it cannot place."""
    body: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for target, value in payload.items():
        if target == "custom_fields" and isinstance(value, dict):
            custom.update(value)
        elif target in fields.standard:
            body[target] = _standard_value(target, value)
        else:
            key = fields.custom_key(target)
            if key is None:
                raise PermanentError(
                    f"pipedrive: {fields.object_name} has no field {target!r} (neither a "
                    "standard field nor a custom field of that name)",
                    field=target,
                    code="UNKNOWN_FIELD",
                )
            custom[key] = _custom_value(fields.custom_types.get(key, "varchar"), value)
    if custom:
        body["custom_fields"] = custom
    return body
