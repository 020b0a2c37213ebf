"""Insert, update, upsert and delete calls against a module: one answer entry per record.

Zoho applies a call's records one by one; the answer is 200/201 when all succeed, 207 when some
do, 400 when none does (still with one ``data`` entry per record).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.zoho.defaults import MAX_BATCH
from providers.zoho.links import LOOKUP_MODULES
from providers.zoho.sim.schema import error
from providers.zoho.sim.store import USER, ModuleStore, Record

Related = Callable[[str, str], bool]
"""``(module, record id)`` → whether the module holds that record."""

Ack = Callable[[str, str | None, str], None]
RejectRule = Callable[[Mapping[str, Any]], str | None]
KeyOf = Callable[[Record], str]
"""What a write is acknowledged by: the record's key field value (an option), else its id."""


class BadCall(Exception):
    """The whole call is refused (one top-level error entry)."""

    def __init__(self, entry: dict[str, Any], status: int = 400) -> None:
        super().__init__(entry["message"])
        self.entry = entry
        self.status = status


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    records: int
    """How many records the call carried (Zoho charges 1 credit per 10 written)."""
    refused: int = 0
    """How many of them Zoho refused for a field value (type, option, length, read-only,
    unknown field or a missing mandatory one)."""


def credits_for(records: int) -> int:
    return max(1, math.ceil(records / 10))


def _status(entries: list[dict[str, Any]], all_ok: int) -> int:
    ok = sum(1 for e in entries if e["status"] == "success")
    return all_ok if ok == len(entries) else 207 if ok else 400


def _success(record: Record, message: str, **extra: Any) -> dict[str, Any]:
    details = {"id": record.id, **record.system()}
    details["Created_By"], details["Modified_By"] = dict(USER), dict(USER)
    return {"code": "SUCCESS", **extra, "details": details, "message": message, "status": "success"}


def records_of(body: Any, ceiling: int = MAX_BATCH) -> list[Any]:
    if not isinstance(body, dict) or "data" not in body:
        raise BadCall(error("MANDATORY_NOT_FOUND", "required field not found", "data"))
    data = body["data"]
    if not isinstance(data, list) or not data:
        raise BadCall(error("INVALID_DATA", "invalid data", "data"))
    if len(data) > ceiling:
        raise BadCall(error("LIMIT_EXCEEDED", "max records limit exceeded", limit=ceiling))
    return data


