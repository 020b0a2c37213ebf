"""Zoho CRM v8 client: upserts by our key, updates, inserts and deletes of up to 100 records,
with per-record results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import requests

from providers.answers import body_of, parse_time
from providers.archive import delete_targets
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
from providers.batching import in_halves, in_parts, partition, unique_chunks
from providers.oauth import call_with_refresh, raise_if_refused
from providers.zoho import changes, links, notifications
from providers.zoho.auth import TokenSource
from providers.zoho.batching import Pair, by_id_property, id_chunks, key_of
from providers.zoho.defaults import API_VERSION, MAX_BATCH, module_path
from providers.zoho.fields import object_fields
from providers.zoho.lookup import find_ids, find_records
from providers.zoho.responses import code_of, describe, entries, field_of, raise_for_call
from providers.zoho.results import match_deletes, match_writes
from syncsvc.errors import PermanentError, RetryableError
from syncsvc.fields.model import ObjectFields

CHANNEL_LIFE = timedelta(days=1)
RENEW_BEFORE = timedelta(hours=12)
"""A channel is renewed when less than this is left of it (beat looks every few seconds)."""
CHANNEL_BASE = 7_300_000_000_000
"""Channel ids are this plus the connection's id: one channel per connection, stable."""
WRITE_METHOD = {"upsert": "POST", "create": "POST", "update": "PUT"}
WHOLE_CALL_CODES = frozenset(
    {"INVALID_MODULE", "AUTHORIZATION_FAILED", "INVALID_REQUEST_METHOD", "INVALID_URL_PATTERN"}
    | {"NO_PERMISSION", "OAUTH_SCOPE_MISMATCH", "NOT_SUPPORTED", "FEATURE_NOT_ENABLED"}
)
"""Refusals that are about the call, not a record: splitting the batch would not help."""
CALL_LEVEL_FIELDS = frozenset({"data", "duplicate_check_fields", "trigger"})
"""A top-level error naming one of these is about the request, not about a record."""


def _failed(item: PushItem, message: str, code: str, field: str | None = None) -> PushResult:
    return PushResult(item.outbox_id, error=PermanentError(message, field=field, code=code))


