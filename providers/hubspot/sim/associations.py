"""HubSpot's v4 associations between records of the simulated account.

``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create`` with
``{"inputs": [{"from": {"id"}, "to": {"id"}, "types": [{"associationCategory",
"associationTypeId"}]}]}``: each input links two records by a type; the same link made twice is
one link. An input naming a record the account does not hold fails on its own (207 with
``errors``; 400 when every input failed), as HubSpot's batch endpoints report per-input
failures. An association disappears with either of its records.
``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read`` with ``{"inputs":
[{"id"}]}`` answers each record's associations of that pair.
``POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive`` with ``{"inputs":
[{"from": {"id"}, "to": [{"id"}]}]}`` removes every association between each pair, whatever
its type, and answers 204 without a body, also for a pair that has none (HubSpot's batch
archives answer 204 whatever the prior state); a malformed body is a 400 for the whole call.
A sales rep's ``/_sim/edit`` may
``move`` a record's associations to another record (``AssociationStore.move``). Every
association made or removed is reported to ``on_change`` (the webhooks' ``associationChange``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.hubspot.sim.store import ObjectStore, Record, now_iso

CATEGORIES = frozenset({"HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"})
TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}


class BadAssociations(ValueError):
    """The request itself is malformed (400 for the whole call)."""


Link = tuple[str, str, str, str, str]
"""``(from object, from id, to object, to id, category:type id)``."""


@dataclass
class AssociationStore:
    links: set[Link] = field(default_factory=set)
    on_change: Callable[[Link, bool], None] | None = None
    """Called with (the link, whether it was removed) for every link made or removed."""

    def _add(self, link: Link) -> None:
        if link not in self.links:
            self.links.add(link)
            if self.on_change is not None:
                self.on_change(link, False)

    def _remove(self, link: Link) -> None:
        if link in self.links:
            self.links.discard(link)
            if self.on_change is not None:
                self.on_change(link, True)

    def create(
        self,
        stores: Mapping[str, ObjectStore],
        from_object: str,
        to_object: str,
        body: Any,
    ) -> tuple[int, dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise BadAssociations("inputs must be a non-empty list")
        if len(inputs) > 2000:
            raise BadAssociations("Batch input is limited to 2000 inputs")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        started = now_iso()
        for entry in inputs:
            if not isinstance(entry, dict):
                raise BadAssociations("each input must be an object")
            from_id = str((entry.get("from") or {}).get("id", ""))
            to_id = str((entry.get("to") or {}).get("id", ""))
            types = entry.get("types")
            if not isinstance(types, list) or not types:
                raise BadAssociations("types must be a non-empty list")
            missing = [
                (obj, rid)
                for obj, rid in ((from_object, from_id), (to_object, to_id))
                if rid not in stores[obj].records
            ]
            if missing:
                obj, rid = missing[0]
                side = "fromObjectId" if obj == from_object and rid == from_id else "toObjectId"
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "subCategory": "crm.associations.INVALID_OBJECT_IDS",
                        "message": f"No {stores[obj].label} with ID {rid} exists",
                        "context": {side: [rid]},
                    }
                )
                continue
            labels: list[str] = []
            for kind in types:
                category = str(kind.get("associationCategory", "HUBSPOT_DEFINED"))
                type_id = kind.get("associationTypeId")
                if category not in CATEGORIES or not isinstance(type_id, int):
                    raise BadAssociations(f"invalid association type {kind!r}")
                self._add((from_object, from_id, to_object, to_id, f"{category}:{type_id}"))
            results.append(
                {
                    "fromObjectTypeId": TYPE_IDS[from_object],
                    "fromObjectId": int(from_id) if from_id.isdigit() else from_id,
                    "toObjectTypeId": TYPE_IDS[to_object],
                    "toObjectId": int(to_id) if to_id.isdigit() else to_id,
                    "labels": labels,
                }
            )
        body_out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": now_iso(),
        }
        if errors:
            body_out["errors"] = errors
            body_out["numErrors"] = len(errors)
        if errors and not results:
            return 400, {**errors[0], "errors": errors}
        return (207 if errors else 201), body_out

    def archive(self, from_object: str, to_object: str, body: Any) -> None:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise BadAssociations("inputs must be a non-empty list")
        if len(inputs) > 2000:
            raise BadAssociations("Batch input is limited to 2000 inputs")
        pairs: set[tuple[str, str]] = set()
        for entry in inputs:
            source = entry.get("from") if isinstance(entry, dict) else None
            targets = entry.get("to") if isinstance(entry, dict) else None
            if not isinstance(source, dict) or "id" not in source:
                raise BadAssociations("each input needs from.id")
            if not isinstance(targets, list) or not targets:
                raise BadAssociations("to must be a non-empty list of {id}")
            for target in targets:
                if not isinstance(target, dict) or "id" not in target:
                    raise BadAssociations("to must be a non-empty list of {id}")
                pairs.add((str(source["id"]), str(target["id"])))
        for link in sorted(self.links):
            if (link[0], link[2]) == (from_object, to_object) and (link[1], link[3]) in pairs:
                self._remove(link)

    def view(
        self, stores: Mapping[str, ObjectStore], key_of: Callable[[Record], str]
    ) -> list[dict[str, Any]]:
        out = []
        for from_object, from_id, to_object, to_id, kind in sorted(self.links):
            child = stores[from_object].records.get(from_id)
            parent = stores[to_object].records.get(to_id)
            if child is None or parent is None:
                continue
            out.append(
                {
                    "from": from_object,
                    "from_key": key_of(child),
                    "to": to_object,
                    "to_key": key_of(parent),
                    "type": kind,
                }
            )
        return out

    def read(self, from_object: str, to_object: str, body: Any) -> dict[str, Any]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise BadAssociations("inputs must be a non-empty list")
        if len(inputs) > 1000:
            raise BadAssociations("Batch input is limited to 1000 inputs")
        results: list[dict[str, Any]] = []
        for entry in inputs:
            from_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
            found: dict[str, list[dict[str, Any]]] = {}
            for f_obj, f_id, t_obj, t_id, kind in sorted(self.links):
                if (f_obj, f_id, t_obj) == (from_object, from_id, to_object):
                    category, _, type_id = kind.partition(":")
                    found.setdefault(t_id, []).append(
                        {"category": category, "typeId": int(type_id), "label": None}
                    )
            if found:
                results.append(
                    {
                        "from": {"id": from_id},
                        "to": [
                            {"toObjectId": int(t) if t.isdigit() else t, "associationTypes": k}
                            for t, k in found.items()
                        ],
                    }
                )
        return {"status": "COMPLETE", "results": results}

    def move(self, from_object: str, from_id: str, to_object: str, to_id: str, kind: str) -> None:
        """A sales rep sets a record's parent: its links of ``kind`` to ``to_object`` now name
        ``to_id`` only (an empty ``to_id``: none)."""
        wanted = (from_object, from_id, to_object, to_id, kind)
        for link in sorted(self.links):
            if link[:3] == (from_object, from_id, to_object) and link[4] == kind and link != wanted:
                self._remove(link)
        if to_id:
            self._add(wanted)
