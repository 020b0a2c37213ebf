"""HubSpot CRM v3 client: batch writes of up to 100 inputs, per-input results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import requests

from providers.answers import body_of
from providers.archive import delete_targets
from providers.base import (
    OPS,
    ChangedPage,
    CrmRecord,
    DeletedPage,
    LinkItem,
    LinkResult,
    ProviderClient,
    PushItem,
    PushResult,
    UnlinkItem,
)
from providers.batching import chunks, in_halves, in_parts, partition, unique_chunks
from providers.hubspot import archived, links, reads
from providers.hubspot.auth import TokenSource
from providers.hubspot.defaults import MAX_BATCH
from providers.hubspot.fields import object_fields
from providers.hubspot.responses import category, describe, error_code, error_field, raise_for_call
from providers.hubspot.results import match
from providers.oauth import call_with_refresh, raise_if_refused
from syncsvc.errors import PermanentError
from syncsvc.fields.model import ObjectFields

Pair = tuple[PushItem, dict[str, Any]]
"""An item and the batch input built from it."""


def objects_path(object_name: str, *rest: str) -> str:
    return "/".join(("/crm/v3/objects", quote(object_name, safe=""), *rest))


def _input_key(pair: Pair) -> tuple[str, str] | None:
    entry = pair[1]
    if "id" not in entry:
        return None
    return (str(entry.get("idProperty") or "hs_object_id"), str(entry["id"]).strip().lower())


def chunk_pairs(pairs: Sequence[Pair], size: int) -> list[list[Pair]]:
    """Chunks of at most ``size``; one record id appears at most once per chunk."""
    return unique_chunks(pairs, size, _input_key)


class HubSpotClient(ProviderClient):
    INBOUND = True
    READ_BEFORE_PUSH = True
    DELETES_POLL = True

    def setup(self) -> None:
        self.batch_size = max(1, min(self.connection.batch_size, MAX_BATCH))
        self.auth = TokenSource(self.connection.credentials, self._post_form)

    # transport ---------------------------------------------------------------------------
    def _post_form(self, path: str, form: dict[str, str]) -> requests.Response:
        return self.send("POST", path, data=form)

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        """One authenticated call. Raises for 401/403/429/5xx; other answers are returned.

        An OAuth token the API calls expired is refreshed and the call repeated once.
        """
        send = partial(self._send_authed, method, path, body)
        response = call_with_refresh(self.auth, send, _expired, describe)
        raise_if_refused(response, describe)
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            raise_for_call(response)
        return response

    def _send_authed(self, method: str, path: str, body: Any, token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is None:
            return self.send(method, path, headers=headers)
        return self.send(method, path, headers=headers, json=body)

    # push --------------------------------------------------------------------------------
    def push(self, object_name: str, op: str, items: Sequence[PushItem]) -> list[PushResult]:
        if op not in OPS:
            raise PermanentError(f"hubspot: unknown op {op!r}", code="UNKNOWN_OP")
        if op == "archive":
            return self._archive(object_name, items)
        pairs, refused = partition(_batch_input(op, item) for item in items)
        path = objects_path(object_name, "batch", op)
        return refused + in_parts(
            chunk_pairs(pairs, self.batch_size),
            partial(self._write, path, op),
            lambda chunk: [p[0] for p in chunk],
        )

    def _write(self, path: str, op: str, pairs: list[Pair]) -> list[PushResult]:
        response = self.call("POST", path, {"inputs": [entry for _, entry in pairs]})
        body = body_of(response)
        if response.status_code < 300:
            return match(op, [item for item, _ in pairs], body)
        if response.status_code == 400 and category(body) == "VALIDATION_ERROR":
            return self._split(path, op, pairs, response, body)
        if response.status_code == 409:
            return self._split_conflict(path, op, pairs, response, body)
        raise_for_call(response)
        return []  # unreachable: raise_for_call raised for this 4xx

    def _split_conflict(
        self,
        path: str,
        op: str,
        pairs: list[Pair],
        response: requests.Response,
        body: dict[str, Any],
    ) -> list[PushResult]:
        """HubSpot refused the whole batch for one input's unique value and named only the
        record that holds it, not the input: halve until the input at fault is alone (nothing
        of a refused call was written, so resending the halves duplicates nothing)."""
        if len(pairs) == 1:
            error = PermanentError(
                describe(response, body), field=error_field(body), code="CONFLICT"
            )
            return [PushResult(pairs[0][0].outbox_id, error=error)]
        return in_halves(pairs, partial(self._write, path, op), lambda p: p[0])

    def _split(
        self,
        path: str,
        op: str,
        pairs: list[Pair],
        response: requests.Response,
        body: dict[str, Any],
    ) -> list[PushResult]:
        """A whole batch was refused for bad values: isolate the bad inputs, send the rest."""
        field, code = error_field(body), error_code(body)
        if len(pairs) == 1:
            error = PermanentError(describe(response, body), field=field, code=code)
            return [PushResult(pairs[0][0].outbox_id, error=error)]
        if code == "PROPERTY_DOESNT_EXIST" and field:
            hit = [
                p for p in pairs if field in p[1]["properties"] or p[1].get("idProperty") == field
            ]
            if hit:
                error = PermanentError(describe(response, body), field=field, code=code)
                hit_ids = {item.outbox_id for item, _ in hit}
                rest = [p for p in pairs if p[0].outbox_id not in hit_ids]
                failed = [PushResult(item.outbox_id, error=error) for item, _ in hit]
                return failed + (self._write(path, op, rest) if rest else [])
        return in_halves(pairs, partial(self._write, path, op), lambda p: p[0])

    # archive -----------------------------------------------------------------------------
    def _archive(self, object_name: str, items: Sequence[PushItem]) -> list[PushResult]:
        targets, nothing_to_do = delete_targets(items, partial(self._resolve, object_name))
        path = objects_path(object_name, "batch", "archive")

        def send(chunk: list[tuple[PushItem, str]]) -> list[PushResult]:
            ids = list(dict.fromkeys(hubspot_id for _, hubspot_id in chunk))
            raise_for_call(self.call("POST", path, {"inputs": [{"id": i} for i in ids]}))
            return [PushResult(item.outbox_id, external_id=hid) for item, hid in chunk]

        parts = chunks(targets, self.batch_size)
        return nothing_to_do + in_parts(parts, send, lambda c: [item for item, _ in c])

    def _resolve(self, object_name: str, items: Sequence[PushItem]) -> dict[int, str]:
        """HubSpot ids of records known only by a unique property value (absent ones left out)."""
        by_property: dict[str, list[PushItem]] = {}
        for item in items:
            by_property.setdefault(str(item.id_property), []).append(item)
        found: dict[int, str] = {}
        path = objects_path(object_name, "batch", "read")
        for prop, group in by_property.items():
            for chunk in chunks(group, self.batch_size):
                values = list(dict.fromkeys(str(item.id_value) for item in chunk))
                response = self.call(
                    "POST",
                    path,
                    {
                        "idProperty": prop,
                        "inputs": [{"id": v} for v in values],
                        "properties": [prop],
                        "propertiesWithHistory": [],
                    },
                )
                raise_for_call(response)
                ids = {
                    str((r.get("properties") or {}).get(prop, "")).strip().lower(): str(r["id"])
                    for r in body_of(response).get("results") or []
                    if isinstance(r, dict) and r.get("id") is not None
                }
                for item in chunk:
                    hubspot_id = ids.get(str(item.id_value).strip().lower())
                    if hubspot_id is not None:
                        found[item.outbox_id] = hubspot_id
        return found

    # associations ------------------------------------------------------------------------
    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        return links.type_problem(link_type)

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        return links.link(self.call, child_object, parent_object, link_type, items, self.batch_size)

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        return links.unlink(self.call, child_object, parent_object, items, self.batch_size)

    # inbound -----------------------------------------------------------------------------
    def parent_ids(
        self,
        child_object: str,
        parent_object: str,
        link_type: str,
        records: Mapping[str, CrmRecord],
    ) -> dict[str, str | None]:
        return links.parent_ids(self.call, child_object, parent_object, link_type, records)

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        return reads.read_records(
            self.call, objects_path(object_name, "batch", "read"), ids, fields
        )

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        path = objects_path(object_name, "search")
        return reads.changed_since(self.call, path, since, fields, after)

    def deleted_since(self, object_name: str, since: datetime, after: str | None) -> DeletedPage:
        """``GET /crm/v3/objects/{type}?archived=true``: the whole recycle bin, 100 a page, in
        no order by ``archivedAt`` (``since`` is the poller's to apply)."""
        return archived.archived_page(self.call, objects_path(object_name), after)

    # read --------------------------------------------------------------------------------
    def read_by_key(
        self, object_name: str, id_property: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """``POST /crm/v3/objects/{type}/batch/read`` by ``idProperty``, 100 values a call;
        HubSpot compares unique values without case, and so does the answer's matching."""
        wanted = list(dict.fromkeys(str(v) for v in values))
        properties = list(dict.fromkeys([id_property, *fields]))
        path = objects_path(object_name, "batch", "read")
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(wanted, self.batch_size):
            by_folded = {v.strip().lower(): v for v in chunk}
            body = {
                "idProperty": id_property,
                "inputs": [{"id": v} for v in chunk],
                "properties": properties,
                "propertiesWithHistory": [],
            }
            response = self.call("POST", path, body)
            raise_for_call(response)
            for record in body_of(response).get("results") or []:
                held = record.get("properties") if isinstance(record, dict) else None
                if not isinstance(held, dict):
                    continue
                value = by_folded.get(str(held.get(id_property, "")).strip().lower())
                if value is not None:
                    found[value] = {name: held.get(name) for name in properties}
        return found

    # fields ------------------------------------------------------------------------------
    def describe_fields(self, object_name: str) -> ObjectFields:
        """The object's properties from ``GET /crm/v3/properties/{objectType}`` (one answer
        holds them all; archived properties are not asked for)."""
        response = self.call("GET", "/crm/v3/properties/" + quote(object_name, safe=""))
        raise_for_call(response)
        body = body_of(response)
        results = body.get("results")
        if not isinstance(results, list):
            raise PermanentError(
                f"hubspot: no property list for {object_name}: {describe(response, body)}",
                code="BAD_PROPERTIES",
            )
        return object_fields(object_name, results)


def _expired(response: requests.Response) -> bool:
    return response.status_code == 401 and category(body_of(response)) == "EXPIRED_AUTHENTICATION"


def _batch_input(op: str, item: PushItem) -> Pair | PushResult:
    """``item`` with its batch input, or a failed result when it cannot be sent."""
    properties = item.payload
    if not isinstance(properties, dict):
        error = PermanentError("hubspot: payload is not a property map", code="BAD_PAYLOAD")
        return PushResult(item.outbox_id, error=error)
    entry: dict[str, Any] = {"properties": properties, "objectWriteTraceId": str(item.outbox_id)}
    if op == "create":
        entry["associations"] = []
        return item, entry
    if op == "update" and item.external_id:
        entry["id"] = str(item.external_id)
        return item, entry
    if item.id_property and item.id_value not in (None, ""):
        entry["id"] = str(item.id_value)
        entry["idProperty"] = item.id_property
        return item, entry
    error = PermanentError(
        f"hubspot: {op} needs a value for the unique property {item.id_property!r}",
        field=item.id_property,
        code="MISSING_ID",
    )
    return PushResult(item.outbox_id, error=error)
