"""sObject Collections in the simulated org: create, update, upsert by external id and delete.

A request is refused whole (400) for what the JSON deserializer meets first: an unknown type or
field, or a value of the wrong type. Otherwise every record gets its own result, in request
order; with ``allOrNone`` one failure rolls everything back and the others report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``. Callers hold the simulator's lock.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.salesforce.sim.schema import BadValue, Problems, check_values, convert
from providers.salesforce.sim.store import ObjectStore, Record, is_id

MAX_RECORDS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}
Ack = Callable[[str, str | None, str], None]
RejectRule = Callable[[Mapping[str, Any]], str | None]
VALUE_CODES = frozenset(
    {"INVALID_FIELD", "JSON_PARSER_ERROR", "INVALID_FIELD_FOR_INSERT_UPDATE", "STRING_TOO_LONG"}
    | {"INVALID_EMAIL_ADDRESS", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "REQUIRED_FIELD_MISSING"}
    | {"NUMBER_OUTSIDE_VALID_RANGE"}
)
"""Refusals of a value the org's field definitions do not allow (counted in ``/_sim/stats``)."""


class BadRequest(Exception):
    """The whole request is refused: ``[{"message", "errorCode"}]`` with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def too_many() -> BadRequest:
    message = "record limit reached. cannot submit more than 200 records into this call"
    return BadRequest(400, "EXCEEDED_ID_LIMIT", message)


def _position(raw: str, name: str, value: Any) -> tuple[int, int]:
    """Line and column of ``"name": value`` in the raw body, as a streaming parser reports it."""
    decoder = json.JSONDecoder()
    for match in re.finditer(re.escape(json.dumps(name)) + r"\s*:\s*", raw):
        try:
            found, _ = decoder.raw_decode(raw, match.end())
        except ValueError:
            continue
        if found == value and type(found) is type(value):
            pos = match.end()
            return raw.count("\n", 0, pos) + 1, pos - (raw.rfind("\n", 0, pos) + 1) + 1
    return 1, 1


@dataclass
class Plan:
    store: ObjectStore
    values: dict[str, Any]
    record: Record | None = None
    """The record an update changes; None creates one."""
    problems: Problems = field(default_factory=Problems)


class Runner:
    def __init__(
        self,
        stores: Mapping[str, ObjectStore],
        ack: Ack,
        rejected: RejectRule,
        ack_field: str | None,
        lock_failure: Callable[[], bool],
        refused: Callable[[str], None] = lambda code: None,
    ) -> None:
        self.stores = stores
        self.ack = ack
        self.rejected = rejected
        self.ack_field = ack_field
        """The field whose value acknowledgements carry (see ``ObjectStore.ack_key``)."""
        self.lock_failure = lock_failure
        self.refused = refused
        """Called with the code of every value refusal (``VALUE_CODES``)."""

    # request body ------------------------------------------------------------------------
    def records(self, body: Any) -> tuple[list[dict[str, Any]], bool]:
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise BadRequest(400, "JSON_PARSER_ERROR", "records: a list of sObjects is required")
        if len(records) > MAX_RECORDS:
            raise too_many()
        return records, bool(body.get("allOrNone", False))

    def decode(
        self, raw: str, record: dict[str, Any], forced: str | None
    ) -> tuple[ObjectStore, dict[str, Any]]:
        """The record's store and converted values (``id`` kept aside under ``"Id"``)."""
        attributes = record.get("attributes")
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        if not kind:
            raise BadRequest(400, "INVALID_TYPE", "Must send a concrete entity type.")
        if forced is not None and kind != forced:
            raise BadRequest(400, "INVALID_TYPE", f"Record type {kind} does not match {forced}")
        store = self.stores.get(str(kind))
        if store is None:
            raise BadRequest(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
        values: dict[str, Any] = {}
        for name, value in record.items():
            if name == "attributes":
                continue
            if name.lower() == "id":
                values["Id"] = value
                continue
            definition = store.definitions.get(name)
            if definition is None:
                message = f"No such column '{name}' on sobject of type {store.name}"
                raise BadRequest(400, "INVALID_FIELD", message)
            try:
                values[name] = convert(definition, value)
            except BadValue as exc:
                line, column = _position(raw, name, value)
                message = f"{exc} at [line:{line}, column:{column}]"
                raise BadRequest(400, "JSON_PARSER_ERROR", message) from None
        return store, values

    # checks ------------------------------------------------------------------------------
    def check(
        self, plan: Plan, pending: Counter[tuple[str, str, str]], raw: dict[str, Any]
    ) -> None:
        store, values, problems = plan.store, plan.values, plan.problems
        creating = plan.record is None
        read_only = [
            n
            for n in values
            if not (
                store.definitions[n].createable if creating else store.definitions[n].updateable
            )
        ]
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set."
            )
            problems.add("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)
        if creating:
            required = [n for n, d in store.definitions.items() if d.required]
            missing = [n for n in required if values.get(n) is None]
            missing += [
                n
                for n, v in values.items()
                if v is None
                and not store.definitions[n].nillable
                and not store.definitions[n].defaulted_on_create
            ]
            missing = list(dict.fromkeys(missing))
        else:
            missing = [
                n for n, v in values.items() if v is None and not store.definitions[n].nillable
            ]
        if missing:
            problems.add(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        check_values(store.definitions, values, problems)
        self._references(plan)
        refused = self.rejected({k: v for k, v in raw.items() if k != "attributes"})
        if refused is not None:
            label = store.definitions[refused].label if refused in store.definitions else refused
            message = f"{label}: the value {raw[refused]!r} is not allowed by a validation rule"
            problems.add("FIELD_CUSTOM_VALIDATION_EXCEPTION", message, [refused])
        own_id = plan.record.id if plan.record else None
        for name in store.unique & values.keys():
            value = values[name]
            owner = store.owner(name, value, own_id)
            slot = (store.name, name, store.fold(value))
            if owner is not None or (value is not None and pending[slot]):
                message = f"duplicate value found: {name} duplicates value on record with id: "
                problems.add("DUPLICATE_VALUE", message + (owner or ""), [])
            if value is not None:
                pending[slot] += 1
        if not problems.errors and self.lock_failure():
            message = (
                f"unable to obtain exclusive access to this record or 1 records: {own_id or ''}"
            )
            problems.add("UNABLE_TO_LOCK_ROW", message, [])

    # writes ------------------------------------------------------------------------------
    def write(
        self, mode: str, raw: str, body: Any, forced: str | None = None, ext: str | None = None
    ) -> list[dict[str, Any]]:
        """``mode`` is create, update or upsert (``forced`` type and ``ext`` field)."""
        records, all_or_none = self.records(body)
        decoded = [self.decode(raw, r, forced) for r in records]
        keys: Counter[str] = Counter()
        if mode == "upsert" and ext is not None:
            keys.update(ObjectStore.fold(v[ext]) for _, v in decoded if v.get(ext) is not None)
        plans: list[Plan] = []
        pending: Counter[tuple[str, str, str]] = Counter()
        for (store, values), raw_record in zip(decoded, records, strict=True):
            record_id = values.pop("Id", None)
            plan = Plan(store, values)
            plans.append(plan)
            if mode == "update":
                self._target(plan, record_id)
            elif record_id is not None:
                plan.problems.add("INVALID_FIELD", f"cannot specify Id in an {mode} call", ["Id"])
            elif mode == "upsert" and ext is not None:
                self._match(plan, ext, keys)
            if not plan.problems.errors:
                self.check(plan, pending, raw_record)
        for plan in plans:
            for error in plan.problems.errors:
                if error["statusCode"] in VALUE_CODES:
                    self.refused(error["statusCode"])
        failed = any(p.problems.errors for p in plans)
        if all_or_none and failed:
            return [{"success": False, "errors": p.problems.errors or [ROLLED_BACK]} for p in plans]
        return [self._apply(mode, plan) for plan in plans]

    def _target(self, plan: Plan, record_id: Any) -> None:
        store, problems = plan.store, plan.problems
        if record_id in (None, ""):
            problems.add("MISSING_ARGUMENT", "Id not specified in an update call")
        elif not isinstance(record_id, str) or not is_id(record_id) or not store.owns(record_id):
            problems.add(
                "MALFORMED_ID", f"Record ID: id value of incorrect type: {record_id}", ["Id"]
            )
        elif store.was_deleted(record_id):
            problems.add("ENTITY_IS_DELETED", "entity is deleted")
        else:
            plan.record = store.get(record_id)
            if plan.record is None:
                problems.add("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")

    def _references(self, plan: Plan) -> None:
        """A lookup field must name an existing record of an object it references: an id of
        another object is refused as of the wrong type, one of a record that does not exist
        (or was deleted) as an invalid cross reference."""
        for name, value in plan.values.items():
            definition = plan.store.definitions[name]
            if definition.type != "reference" or value is None or name == "OwnerId":
                continue
            targets = [self.stores[t] for t in definition.reference_to if t in self.stores]
            if not targets:
                continue
            label = definition.label
            owner = next((s for s in targets if isinstance(value, str) and s.owns(value)), None)
            if owner is None or not is_id(str(value)):
                message = f"{label}: id value of incorrect type: {value}"
                plan.problems.add("FIELD_INTEGRITY_EXCEPTION", message, [name])
            elif owner.get(str(value)) is None:
                message = "invalid cross reference id"
                plan.problems.add("INVALID_CROSS_REFERENCE_KEY", message, [name])

    def _match(self, plan: Plan, ext: str, keys: Counter[str]) -> None:
        store, value = plan.store, plan.values.get(ext)
        if value is None:
            plan.problems.add("MISSING_ARGUMENT", f"{ext} not specified")
        elif keys[store.fold(value)] > 1:
            plan.problems.add("DUPLICATE_VALUE", f"Duplicate external id specified: {value}")
        else:
            found = store.matching(ext, value)
            if len(found) > 1:
                label = store.definitions[ext].label
                ids = ", ".join(r.id for r in found)
                message = f"{label}: more than one record found for external id field: [{ids}]"
                plan.problems.add("DUPLICATE_EXTERNAL_ID", message)
            plan.record = found[0] if len(found) == 1 else None

    def _apply(self, mode: str, plan: Plan) -> dict[str, Any]:
        if plan.problems.errors:
            failed: dict[str, Any] = {"success": False, "errors": plan.problems.errors}
            if plan.record is not None:
                failed["id"] = plan.record.id
            return failed
        created = plan.record is None
        if plan.record is None:
            record = plan.store.create(plan.values)
        else:
            record = plan.record
            plan.store.update(record, plan.values)
        self.ack(plan.store.name, plan.store.ack_key(record, self.ack_field), mode)
        result: dict[str, Any] = {"id": record.id, "success": True, "errors": []}
        if mode == "upsert":
            result["created"] = created
        return result

    # deletes -----------------------------------------------------------------------------
    def delete(self, ids: list[str], all_or_none: bool) -> list[dict[str, Any]]:
        if not ids:
            raise BadRequest(400, "MISSING_ARGUMENT", "ids: at least one record id is required")
        if len(ids) > MAX_RECORDS:
            raise too_many()
        plans: list[tuple[str, ObjectStore | None, list[dict[str, Any]]]] = []
        planned: set[str] = set()
        for record_id in ids:
            store = next((s for s in self.stores.values() if s.owns(record_id)), None)
            problems = Problems()
            if store is None or not is_id(record_id):
                problems.add("MALFORMED_ID", f"malformed id {record_id}")
            elif store.was_deleted(record_id) or (store.get(record_id) and record_id in planned):
                problems.add("ENTITY_IS_DELETED", "entity is deleted")
            elif store.get(record_id) is None:
                problems.add("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            planned.add(record_id)
            plans.append((record_id, store, problems.errors))
        if all_or_none and any(errors for _, _, errors in plans):
            return [{"success": False, "errors": e or [ROLLED_BACK]} for _, _, e in plans]
        results = []
        for record_id, store, errors in plans:
            record = store.get(record_id) if store is not None and not errors else None
            if store is None or record is None:
                results.append({"success": False, "errors": errors})
                continue
            self.ack(store.name, store.ack_key(record, self.ack_field), "archive")
            store.delete(record)
            results.append({"id": record.id, "success": True, "errors": []})
        return results
