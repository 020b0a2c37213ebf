"""The batch endpoints of the simulated account: ``/crm/v3/objects/{type}/batch/{op}``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.hubspot.sim.fidelity import Fidelity
from providers.hubspot.sim.schema import Invalid
from providers.hubspot.sim.store import ObjectStore, Record, now_iso

MAX_INPUTS = 100
Ack = Callable[[str, str | None, str], None]
RejectRule = Callable[[dict[str, Any]], str | None]
KeyOf = Callable[[Record], str]


class BadBatch(Exception):
    """The whole batch is refused with a 400 ``VALIDATION_ERROR``; nothing was written."""

    def __init__(self, message: str, invalid: Sequence[Invalid] = (), code: str | None = None):
        super().__init__(message)
        self.message = message
        self.invalid = list(dict.fromkeys(invalid))
        self.code = code

    @classmethod
    def for_values(cls, invalid: Sequence[Invalid]) -> BadBatch:
        details = json.dumps([i.as_detail() for i in dict.fromkeys(invalid)], separators=(",", ":"))
        return cls(f"Property values were not valid: {details}", invalid)

    def details(self) -> list[dict[str, Any]]:
        if not self.invalid:
            return [{"message": self.message, "code": self.code or "INVALID_INPUT"}]
        return [
            {
                "message": i.message,
                "in": i.name,
                "code": i.error,
                "context": {"propertyName": [i.name]},
            }
            for i in self.invalid
        ]


class Conflict(Exception):
    """The whole batch is refused with 409 CONFLICT for its first clashing unique value;
    nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def missing(attribute: str) -> BadBatch:
    return BadBatch(
        "Invalid input JSON on line 1, column 1: Cannot build batch input, some of required "
        f"attributes are not set [{attribute}]"
    )


@dataclass
class Outcome:
    status: int
    body: dict[str, Any] | None = None


