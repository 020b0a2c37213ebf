"""Salesforce REST client: sObject Collections writes of up to 200 records, per-record results.

``upsert`` goes through ``PATCH /composite/sobjects/{SObject}/{ExternalIdField}`` (never a blind
create), ``create``/``update`` through ``POST``/``PATCH /composite/sobjects``, ``archive``
through ``DELETE /composite/sobjects?ids=``. Records known only by our key are found with SOQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlparse

import requests

from providers.base import (
    OPS,
    ChangedPage,
    CrmRecord,
    LinkItem,
    LinkResult,
    ProviderClient,
    PushItem,
    PushResult,
    UnlinkItem,
)
from providers.batching import chunks, in_parts
from providers.oauth import call_with_refresh, raise_if_refused, unauthorized
from providers.salesforce import changes, links
from providers.salesforce.auth import TokenSource, grant_type_of, my_domain_url, token_url
from providers.salesforce.batches import CollectionWriter, Entry, entry
from providers.salesforce.defaults import API_VERSION, LOGIN_HOSTS, MAX_BATCH, api_path
from providers.salesforce.fields import object_fields
from providers.salesforce.lookup import KeyLookup, identifier
from providers.salesforce.responses import (
    GONE_CODES,
    SHORT_RETRY_AFTER,
    body_of,
    describe,
    error_code,
    limit_info,
    raise_for_call,
    record_error,
)
from syncsvc.errors import ConfigError, PermanentError, RetryableError, SyncError
from syncsvc.fields.model import ObjectFields


def _sobject(name: str) -> str:
    return quote(identifier(name), safe="")


class SalesforceClient(ProviderClient):
    INBOUND = True
    READ_BEFORE_PUSH = True
    OPTIONS = frozenset(
        {"api_version", "token_url", "my_domain", "session_timeout", "use_instance_url"}
    )

    @classmethod
    def check_connection(
        cls, base_url: str, options: Mapping[str, Any], credentials: Mapping[str, Any] | None
    ) -> None:
        """Also: the token endpoint the credentials' flow needs (client credentials: the org's
        My Domain, never login/test.salesforce.com)."""
        super().check_connection(base_url, options, credentials)
        my_domain_url(options)
        if credentials is not None:
            try:
                grant = grant_type_of(credentials)
            except ConfigError:
                return  # incomplete credentials are reported when the client is made
            token_url(grant, base_url, options)

    def setup(self) -> None:
        connection = self.connection
        options = connection.options
        self.api = api_path(str(options.get("api_version") or API_VERSION))
        self.batch_size = max(1, min(connection.batch_size, MAX_BATCH))
        self.short_wait = max(1.0, min(float(connection.rate_limit_seconds), SHORT_RETRY_AFTER))
        self.auth = TokenSource(
            connection.credentials, options, self._post_token, base_url=connection.base_url
        )
        host = urlparse(connection.base_url).hostname or ""
        self.use_instance_url = bool(options.get("use_instance_url", host in LOGIN_HOSTS))
        self.api_usage: tuple[int, int] | None = None
        """``(used, allocation)`` from the last ``Sforce-Limit-Info`` header."""
        self.lookup = KeyLookup(lambda path: self.call("GET", path), self.api, self.short_wait)

    # transport ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        base = self.connection.base_url
        if self.use_instance_url and self.auth.instance_url:
            base = self.auth.instance_url
        return base.rstrip("/") + path

    def _post_token(self, url: str, form: dict[str, str]) -> requests.Response:
        """The token endpoint lives on another host and does not count as an API call."""
        if url.startswith("/"):
            url = self.connection.base_url.rstrip("/") + url
        return self.post_token(url, data=form)

    def call(self, method: str, path: str, body: bytes | None = None) -> requests.Response:
        """One authenticated call. Raises for 401/403/5xx; other answers are returned. A session
        Salesforce calls invalid is refreshed and the call repeated once."""
        send = partial(self._send_authed, method, path, body)
        response = call_with_refresh(self.auth, send, unauthorized, describe)
        usage = limit_info(response)
        if usage is not None:
            self.api_usage = usage
        if error_code(body_of(response)) != "REQUEST_LIMIT_EXCEEDED":  # a 403 that says wait
            raise_if_refused(response, describe)
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise_for_call(response, self.short_wait)
        return response

    def _send_authed(
        self, method: str, path: str, body: bytes | None, token: str
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is None:
            return self.send(method, path, headers=headers)
        headers["Content-Type"] = "application/json"
        return self.send(method, path, headers=headers, data=body)

    def _write_call(self, method: str, path: str, body: bytes) -> requests.Response:
        return self.call(method, path, body)

    # push --------------------------------------------------------------------------------
    def push(self, object_name: str, op: str, items: Sequence[PushItem]) -> list[PushResult]:
        if op not in OPS:
            raise PermanentError(f"salesforce: unknown op {op!r}", code="UNKNOWN_OP")
        if op == "archive":
            return self._archive(object_name, items)
        results: list[PushResult] = []
        if op == "update":
            targets, results = self._targets(object_name, items, missing_is_error=True)
            prepared = [_update_fields(item, record_id) for item, record_id in targets]
        else:
            prepared = [_upsert_fields(op, item) for item in items]
        groups: dict[str, list[Entry]] = {}
        for one in prepared:
            if isinstance(one, PushResult):
                results.append(one)
                continue
            item, fields, key, field = one
            made = entry(item, {"attributes": {"type": object_name}, **fields}, key)
            if isinstance(made, PushResult):
                results.append(made)
            else:
                groups.setdefault(field, []).append(made)
        return results + in_parts(
            list(groups.items()),
            lambda group: self._writer(object_name, op, group[0]).write(group[1], self.batch_size),
            lambda group: [e.item for e in group[1]],
        )

    def _writer(self, object_name: str, op: str, field: str) -> CollectionWriter:
        collections = f"{self.api}/composite/sobjects"
        if op == "upsert":
            path = f"{collections}/{_sobject(object_name)}/{quote(identifier(field), safe='')}"
            return CollectionWriter(self._write_call, "PATCH", path, op, field)
        method = "POST" if op == "create" else "PATCH"
        return CollectionWriter(self._write_call, method, collections, op, field)

    def _targets(
        self, object_name: str, items: Sequence[PushItem], missing_is_error: bool
    ) -> tuple[list[tuple[PushItem, str]], list[PushResult]]:
        """Record ids for items: the one we stored, else found by key. Items without one get a
        result: success for deletes (nothing to remove), an error for updates."""
        targets: list[tuple[PushItem, str]] = []
        done: list[PushResult] = []
        by_field: dict[str, list[PushItem]] = {}
        for item in items:
            if item.external_id:
                targets.append((item, str(item.external_id)))
            elif item.id_property and item.id_value not in (None, ""):
                by_field.setdefault(item.id_property, []).append(item)
            elif missing_is_error:
                message = "salesforce: update needs a record id or a key value"
                error = PermanentError(message, field=item.id_property, code="MISSING_ID")
                done.append(PushResult(item.outbox_id, error=error))
            else:
                done.append(PushResult(item.outbox_id))
        for field, group in by_field.items():
            found = self.lookup.ids(object_name, field, [str(i.id_value) for i in group])
            for item in group:
                ids = found.get(str(item.id_value), [])
                if len(ids) == 1:
                    targets.append((item, ids[0]))
                elif len(ids) > 1:
                    message = (
                        f"salesforce: {len(ids)} {object_name} records have "
                        f"{field}={item.id_value}: {ids}"
                    )
                    error = PermanentError(message, field=field, code="DUPLICATE_EXTERNAL_ID")
                    done.append(PushResult(item.outbox_id, error=error))
                elif missing_is_error:
                    message = f"salesforce: no {object_name} has {field}={item.id_value}"
                    error = PermanentError(message, field=field, code="NOT_FOUND")
                    done.append(PushResult(item.outbox_id, error=error))
                else:
                    done.append(PushResult(item.outbox_id))
        return targets, done

    # archive -----------------------------------------------------------------------------
    def _archive(self, object_name: str, items: Sequence[PushItem]) -> list[PushResult]:
        targets, done = self._targets(object_name, items, missing_is_error=False)
        parts = chunks(targets, self.batch_size)
        return done + in_parts(parts, self._delete, lambda part: [item for item, _ in part])

    def _delete(self, part: list[tuple[PushItem, str]]) -> list[PushResult]:
        ids = list(dict.fromkeys(record_id for _, record_id in part))
        listed = ",".join(quote(i, safe="") for i in ids)
        path = f"{self.api}/composite/sobjects?ids={listed}&allOrNone=false"
        response = self.call("DELETE", path)
        answer = body_of(response)
        if response.status_code != 200 or not isinstance(answer, list):
            raise_for_call(response, self.short_wait)
            raise RetryableError(f"salesforce: unexpected delete answer: {describe(response)}")
        outcome: dict[str, SyncError | None] = {}
        for index, record_id in enumerate(ids):
            result = answer[index] if index < len(answer) else None
            if not isinstance(result, dict):
                outcome[record_id] = RetryableError(f"salesforce: no delete result for {record_id}")
                continue
            errors = [e for e in result.get("errors") or [] if isinstance(e, dict)]
            codes = {str(e.get("statusCode")) for e in errors}
            gone = result.get("success") is True or (bool(codes) and codes <= GONE_CODES)
            outcome[record_id] = None if gone else record_error(errors)
        return [
            PushResult(item.outbox_id, external_id=record_id, error=outcome[record_id])
            for item, record_id in part
        ]

    # associations ------------------------------------------------------------------------
    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        return links.type_problem(link_type)

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        return links.link(
            self._write_call, self.api, child_object, link_type, items, self.batch_size
        )

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        return links.unlink(
            self._write_call, self.api, child_object, link_type, items, self.batch_size
        )

    @classmethod
    def link_fields(cls, child_object: str, parent_object: str, link_type: str) -> list[str]:
        return [link_type]

    def parent_ids(
        self,
        child_object: str,
        parent_object: str,
        link_type: str,
        records: Mapping[str, CrmRecord],
    ) -> dict[str, str | None]:
        return links.parent_ids(link_type, records)

    # read --------------------------------------------------------------------------------
    def read_by_key(
        self, object_name: str, id_property: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """SOQL ``SELECT Id, key, fields… FROM object WHERE key IN (…)``, 200 values a query."""
        return self.lookup.records(object_name, id_property, [str(v) for v in values], fields)

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        """SOQL by ``Id`` (200 a query): the records as they are now, deleted ones left out."""
        return changes.read_records(self.lookup.query_records, self.api, object_name, ids, fields)

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        """One ``queryAll`` page by ``SystemModstamp``, oldest first, deletions included
        (``providers.salesforce.changes``)."""
        return changes.changed_since(self._query_page, self.api, object_name, since, fields, after)

    def _query_page(self, path: str) -> dict[str, Any]:
        response = self.call("GET", path)
        raise_for_call(response, self.short_wait)
        answer = body_of(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
            raise RetryableError("salesforce: unexpected query answer")
        return answer

    # fields ------------------------------------------------------------------------------
    def describe_fields(self, object_name: str) -> ObjectFields:
        """``GET /sobjects/{SObject}/describe``: every field with its type, length, picklist
        values, required/createable/updateable and External ID flags (one call, no paging)."""
        response = self.call("GET", f"{self.api}/sobjects/{_sobject(object_name)}/describe")
        raise_for_call(response, self.short_wait)
        try:
            return object_fields(object_name, body_of(response))
        except ValueError as exc:
            raise RetryableError(f"salesforce: {exc}") from None

    def list_fields(self, object_name: str) -> set[str]:
        """Fields a mapping may write: createable or updateable in the object's describe."""
        fields = self.describe_fields(object_name).fields.values()
        return {d.name for d in fields if d.writable}


