"""Pipedrive API v2 client: one request per record, idempotent upserts without an upsert API.

Upsert (I-3): the record's Pipedrive id from our outbox (``PushItem.external_id``) → ``PATCH``;
without one (or when that record is gone), look the record up by the value of the rule's
``id_property`` (a custom field of a searchable type, or a person's emails/phones:
``GET /api/v2/{object}/search?fields=…&exact_match=true``, every hit confirmed by reading that
field back) → ``PATCH`` the hit or ``POST`` a new record. Archive deletes by
id, looked up by key when unknown; a record that was never synced or is already gone is done.

Search lags behind writes (Pipedrive promises no read-after-write for it), so a create whose
answer was lost may have made a record search does not show yet. Every create is noted in the
outbox row before it is sent and its id as soon as Pipedrive answers (``PushItem.journal``);
a row whose last create was sent less than ``search_lag_seconds`` (60) ago and that search does
not find waits (``NotIndexedYet``) instead of being created again. ``create`` rows that may have
been sent before are looked up the same way; one found is done without a write.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from providers.answers import body_of
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
from providers.batching import in_parts
from providers.oauth import call_with_refresh, raise_if_refused, resolve_option, unauthorized
from providers.pipedrive import changes, links, reads, recents, webhooks
from providers.pipedrive.auth import TokenSource
from providers.pipedrive.budget import BudgetWatch
from providers.pipedrive.defaults import FIELDS_PATH, OBJECTS, SEARCH_LIMIT, TOKEN_URL
from providers.pipedrive.fields import (
    RECHECK_SECONDS,
    FieldCatalog,
    ObjectFields,
    build_body,
    fetch_all,
)
from providers.pipedrive.lookup import Finder, SearchWindow, object_path
from providers.pipedrive.metadata import field_defs
from providers.pipedrive.responses import describe, error_path, raise_for_call, rate_limited
from syncsvc.errors import (
    CredentialsRefused,
    NotIndexedYet,
    PermanentError,
    RateLimited,
    RetryableError,
)
from syncsvc.fields.model import ObjectFields as FieldDefinitions

log = logging.getLogger("syncsvc.providers.pipedrive")

SEARCH_LAG = 60.0
"""How long after a create search may not show the record yet (Pipedrive documents no bound)."""
LAG_RECHECK = 5.0
"""While a create may be unindexed, look again this often (a search costs 20 tokens)."""
ITEM_CODES = frozenset({"UNKNOWN_FIELD", "AMBIGUOUS_FIELD", "UNKNOWN_KEY_FIELD", "SEARCH_REFUSED"})
"""Problems of one record (its fields, its key); any other error is the whole call's."""