@dataclass
class _Answer:
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def _error(status: str, category: str, message: str, **context: list[str]) -> dict[str, Any]:
    return {
        "status": status,
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


class BatchRunner:
    """Runs one batch call against ``store``; every applied write is acknowledged."""

    def __init__(
        self,
        store: ObjectStore,
        ack: Ack,
        rejected: RejectRule | None = None,
        key_of: KeyOf | None = None,
        behaviour: Fidelity | None = None,
    ) -> None:
        self.store = store
        self.ack = ack
        self.rejected = rejected or (lambda _properties: None)
        self.key_of = key_of or (lambda record: record.id)
        self.behaviour = behaviour or Fidelity()

    def _ack(self, record: Record, op: str) -> None:
        self.ack(self.store.object_name, self.key_of(record), op)

    @staticmethod
    def inputs(body: Any) -> list[dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise missing("inputs")
        if len(inputs) > MAX_INPUTS:
            raise BadBatch(
                f"Batch input of {len(inputs)} inputs exceeds the limit of {MAX_INPUTS}",
                code="TOO_MANY_INPUTS",
            )
        return inputs

    def run(self, op: str, body: Any) -> Outcome:
        inputs = self.inputs(body)
        started = now_iso()
        if op == "archive":
            self.archive(inputs)
            return Outcome(204)
        if op == "read":
            answer = self.read(inputs, body)
        else:
            self.validate(op, inputs)
            if not self._multi_status(op, inputs):
                self.refuse_conflicts(op, inputs)
            answer = self.write(op, inputs)
        if answer.not_found:
            label = self.store.label.upper()
            message = (
                f"Could not get some {label} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            )
            answer.errors.append(_error("404", "OBJECT_NOT_FOUND", message, ids=answer.not_found))
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": answer.results,
            "requestedAt": started,
            "startedAt": started,
            "completedAt": now_iso(),
        }
        if answer.errors:
            payload.update(errors=answer.errors, numErrors=len(answer.errors))
            return Outcome(207, payload)
        return Outcome(201 if op == "create" else 200, payload)

    # checks ------------------------------------------------------------------------------
    def validate(self, op: str, inputs: list[dict[str, Any]]) -> None:
        """Refuse the whole batch for bad shapes, ids or property values (nothing written)."""
        invalid: list[Invalid] = []
        seen: set[tuple[str, str]] = set()
        duplicates: list[str] = []
        for entry in inputs:
            properties = entry.get("properties")
            if not isinstance(properties, dict):
                raise missing("properties")
            invalid.extend(self.store.check(properties))
            refused = self.rejected(properties)
            if refused is not None:
                message = f"{properties[refused]} was refused by a validation rule on {refused}"
                invalid.append(Invalid(refused, "INVALID_VALUE", message))
            if op == "create":
                continue
            record_id, id_property = entry.get("id"), entry.get("idProperty")
            if not isinstance(record_id, str) or not record_id:
                raise missing("id")
            if op == "upsert" and not id_property:
                raise BadBatch("Upsert inputs need an idProperty", code="MISSING_ID_PROPERTY")
            if id_property and id_property != "hs_object_id":
                self._check_id_property(str(id_property))
                invalid.extend(self.store.check({str(id_property): record_id}))
            key = (
                str(id_property or "hs_object_id"),
                self.store.normalize(str(id_property), record_id),
            )
            if key in seen:
                duplicates.append(record_id)
            seen.add(key)
        if duplicates:
            raise BadBatch(f"Duplicate IDs found in batch input: {duplicates}", code="DUPLICATE_ID")
        if invalid:
            raise BadBatch.for_values(invalid)

    def _check_id_property(self, name: str) -> None:
        if name not in self.store.definitions:
            message = f'Property "{name}" does not exist'
            raise BadBatch.for_values([Invalid(name, "PROPERTY_DOESNT_EXIST", message)])
        if not self.store.is_unique(name):
            raise BadBatch(
                f"{name} is not a unique identifier property (hasUniqueValue is false)",
                code="INVALID_ID_PROPERTY",
            )

    def _multi_status(self, op: str, inputs: list[dict[str, Any]]) -> bool:
        """Whether refused inputs get one 207 error each instead of failing the call."""
        return (
            op == "create"
            and self.behaviour.multi_status_create
            and all(entry.get("objectWriteTraceId") for entry in inputs)
        )

    def _target(self, op: str, entry: dict[str, Any]) -> tuple[dict[str, str], Record | None]:
        """The properties an input writes and the record it writes them to (None: a new one)."""
        properties: dict[str, str] = dict(entry["properties"])
        if op == "create":
            return properties, None
        id_property = entry.get("idProperty")
        if id_property and op == "upsert":
            properties.setdefault(id_property, entry["id"])
        return properties, self.store.find(entry["id"], id_property)

    def refuse_conflicts(self, op: str, inputs: list[dict[str, Any]]) -> None:
        """Raise ``Conflict`` for the first input whose unique value another record holds, or
        an earlier input of this batch claims for another record."""
        claimed: dict[tuple[str, str], str] = {}
        for index, entry in enumerate(inputs):
            properties, record = self._target(op, entry)
            if record is None and op == "update":
                continue
            clash = self.store.conflict(properties, record.id if record else None)
            if clash is not None:
                raise Conflict(f"{self.store.label} already exists. Existing ID: {clash[1]}")
            target = record.id if record else f"input {index}"
            for name in sorted(self.store.unique.keys() & properties.keys()):
                value = self.store.normalize(name, properties[name])
                earlier = claimed.setdefault((name, value), target)
                if earlier != target:
                    raise Conflict(
                        f"{self.store.label} already exists: {name} {value!r} is written by "
                        f"{earlier} of this batch too"
                    )

    # operations --------------------------------------------------------------------------
    def write(self, op: str, inputs: list[dict[str, Any]]) -> _Answer:
        answer = _Answer()
        for entry in inputs:
            trace = entry.get("objectWriteTraceId") if self.behaviour.echo_trace_ids else None
            extra: dict[str, Any] = {} if trace is None else {"objectWriteTraceId": str(trace)}
            properties, record = self._target(op, entry)
            if record is None and op == "update":
                answer.not_found.append(entry["id"])
                continue
            clash = self.store.conflict(properties, record.id if record else None)
            if clash is not None:
                answer.errors.append(self._conflict(clash, trace))
                continue
            created = record is None
            if record is None:
                record = self.store.create(properties)
            else:
                self.store.update(record, properties)
            if op == "upsert":
                extra["new"] = created
            self._ack(record, op)
            answer.results.append(record.view(**extra))
        return answer

    def _conflict(self, clash: tuple[str, str], trace: Any) -> dict[str, Any]:
        prop, owner = clash
        context = {"propertyName": [prop]}
        if trace is not None:
            context["objectWriteTraceId"] = [str(trace)]
        message = f"{self.store.label} already exists. Existing ID: {owner}"
        return _error("409", "CONFLICT", message, **context)

    def archive(self, inputs: list[dict[str, Any]]) -> None:
        for entry in inputs:
            if not isinstance(entry.get("id"), str):
                raise missing("id")
        for entry in inputs:
            record = self.store.find(entry["id"])
            if record is not None:
                self._ack(record, "archive")
                self.store.archive(record)

    def read(self, inputs: list[dict[str, Any]], body: dict[str, Any]) -> _Answer:
        id_property = body.get("idProperty")
        if id_property and id_property != "hs_object_id":
            self._check_id_property(str(id_property))
        wanted = body.get("properties") or None
        answer = _Answer()
        for entry in inputs:
            if not isinstance(entry.get("id"), str):
                raise missing("id")
            record = self.store.find(entry["id"], id_property)
            if record is None:
                answer.not_found.append(entry["id"])
            else:
                answer.results.append(record.view(only=wanted))
        return answer
