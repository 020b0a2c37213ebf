"""Dynamics 365 / Dataverse Web API client: upserts by alternate key in ``$batch`` calls.

Why ``$batch`` and not ``UpsertMultiple``: on standard tables a bulk message rolls back entirely
when one record fails, and its error does not say which one, so one bad record would cost a
bisection of the whole call. A ``$batch`` of independent requests (no change sets) sent with
``Prefer: odata.continue-on-error`` runs every request and answers each with its own status, in
order: bad records fail alone, good ones land, in one HTTP request of up to 1000 operations that
counts once against the 6000-requests-per-5-minutes limit.

Dataverse runs those operations one after another, so a batch of 1000 can outlast the read
timeout: each batch is as large as fits a third of it at the pace earlier answers showed
(``providers.dynamics.sizing``, per table, kept in the client across pushes). A batch that timed
out or failed midway may have been applied in part; what is sent again is idempotent (alternate-
key upserts, creates by key or by a stable record id with ``If-None-Match``, deletes where 404
means gone: ``providers.dynamics.operations``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlparse

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
from providers.batching import chunks, in_halves, partition
from providers.dynamics import changes, links, multipart, reads
from providers.dynamics.auth import TokenSource, token_settings
from providers.dynamics.defaults import API_PATH, LOGICAL_NAMES, MAX_BATCH, ODATA_HEADERS
from providers.dynamics.metadata import CHOICE_TYPES, field_defs
from providers.dynamics.odata import key_literal
from providers.dynamics.operations import Planned, Table, plan, result
from providers.dynamics.responses import classify, describe, error_of, failure, raise_for_call
from providers.dynamics.sizing import BatchSizer
from providers.oauth import call_with_refresh, raise_if_refused, unauthorized
from syncsvc.errors import ConfigError, PermanentError, RetryableError, SyncError
from syncsvc.fields.model import ObjectFields

log = logging.getLogger("syncsvc.providers.dynamics")


class DynamicsClient(ProviderClient):
    INBOUND = True
    OPTIONS = frozenset({"token_url", "scope", "logical_names"})
    """``token_url``/``scope`` for the token request; ``logical_names`` maps extra entity sets to
    their tables (``{"new_projects": "new_project"}``)."""

    def setup(self) -> None:
        connection = self.connection
        self.batch_size = max(1, min(connection.batch_size, MAX_BATCH))
        self.sizer = BatchSizer(self.batch_size, self.timeouts.read)
        self.api = urlparse(connection.base_url).path.rstrip("/") + API_PATH
        extra = connection.options.get("logical_names") or {}
        if not isinstance(extra, dict):
            raise ConfigError("dynamics: options.logical_names must map entity sets to tables")
        self.logical_names = {**LOGICAL_NAMES, **{str(k): str(v) for k, v in extra.items()}}
        token_url, scope = token_settings(
            connection.base_url, connection.credentials, connection.options
        )
        self.auth = TokenSource(connection.credentials, token_url, scope, self._post_form)

    # transport ---------------------------------------------------------------------------
    def _post_form(self, url: str, form: dict[str, str]) -> requests.Response:
        """Entra ID is another host: its requests do not count against Dataverse's limits."""
        return self.post_token(url, data=form, headers={"Accept": "application/json"})

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One authenticated call; a 401 mints a new token and repeats the call once."""
        send = partial(self._send_authed, method, path, headers, kwargs)
        response = call_with_refresh(self.auth, send, unauthorized, _refused_twice)
        raise_if_refused(response, _refused_twice)
        return response

    def _send_authed(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None,
        kwargs: dict[str, Any],
        token: str,
    ) -> requests.Response:
        merged = {**ODATA_HEADERS, "Authorization": f"Bearer {token}", **(headers or {})}
        return self.send(method, path, headers=merged, **kwargs)

    def table(self, object_name: str) -> Table:
        logical = self.logical_names.get(object_name)
        if logical is None:
            known = ", ".join(sorted(self.logical_names))
            raise PermanentError(
                f"dynamics: unknown entity set {object_name!r} (known: {known})",
                code="UNKNOWN_OBJECT",
            )
        return Table(self.api, object_name, logical)

    # push --------------------------------------------------------------------------------
    def push(self, object_name: str, op: str, items: Sequence[PushItem]) -> list[PushResult]:
        if op not in OPS:
            raise PermanentError(f"dynamics: unknown op {op!r}", code="UNKNOWN_OP")
        table = self.table(object_name)
        planned, done = partition(plan(table, op, item, self.connection.id) for item in items)
        return done + self._in_sized_batches(table, planned)

    def _in_sized_batches(self, table: Table, planned: list[Planned]) -> list[PushResult]:
        """Send ``planned`` in batches the sizer cuts one at a time (``providers.dynamics.
        sizing``). As ``in_parts`` does, a failure after a batch went through is reported per
        item for what was not answered, so the results already in hand are kept."""
        results: list[PushResult] = []
        at = 0
        while at < len(planned):
            chunk = planned[at : at + self.sizer.size(table.entity_set)]
            try:
                results.extend(self._timed_batch(table, chunk))
            except SyncError as exc:
                if not results:
                    raise
                results.extend(PushResult(p.item.outbox_id, error=exc) for p in planned[at:])
                break
            at += len(chunk)
        return results

    def _timed_batch(self, table: Table, chunk: list[Planned]) -> list[PushResult]:
        """One ``$batch``, its duration told to the sizer (a timeout and a 5xx shrink the next)."""
        started = time.monotonic()
        try:
            response = self._post_batch(chunk)
        except RetryableError as exc:
            if isinstance(exc.__cause__, requests.ReadTimeout):
                self.sizer.timed_out(table.entity_set, len(chunk))
            raise
        if response.status_code >= 500:
            self.sizer.failed(table.entity_set)
        elif response.status_code < 300:
            self.sizer.answered(table.entity_set, len(chunk), time.monotonic() - started)
        return self._answers(table, chunk, response)

    def _post_batch(self, chunk: list[Planned]) -> requests.Response:
        content_type, body = multipart.write([p.message for p in chunk])
        return self.call(
            "POST",
            f"{self.api}/$batch",
            headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"},
            data=body.encode("utf-8"),
        )

    def _batch(self, table: Table, chunk: list[Planned]) -> list[PushResult]:
        return self._answers(table, chunk, self._post_batch(chunk))

    def _answers(
        self, table: Table, chunk: list[Planned], response: requests.Response
    ) -> list[PushResult]:
        answer_type = response.headers.get("Content-Type")
        if multipart.is_multipart(answer_type) and response.status_code < 500:
            text = response.content.decode("utf-8", "replace")
            try:
                answers = multipart.flatten(multipart.read(answer_type, text))
            except ValueError as exc:
                raise RetryableError(f"dynamics: unreadable $batch answer: {exc}") from exc
            return [
                result(table, p, answers[i] if i < len(answers) else None)
                for i, p in enumerate(chunk)
            ]
        if response.status_code == 400:
            return self._split(table, chunk, response)
        if response.status_code < 300:
            raise RetryableError(f"dynamics: $batch answered {answer_type!r}, not multipart")
        raise failure(response)

    def _split(
        self, table: Table, chunk: list[Planned], response: requests.Response
    ) -> list[PushResult]:
        """The whole batch was refused (400): isolate the request that breaks it."""
        if len(chunk) == 1:
            code, message = error_of(response.content)
            fields = chunk[0].item.payload.keys() if isinstance(chunk[0].item.payload, dict) else ()
            error = classify(400, code, message, fields=fields)
            return [PushResult(chunk[0].item.outbox_id, error=error)]
        return in_halves(chunk, partial(self._batch, table), lambda p: p.item)

    # associations ------------------------------------------------------------------------
    @classmethod
    def link_type_problem(cls, child_object: str, parent_object: str, link_type: str) -> str | None:
        return links.type_problem(child_object, parent_object, link_type)

    def link(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[LinkItem]
    ) -> list[LinkResult]:
        return links.link(self.call, self.api, child_object, parent_object, link_type, items)

    def unlink(
        self, child_object: str, parent_object: str, link_type: str, items: Sequence[UnlinkItem]
    ) -> list[LinkResult]:
        return links.unlink(self.call, self.api, child_object, link_type, items)

    @classmethod
    def link_fields(cls, child_object: str, parent_object: str, link_type: str) -> list[str]:
        return links.link_fields(child_object, link_type)

    def parent_ids(
        self,
        child_object: str,
        parent_object: str,
        link_type: str,
        records: Mapping[str, CrmRecord],
    ) -> dict[str, str | None]:
        return links.parent_ids(child_object, link_type, records)

    # read --------------------------------------------------------------------------------
    def read_by_key(
        self, object_name: str, id_property: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """One ``$batch`` of alternate-key GETs per ``batch_size`` values (404 parts: absent)."""
        table = self.table(object_name)
        wanted = list(dict.fromkeys(str(v) for v in values))
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(wanted, self.batch_size):
            answers = self._read_batch(reads.get_requests(table, id_property, chunk, fields))
            found.update(reads.records_of(answers, chunk, [id_property, *fields]))
        return found

    def read_records(
        self, object_name: str, ids: Sequence[str], fields: Sequence[str]
    ) -> dict[str, CrmRecord]:
        """One ``$batch`` of GETs by id per ``batch_size`` ids (404 parts: gone)."""
        table = self.table(object_name)
        found: dict[str, CrmRecord] = {}
        for chunk in chunks(changes.wanted_ids(ids), self.batch_size):
            answers = self._read_batch(changes.get_requests(table, chunk, fields))
            found.update(changes.records_of(table, answers, fields))
        return found

    def changed_since(
        self, object_name: str, since: datetime, fields: Sequence[str], after: str | None
    ) -> ChangedPage:
        """One page of change tracking (``providers.dynamics.changes``): from the stored delta
        link, or the whole table once; a delta link Dataverse no longer takes (expired) starts
        over with the whole table."""
        table = self.table(object_name)
        mode, _, path = (after or changes.first_request(table, fields)).partition(" ")
        response = self.call("GET", path, headers={"Prefer": changes.TRACK})
        if mode == "delta" and response.status_code in (400, 410):
            code, message = error_of(response.content)
            log.warning("dynamics: %s delta link refused (%s %s): reading the whole table again",
                        object_name, code, message)  # fmt: skip
            return self.changed_since(object_name, since, fields, None)
        raise_for_call(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise RetryableError(f"dynamics: unreadable change-tracking answer: {exc}") from exc
        if not isinstance(answer, dict):
            raise RetryableError("dynamics: the change-tracking answer is not an object")
        base = self.connection.base_url
        return changes.page_of(table, base, answer, fields, mode == "initial", since)

    def _read_batch(self, messages: list[multipart.HttpMessage]) -> list[multipart.HttpMessage]:
        parts: list[multipart.HttpMessage | multipart.ChangeSet] = list(messages)
        content_type, body = multipart.write(parts)
        response = self.call(
            "POST",
            f"{self.api}/$batch",
            headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"},
            data=body.encode("utf-8"),
        )
        answer_type = response.headers.get("Content-Type")
        if response.status_code >= 300 or not multipart.is_multipart(answer_type):
            raise failure(response)
        text = response.content.decode("utf-8", "replace")
        try:
            return multipart.flatten(multipart.read(answer_type, text))
        except ValueError as exc:
            raise RetryableError(f"dynamics: unreadable $batch answer: {exc}") from exc

    # fields ------------------------------------------------------------------------------
    def _metadata(self, logical: str, tail: str) -> list[dict[str, Any]]:
        """The ``value`` rows of ``EntityDefinitions(LogicalName='…')/{tail}``."""
        path = f"{self.api}/EntityDefinitions(LogicalName={key_literal(logical)})/{tail}"
        response = self.call("GET", path)
        if response.status_code == 404:
            code, message = error_of(response.content)
            raise PermanentError(describe(404, code, message), code="UNKNOWN_OBJECT")
        raise_for_call(response)
        try:
            values = response.json().get("value")
        except (ValueError, AttributeError) as exc:
            raise RetryableError(f"dynamics: unreadable metadata answer: {exc}") from exc
        if not isinstance(values, list):
            raise RetryableError(f"dynamics: metadata answer for {tail} has no value list")
        return [v for v in values if isinstance(v, dict)]

    def describe_fields(self, object_name: str) -> ObjectFields:
        """The table's columns (types, lengths, choices, read-only, custom) and which of them
        hold an alternate key, from the environment's own metadata (``providers.dynamics.
        metadata``)."""
        logical = self.table(object_name).logical_name
        attributes = self._metadata(logical, "Attributes")
        choices = [
            row
            for cast in CHOICE_TYPES
            for row in self._metadata(
                logical,
                f"Attributes/Microsoft.Dynamics.CRM.{cast}?$select=LogicalName"
                "&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)",
            )
        ]
        keys = self._metadata(logical, "Keys?$select=KeyAttributes,EntityKeyIndexStatus")
        return ObjectFields.of(object_name, field_defs(attributes, choices, keys))


def _refused_twice(response: requests.Response) -> str:
    code, message = error_of(response.content)
    return describe(response.status_code, code, message or "credentials refused")