class PipedriveClient(ProviderClient):
    INBOUND = True
    DELETES_POLL = True
    OPTIONS = frozenset(
        {"token_url", "search_rate_limit_requests", "search_rate_limit_seconds"}
        | {"search_lag_seconds"}
    )

    def setup(self) -> None:
        connection = self.connection
        options = connection.options or {}
        self.token_url = resolve_option(str(options.get("token_url") or TOKEN_URL))
        configured = (connection.base_url, self.token_url)
        self.auth = TokenSource(connection.credentials, self._post_token, configured=configured)
        self.fields = FieldCatalog(lambda o: fetch_all(self._get_json, FIELDS_PATH[o]))
        window = SearchWindow(
            int(options.get("search_rate_limit_requests", SEARCH_LIMIT[0])),
            float(options.get("search_rate_limit_seconds", SEARCH_LIMIT[1])),
        )
        self.finder = Finder(self.call, self.fields, window)
        self.budget = BudgetWatch()
        self.search_lag = max(0.0, float(options.get("search_lag_seconds", SEARCH_LAG)))

    # transport ---------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """``path`` on the company domain the OAuth token answer named; with an API token (or
        no ``api_domain``), on the connection's base URL."""
        if self.auth.api_domain is None or path.startswith(("https://", "http://")):
            return super().url(path)
        return self.auth.api_domain + path

    def _post_token(self, form: dict[str, str], basic: tuple[str, str]) -> requests.Response:
        headers = {"Accept": "application/json"}
        return self.post_token(self.token_url, data=form, auth=basic, headers=headers)

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> requests.Response:
        """One authenticated call. Raises for 401/429/5xx (and Cloudflare's HTML 403); other
        answers are returned. An OAuth token refused with 401 is refreshed and the call repeated
        once."""
        response = call_with_refresh(
            self.auth,
            lambda token: self._send_authed(self.auth.headers(token), method, path, params, body),
            unauthorized,
            describe,
        )
        raise_if_refused(response, describe, (401,))  # a JSON 403 is one record's permission
        status = response.status_code
        if status == 429:
            raise self._throttled(response)
        self.budget.answered()
        if status == 401 or status >= 500 or (status == 403 and not body_of(response)):
            raise_for_call(response)
        return response

    def _throttled(self, response: requests.Response) -> RateLimited:
        """The wait for a 429: the daily budget's when the answer says so, else the burst
        window's, growing while 429s keep coming after the waits were kept (``budget``)."""
        limited = rate_limited(response)
        if limited.daily:
            return limited
        wait, daily = self.budget.throttled(limited.retry_after or 0.0)
        if not daily:
            return RateLimited(str(limited), wait)
        refused = self.budget.refused_for()
        message = f"{limited} [daily budget, inferred: only 429s for {refused:.0f}s]"
        return RateLimited(message, wait, daily=True)

    def _send_authed(
        self,
        headers: dict[str, str],
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
    ) -> requests.Response:
        headers = {**headers, "Accept": "application/json"}
        if body is None:
            return self.send(method, path, headers=headers, params=params)
        return self.send(method, path, headers=headers, params=params, json=body)

    # push --------------------------------------------------------------------------------
    def push(self, object_name: str, op: str, items: Sequence[PushItem]) -> list[PushResult]:
        """One request per item, in order. A failure of the whole connection (throttling, auth,
        5xx) stops the call: raised when nothing was written yet, else the items not reached
        get it as their result, so the records already written keep their results."""
        if op not in OPS:
            raise PermanentError(f"pipedrive: unknown op {op!r}", code="UNKNOWN_OP")
        if object_name not in OBJECTS:
            raise PermanentError(
                f"pipedrive: unknown object {object_name!r}", code="UNKNOWN_OBJECT"
            )
        return in_parts(items, lambda item: [self._push_one(object_name, op, item)], lambda i: [i])

    def _push_one(self, object_name: str, op: str, item: PushItem) -> PushResult:
        if op == "archive":
            return self._archive(object_name, item)
        if not isinstance(item.payload, dict):
            error = PermanentError("pipedrive: payload is not a field map", code="BAD_PAYLOAD")
            return PushResult(item.outbox_id, error=error)
        try:
            fields, body = self._body(object_name, item.payload)
        except PermanentError as exc:
            return _item_failed(item, exc)
        if item.external_id:
            if op == "create":  # an earlier push of this row created it
                return PushResult(item.outbox_id, external_id=str(item.external_id))
            path = object_path(object_name, str(item.external_id))
            done = self._write(fields, "PATCH", path, item, body)
            if done is not None:
                return done
        try:
            found = self._lookup(object_name, item) if item.maybe_sent else None
        except PermanentError as exc:
            return _item_failed(item, exc)
        if found is not None:
            if op == "create":
                return PushResult(item.outbox_id, external_id=found, created=False)
            done = self._write(fields, "PATCH", object_path(object_name, found), item, body)
            if done is not None:
                return done
        if op == "update":
            key_field, key = self._key(item)
            error = PermanentError(
                f"pipedrive: no {object_name} record with {key_field or 'id_property'} = {key!r} "
                "to update",
                field=key_field or None,
                code="NOT_FOUND",
            )
            return PushResult(item.outbox_id, error=error)
        unindexed = self._maybe_unindexed(item)
        if unindexed is not None:
            return unindexed
        return self._create(fields, object_name, item, body)

    def _maybe_unindexed(self, item: PushItem) -> PushResult | None:
        """The wait for a row search did not find although a create of it was sent less than
        the search lag ago: that record may exist and not be indexed yet."""
        since = item.since_create
        if since is None or since >= self.search_lag or self._key(item)[1] is None:
            return None
        wait = max(0.5, min(LAG_RECHECK, self.search_lag - since))
        error = NotIndexedYet(
            f"pipedrive: a create of this record was sent {since:.1f}s ago and search does not "
            f"show it yet (search lags writes); looking again in {wait:.1f}s",
            retry_after=wait,
        )
        return PushResult(item.outbox_id, error=error)

    def _create(
        self, fields: ObjectFields, object_name: str, item: PushItem, body: dict[str, Any]
    ) -> PushResult:
        """POST the record, noted in the outbox before it is sent and with its id as soon as
        Pipedrive gives one (``item.journal``), so that a push that dies meanwhile leaves the
        next one either the id or the time from which search may lag."""
        item.journal.creating(item.outbox_id)
        try:
            done = self._write(fields, "POST", object_path(object_name), item, body)
        except (RateLimited, CredentialsRefused):
            item.journal.not_created(item.outbox_id)  # answered: nothing was created
            raise
        except RetryableError:
            item.journal.creating(item.outbox_id)  # no answer: it may exist from now on
            raise
        assert done is not None  # only a PATCH answers "gone"
        if done.ok and done.external_id:
            item.journal.created(item.outbox_id, done.external_id)
        elif isinstance(done.error, PermanentError):
            item.journal.not_created(item.outbox_id)
        return done

    def _body(
        self, object_name: str, payload: dict[str, Any]
    ) -> tuple[ObjectFields, dict[str, Any]]:
        fields = self.fields.get(object_name)
        try:
            return fields, build_body(fields, payload)
        except PermanentError as exc:
            if exc.code != "UNKNOWN_FIELD":
                raise
        fields = self.fields.get(object_name, fresher_than=RECHECK_SECONDS)
        return fields, build_body(fields, payload)

    def _write(
        self, fields: ObjectFields, method: str, path: str, item: PushItem, body: dict[str, Any]
    ) -> PushResult | None:
        """POST or PATCH one record; ``None`` when the PATCHed record does not exist (any more)."""
        response = self.call(method, path, body=body)
        answer = body_of(response)
        if response.status_code < 300:
            data = answer.get("data")
            record_id = data.get("id") if isinstance(data, dict) else None
            if record_id is None:
                error = RetryableError(f"pipedrive: {method} {path} answered without a record id")
                return PushResult(item.outbox_id, error=error)
            return PushResult(item.outbox_id, external_id=str(record_id), created=method == "POST")
        if method == "PATCH" and response.status_code in (404, 410):
            return None
        code = str(answer.get("code") or answer.get("errorCode") or f"HTTP_{response.status_code}")
        field = fields.target_of(error_path(answer))
        return PushResult(
            item.outbox_id, error=PermanentError(describe(response, answer), field=field, code=code)
        )

    # lookup by key -----------------------------------------------------------------------
    @staticmethod
    def _key(item: PushItem) -> tuple[str, str | None]:
        key_field = item.id_property or ""
        value = item.id_value if key_field else None
        if key_field and value in (None, "") and isinstance(item.payload, dict):
            raw = item.payload.get(key_field)
            value = None if raw in (None, "") else str(raw)
        return key_field, value

    def _lookup(self, object_name: str, item: PushItem) -> str | None:
        key_field, key = self._key(item)
        return None if key is None else self.finder.find(object_name, key_field, key)

    # archive -----------------------------------------------------------------------------
    def _archive(self, object_name: str, item: PushItem) -> PushResult:
        target = item.external_id
        if not target and not item.maybe_sent:
            return PushResult(item.outbox_id)  # never sent: nothing to delete
        if not target:
            try:
                target = self._lookup(object_name, item)
            except PermanentError as exc:
                return _item_failed(item, exc)
        if not target:
            return PushResult(item.outbox_id)  # never synced: nothing to delete
        response = self.call("DELETE", object_path(object_name, str(target)))
        if response.status_code < 300 or response.status_code in (404, 410):
            return PushResult(item.outbox_id, external_id=str(target))
        answer = body_of(response)
        code = str(answer.get("code") or answer.get("errorCode") or f"HTTP_{response.status_code}")
        return PushResult(
            item.outbox_id, error=PermanentError(describe(response, answer), code=code)
        )

    # associations ------------------------------------------------------------------------
    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        return links.type_problem(child_object, parent_object, link_type)

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        return links.link(self.call, child_object, link_type, items)

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        return links.unlink(self.call, child_object, link_type, items)

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
        """No batch read: a search per value (the first ``reads.MAX_READS`` values only), then
        ``GET /api/v2/{object}/{id}`` of each record found."""
        if object_name not in OBJECTS:
            raise PermanentError(
                f"pipedrive: unknown object {object_name!r}", code="UNKNOWN_OBJECT"
            )
        names = list(dict.fromkeys([id_property, *fields]))
        found: dict[str, dict[str, Any]] = {}
        for value in list(dict.fromkeys(str(v) for v in values))[: reads.MAX_READS]:
            record_id = self.finder.find(object_name, id_property, value)
            if record_id is None:
                continue
            data = self._get_json(object_path(object_name, record_id), {}).get("data")
            if isinstance(data, dict):
                found[value] = reads.flatten(self.fields.get(object_name), data, names)
        return found

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        """``GET /api/v2/{object}?ids=`` (100 a call): the records as they are now."""
        return changes.read_records(
            self._get_json, self._list_path(object_name), self.fields.get(object_name), ids, fields
        )

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        """``GET /api/v2/{object}?updated_since=&sort_by=update_time``, oldest first."""
        return changes.changed_since(
            self._get_json,
            self._list_path(object_name),
            self.fields.get(object_name),
            since,
            fields,
            after,
        )

    def deleted_since(self, object_name: str, since: datetime, after: str | None) -> DeletedPage:
        """``GET /v1/recents?since_timestamp=&items=person``: the object's changes since
        ``since``, oldest first, 500 a page; the deleted records among them."""
        self._list_path(object_name)  # refuses an unknown object
        return recents.deleted_page(self._get_json, object_name, since, after)

    def keep_webhooks(
        self, notify_url: str, objects: Sequence[str], held: str | None, now: datetime
    ) -> str | None:
        """One webhook v2 per object (``event_action: *``) calling ``notify_url`` with the
        connection's ``webhook_user``/``webhook_password``, created with ``POST /v1/webhooks``
        where missing; looked for hourly, and replaced when the URL or the auth changed."""
        user = self.connection.credentials.get("webhook_user")
        password = self.connection.credentials.get("webhook_password")
        if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
            raise PermanentError(
                "pipedrive: webhooks need credentials webhook_user and webhook_password",
                code="NO_WEBHOOK_AUTH",
            )
        watching = webhooks.subscription(notify_url, objects, user, password)
        look, changed = webhooks.due(held, watching, now)
        if not look:
            return held
        existing = [
            w
            for w in self._get_json("/v1/webhooks", {}).get("data") or []
            if isinstance(w, dict) and w.get("subscription_url") == notify_url
        ]
        if changed:  # their auth may be stale: made again
            for hook in existing:
                raise_for_call(self.call("DELETE", f"/v1/webhooks/{int(hook['id'])}"))
            existing = []
        have = {
            w.get("event_object") for w in existing if str(w.get("version", "")).startswith("2")
        }
        for obj in objects:
            entity = webhooks.ENTITIES.get(obj)
            if entity is None or entity in have:
                continue
            body = {
                "subscription_url": notify_url,
                "event_action": "*",
                "event_object": entity,
                "http_auth_user": user,
                "http_auth_password": password,
                "version": "2.0",
            }
            raise_for_call(self.call("POST", "/v1/webhooks", body=body))
        return webhooks.held_state(watching, now)

    @staticmethod
    def _list_path(object_name: str) -> str:
        if object_name not in OBJECTS:
            raise PermanentError(
                f"pipedrive: unknown object {object_name!r}", code="UNKNOWN_OBJECT"
            )
        return object_path(object_name)

    # fields ------------------------------------------------------------------------------
    def _get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self.call("GET", path, params=params)
        raise_for_call(response)
        return body_of(response)

    def describe_fields(self, object_name: str) -> FieldDefinitions:
        """The object's fields from ``GET /v1/{object}Fields`` (every page), see ``metadata``."""
        if object_name not in OBJECTS:
            raise PermanentError(
                f"pipedrive: unknown object {object_name!r}", code="UNKNOWN_OBJECT"
            )
        return field_defs(object_name, fetch_all(self._get_json, FIELDS_PATH[object_name]))


def _item_failed(item: PushItem, error: PermanentError) -> PushResult:
    """The result for a record-level problem; a call-level one (auth, scope) is raised."""
    if error.code not in ITEM_CODES:
        raise error
    return PushResult(item.outbox_id, error=error)