class WriteRunner:
    """Runs one write call against ``store``; every applied write is acknowledged."""

    def __init__(
        self,
        store: ModuleStore,
        ack: Ack,
        rejected: RejectRule,
        ceiling: int = MAX_BATCH,
        key_of: KeyOf = lambda record: record.id,
        related: Related = lambda module, record_id: True,
    ) -> None:
        self.store = store
        self.related = related
        """Whether a module holds a record: a lookup to one it does not hold is refused."""
        self.ack = ack
        self.rejected = rejected
        self.ceiling = ceiling
        self.key_of = key_of
        self.refused = 0

    def _ack(self, record: Record, op: str) -> None:
        self.ack(self.store.module, self.key_of(record), op)

    def _refusal(self, fields: Any, index: int, existing: Record | None) -> dict[str, Any] | None:
        if not isinstance(fields, dict):
            return error(
                "INVALID_DATA", "invalid data", index=index, expected_data_type="jsonobject"
            )
        problems = self.store.check({k: v for k, v in fields.items() if k != "id"}, index, existing)
        if problems:
            self.refused += 1
        problems += self._bad_lookups(fields, index)
        refused = self.rejected(fields)
        if refused is not None and not problems:
            message = f"{fields[refused]} was refused by a validation rule"
            problems.append(error("INVALID_DATA", message, refused, index))
        if len(problems) > 1:
            message = "Multiple errors in the request"
            return error("MULTIPLE_OR_MULTI_ERRORS", message, errors=problems)
        if problems:
            return problems[0]
        return self.store.conflict(fields, existing.id if existing else None, index)

    def _bad_lookups(self, fields: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        problems = []
        for name, module in LOOKUP_MODULES.items():
            value = fields.get(name)
            definition = self.store.definitions.get(name) or {}
            if definition.get("data_type") != "lookup" or not isinstance(value, dict):
                continue
            related_id = value.get("id")
            if related_id is not None and not self.related(module, str(related_id)):
                message = "the related id given seems to be invalid"
                problems.append(error("INVALID_DATA", message, name, index, id=str(related_id)))
        return problems

    def insert(self, body: Any) -> Outcome:
        entries: list[dict[str, Any]] = []
        data = records_of(body, self.ceiling)
        for index, fields in enumerate(data):
            refusal = self._refusal(fields, index, None)
            if refusal is not None:
                entries.append(refusal)
                continue
            record = self.store.insert(fields)
            self._ack(record, "create")
            entries.append(_success(record, "record added"))
        return Outcome(_status(entries, 201), {"data": entries}, len(data), self.refused)

    def update(self, body: Any) -> Outcome:
        entries: list[dict[str, Any]] = []
        data = records_of(body, self.ceiling)
        for index, fields in enumerate(data):
            record_id = fields.get("id") if isinstance(fields, dict) else None
            if record_id in (None, ""):
                entries.append(error("MANDATORY_NOT_FOUND", "record id not given", "id", index))
                continue
            record = self.store.get(record_id)
            if record is None:
                message = "the id given seems to be invalid"
                entries.append(error("INVALID_DATA", message, "id", index))
                continue
            refusal = self._refusal(fields, index, record)
            if refusal is not None:
                entries.append(refusal)
                continue
            self.store.update(record, fields)
            self._ack(record, "update")
            entries.append(_success(record, "record updated"))
        return Outcome(_status(entries, 200), {"data": entries}, len(data), self.refused)

    def _check_order(self, body: Mapping[str, Any]) -> list[str]:
        """The fields an upsert matches on, in order (Zoho: named fields first, then the other
        unique fields; the system-defined field only when named or when none is named)."""
        allowed = self.store.duplicate_check_fields
        named = body.get("duplicate_check_fields")
        if named is None:
            return allowed
        if not isinstance(named, list) or not all(n in allowed for n in named):
            raise BadCall(error("INVALID_DATA", "invalid data", "duplicate_check_fields"))
        return [*named, *(u for u in self.store.unique if u not in named)]

    def upsert(self, body: Any) -> Outcome:
        data = records_of(body, self.ceiling)
        order = self._check_order(body)
        entries: list[dict[str, Any]] = []
        for index, fields in enumerate(data):
            found = None
            if isinstance(fields, dict):
                by_id = self.store.get(fields["id"]) if fields.get("id") else None
                found = (by_id, "id") if by_id else self.store.match(fields, order)
            refusal = self._refusal(fields, index, found[0] if found else None)
            if refusal is not None:
                entries.append(refusal)
            elif found is None:
                record = self.store.insert(fields)
                self._ack(record, "upsert")
                extra = {"duplicate_field": None, "action": "insert"}
                entries.append(_success(record, "record added", **extra))
            else:
                record, matched_on = found
                self.store.update(record, fields)
                self._ack(record, "upsert")
                extra = {"duplicate_field": matched_on, "action": "update"}
                entries.append(_success(record, "record updated", **extra))
        return Outcome(_status(entries, 200), {"data": entries}, len(data), self.refused)

    def delete(self, ids_param: str | None) -> Outcome:
        if not ids_param:
            raise BadCall(error("REQUIRED_PARAM_MISSING", "One of the expected parameter is "
                                "missing", param_name="ids"))  # fmt: skip
        ids = [i.strip() for i in ids_param.split(",") if i.strip()]
        if len(ids) > self.ceiling:
            raise BadCall(error("LIMIT_EXCEEDED", "max records limit exceeded", limit=self.ceiling))
        entries: list[dict[str, Any]] = []
        for record_id in ids:
            record = self.store.get(record_id)
            if record is None:
                entries.append(error("INVALID_DATA", "record not deleted", id=record_id))
                continue
            self._ack(record, "archive")
            self.store.delete(record)
            entries.append({"code": "SUCCESS", "details": {"id": record_id},
                            "message": "record deleted", "status": "success"})  # fmt: skip
        return Outcome(_status(entries, 200), {"data": entries}, 1)