class ZohoClient(ProviderClient):
    INBOUND = True
    OPTIONS = frozenset({"token_url", "data_center", "trigger"})

    def setup(self) -> None:
        connection = self.connection
        self.batch_size = max(1, min(connection.batch_size, MAX_BATCH))
        self.window = float(connection.rate_limit_seconds)
        self.trigger = connection.options.get("trigger")
        """Zoho runs workflows, approvals and blueprints on API writes unless told otherwise;
        ``options: {trigger: []}`` turns them off, ``[workflow]`` keeps only workflows."""
        self.auth = TokenSource(
            connection.credentials,
            connection.options,
            self._post_token,
            base_url=connection.base_url,
        )

    # transport ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """``path`` at the API host the token answer named (the account's data centre); with a
        fixed access token, at the connection's base URL."""
        if self.auth.api_domain is None or path.startswith(("https://", "http://")):
            return super().url(path)
        return self.auth.api_domain + path

    def _post_token(self, url: str, params: dict[str, str]) -> requests.Response:
        """The Accounts server is not the CRM API. The grant goes form-encoded in the body, never
        in the URL, where proxies, logs and error texts would keep the secrets."""
        return self.post_token(url, data=params)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One authenticated call; raises for 401/403/429/5xx, returns every other answer.

        An access token Zoho calls invalid (expired or revoked) is refreshed and the call
        repeated once.
        """
        send = partial(self._send_authed, method, path, body, params, headers or {})
        response = call_with_refresh(self.auth, send, _invalid_token, describe)
        raise_if_refused(response, describe)
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            raise_for_call(response, self.window)
        return response

    def _send_authed(
        self,
        method: str,
        path: str,
        body: Any,
        params: dict[str, str] | None,
        extra: dict[str, str],
        token: str,
    ) -> requests.Response:
        headers = {
            **extra,
            "Authorization": f"Zoho-oauthtoken {token}",
            "Accept": "application/json",
        }
        kwargs: dict[str, Any] = {"headers": headers}
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["json"] = body
        return self.send(method, path, **kwargs)

    # push --------------------------------------------------------------------------------
    def push(self, object_name: str, op: str, items: Sequence[PushItem]) -> list[PushResult]:
        if op not in OPS:
            raise PermanentError(f"zoho: unknown op {op!r}", code="UNKNOWN_OP")
        if op == "archive":
            return self._archive(object_name, items)
        ids = self._zoho_ids(object_name, items) if op == "update" else {}
        pairs, results = partition(_record(op, item, ids) for item in items)
        groups = list(by_id_property(op, pairs).items())
        return results + in_parts(
            groups,
            lambda group: self._write_all(object_name, op, group[0], group[1]),
            lambda group: [item for item, _ in group[1]],
        )

    def _write_all(
        self, module: str, op: str, id_property: str | None, pairs: list[Pair]
    ) -> list[PushResult]:
        return in_parts(
            unique_chunks(pairs, self.batch_size, key_of(op, id_property)),
            lambda chunk: self._write(module, op, id_property, chunk),
            lambda chunk: [item for item, _ in chunk],
        )

    def _zoho_ids(self, module: str, items: Sequence[PushItem]) -> dict[int, str]:
        """Zoho ids for an update: the known external id, else found by our key."""
        ids = {i.outbox_id: str(i.external_id) for i in items if i.external_id}
        unknown = [i for i in items if not i.external_id and i.id_property and i.id_value]
        ids.update(self._resolve(module, unknown))
        return ids

    def _write(
        self, module: str, op: str, id_property: str | None, pairs: list[Pair]
    ) -> list[PushResult]:
        body: dict[str, Any] = {"data": [record for _, record in pairs]}
        if op == "upsert" and id_property:
            body["duplicate_check_fields"] = [id_property]
        if self.trigger is not None:
            body["trigger"] = list(self.trigger)
        rest = ("upsert",) if op == "upsert" else ()
        response = self.call(WRITE_METHOD[op], module_path(quote(module, safe=""), *rest), body)
        answer = body_of(response)
        data = entries(answer)
        items = [item for item, _ in pairs]
        whole_call = code_of(answer) or (code_of(data[0]) if data and len(data) == 1 else "")
        if response.status_code == 400 and (
            whole_call in WHOLE_CALL_CODES or field_of(answer) in CALL_LEVEL_FIELDS
        ):
            raise PermanentError(describe(response, answer), field_of(answer), whole_call)
        if data is not None and (response.status_code < 300 or len(data) == len(pairs)):
            return match_writes(op, items, data)
        if response.status_code == 400 and len(pairs) > 1:
            # Refused as a whole, no per-record answer: halve until the culprit is alone.
            send = partial(self._write, module, op, id_property)
            return in_halves(pairs, send, lambda pair: pair[0])
        if response.status_code == 400:
            field, code = field_of(answer), code_of(answer) or None
            error = PermanentError(describe(response, answer), field=field, code=code)
            return [PushResult(items[0].outbox_id, error=error)]
        raise_for_call(response, self.window)
        message = f"zoho: the {op} answer has no per-record data"
        return [PushResult(item.outbox_id, error=RetryableError(message)) for item in items]

    # archive -----------------------------------------------------------------------------
    def _archive(self, module: str, items: Sequence[PushItem]) -> list[PushResult]:
        """Delete by Zoho id; records known only by our key are looked up first. A record
        that is not in Zoho (never synced, or already deleted) counts as archived."""
        targets, nothing_to_do = delete_targets(items, partial(self._resolve, module))
        path = module_path(quote(module, safe=""))

        def send(chunk: list[tuple[PushItem, str]]) -> list[PushResult]:
            ids = list(dict.fromkeys(zoho_id for _, zoho_id in chunk))
            response = self.call("DELETE", path, params={"ids": ",".join(ids)})
            answer = body_of(response)
            data = entries(answer)
            if data is None and code_of(answer) == "LIMIT_EXCEEDED" and len(ids) > 1:
                half = ids[: len(ids) // 2]
                parts = [[t for t in chunk if t[1] in half], [t for t in chunk if t[1] not in half]]
                return in_parts(parts, send, lambda c: [item for item, _ in c])
            if data is None:
                raise_for_call(response, self.window)
                data = []
            return match_deletes(chunk, data)

        chunks = id_chunks(targets, self.batch_size)
        return nothing_to_do + in_parts(chunks, send, lambda c: [item for item, _ in c])

    def _resolve(self, module: str, items: Sequence[PushItem]) -> dict[int, str]:
        """Zoho ids of records known only by our key (absent ones left out)."""
        by_property: dict[str, list[PushItem]] = {}
        for item in items:
            by_property.setdefault(str(item.id_property), []).append(item)
        found: dict[int, str] = {}
        for prop, group in by_property.items():
            values = [str(i.id_value) for i in group]
            ids = find_ids(self.call, module, prop, values, self.window)
            found.update(
                {i.outbox_id: ids[str(i.id_value)] for i in group if str(i.id_value) in ids}
            )
        return found

    # associations ------------------------------------------------------------------------
    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        return links.type_problem(parent_object, link_type)

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        return links.link(self.call, child_object, link_type, items, self.batch_size)

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        return links.unlink(self.call, child_object, link_type, items, self.batch_size)

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
        """COQL ``select … from module where key in (…)``, 50 values a query."""
        found = find_records(self.call, object_name, id_property, values, fields, self.window)
        names = [id_property, *fields]
        return {key: {name: row.get(name) for name in names} for key, row in found.items()}

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        return changes.read_records(self._get, object_name, ids, fields)

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        return changes.changed_since(self._get, object_name, since, fields, after)

    def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> requests.Response:
        response = self.call("GET", path, params=params, headers=headers)
        if response.status_code != 304:
            raise_for_call(response, self.window)
        return response

    def watch(
        self, modules: list[str], notify_url: str, channel_id: int, token: str, expires: datetime
    ) -> datetime | None:
        """Subscribe (or renew) a notification channel for every change of ``modules``;
        returns the expiry Zoho granted."""
        body = notifications.watch_body(channel_id, modules, notify_url, token, expires)
        response = self.call("POST", f"/crm/{API_VERSION}/actions/watch", body)
        raise_for_call(response, self.window)
        granted = None
        for entry in body_of(response).get("watch") or []:
            for event in (entry.get("details") or {}).get("events") or []:
                granted = parse_time(event.get("channel_expiry")) or granted
        return granted

    def keep_webhooks(
        self, notify_url: str, objects: Sequence[str], held: str | None, now: datetime
    ) -> str | None:
        """One notification channel for the connection's modules, renewed (``watch`` again)
        when it ends within ``RENEW_BEFORE`` or the URL or modules changed. Callbacks carry
        credential ``webhook_token``, which ``ZohoNotifications`` checks."""
        token = self.connection.credentials.get("webhook_token")
        if not isinstance(token, str) or not token:
            raise PermanentError(
                "zoho: a notification channel needs credential webhook_token",
                code="NO_WEBHOOK_TOKEN",
            )
        watched = notifications.channel_state(notify_url, objects, held)
        if watched is not None and watched - now > RENEW_BEFORE:
            return held
        channel = CHANNEL_BASE + self.connection.id
        granted = self.watch(list(objects), notify_url, channel, token, now + CHANNEL_LIFE)
        return notifications.held_state(notify_url, objects, granted or now + CHANNEL_LIFE)

    # fields ------------------------------------------------------------------------------
    def describe_fields(self, object_name: str) -> ObjectFields:
        """The module's fields from ``GET /crm/v8/settings/fields?module=`` (one unpaged answer
        covering every layout); an unknown module is Zoho's ``INVALID_MODULE``, raised."""
        path = f"/crm/{API_VERSION}/settings/fields"
        response = self.call("GET", path, params={"module": object_name})
        raise_for_call(response, self.window)
        return object_fields(object_name, body_of(response))


def _invalid_token(response: requests.Response) -> bool:
    return response.status_code == 401 and code_of(body_of(response)) == "INVALID_TOKEN"


def _record(op: str, item: PushItem, ids: dict[int, str]) -> Pair | PushResult:
    """``item`` with its Zoho record, or a failed result when it cannot be sent."""
    if not isinstance(item.payload, dict):
        return _failed(item, "zoho: payload is not a field map", "BAD_PAYLOAD")
    record = dict(item.payload)
    if op == "update":
        zoho_id = ids.get(item.outbox_id)
        if zoho_id is None:
            message = f"zoho: no record with {item.id_property} = {item.id_value!r} to update"
            return _failed(item, message, "NOT_FOUND", item.id_property)
        record["id"] = zoho_id
    elif op == "upsert":
        if not item.id_property or item.id_value in (None, ""):
            message = f"zoho: upsert needs a value for the key field {item.id_property!r}"
            return _failed(item, message, "MISSING_ID", item.id_property)
        record[item.id_property] = item.id_value
    return item, record