Prepared = tuple[PushItem, dict[str, Any], str | None, str]
"""``(item, record fields, key that must be unique per request, external id field)``."""


def _payload(item: PushItem) -> dict[str, Any] | PushResult:
    if isinstance(item.payload, dict):
        return item.payload
    error = PermanentError("salesforce: payload is not a field map", code="BAD_PAYLOAD")
    return PushResult(item.outbox_id, error=error)


def _upsert_fields(op: str, item: PushItem) -> Prepared | PushResult:
    """A create or upsert record; upserts carry our key in the external id field."""
    payload = _payload(item)
    if isinstance(payload, PushResult):
        return payload
    field = item.id_property or "Id"
    value = item.id_value if item.id_value not in (None, "") else payload.get(field)
    if op == "create":
        return item, dict(payload), None if value in (None, "") else str(value), field
    if item.id_property is None:
        message = f"salesforce: {op} needs an External ID field (the rule's id_property)"
        return PushResult(item.outbox_id, error=PermanentError(message, None, "MISSING_ID"))
    if value in (None, ""):
        message = f"salesforce: {op} needs a value for the external id field {field!r}"
        return PushResult(item.outbox_id, error=PermanentError(message, field, "MISSING_ID"))
    return item, {**payload, field: str(value)}, str(value), field


def _update_fields(item: PushItem, record_id: str) -> Prepared | PushResult:
    payload = _payload(item)
    if isinstance(payload, PushResult):
        return payload
    return item, {"id": record_id, **payload}, record_id, item.id_property or "Id"
