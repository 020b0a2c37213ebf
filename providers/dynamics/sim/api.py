"""The Web API resources of the simulated environment: rows by key, ``$batch``, metadata.

``handle`` runs one request (also each request inside a ``$batch``) and returns its answer;
writes it applies are listed in ``Context.acks`` for the simulator to acknowledge. Callers hold
the simulator's lock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.dynamics.defaults import MAX_BATCH
from providers.dynamics.links import LOOKUPS, NAVIGATION
from providers.dynamics.odata import Key, parse_key
from providers.dynamics.sim.annotations import wanted
from providers.dynamics.sim.checks import check, payload_problem
from providers.dynamics.sim.metadata import (
    MetadataError,
    attribute_from_body,
    attribute_metadata,
    key_from_body,
    key_metadata,
    metadata_id,
    option_set,
)
from providers.dynamics.sim.schema import TableDef
from providers.dynamics.sim.store import BadKey, Lookup, Record, TableStore
from providers.dynamics.sim.tracking import tracked, wants_tracking
from providers.simulation import SimResponse, empty_response, json_response

Query = Mapping[str, list[str]]
RejectRule = Callable[[Mapping[str, Any]], str | None]
_DEFINITIONS = re.compile(
    r"^EntityDefinitions\((?P<key>[^)]*)\)"
    r"(?:/(?P<nav>Attributes|Keys)(?:/Microsoft\.Dynamics\.CRM\.(?P<cast>\w+))?)?$"
)
_BIND = re.compile(r"(?:^|/)(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?P<key>[^)]*)\)$")
BIND = "@odata.bind"
_RECORD = re.compile(r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$")


@dataclass
class Context:
    root: str
    """``http://host/api/data/v9.2``: the service root in answers."""
    acks: list[tuple[str, str | None, str]] = field(default_factory=list)


def dv_error(status: int, code: str, message: str) -> SimResponse:
    response = json_response(status, {"error": {"code": code, "message": message}})
    response.headers.update(
        {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0"}
    )
    return response


def _select(query: Query) -> list[str] | None:
    values = query.get("$select")
    return [s.strip() for s in values[0].split(",") if s.strip()] if values else None


class DataApi:
    def __init__(
        self,
        stores: dict[str, TableStore],
        rejected: RejectRule,
        enforce_required: bool = False,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.stores = stores
        self.rejected = rejected
        self.enforce_required = enforce_required
        self.max_batch = max_batch
        self.counts = {"batches": 0, "operations": 0, "refused_writes": 0}
        """``refused_writes``: writes refused for a value or a column (type, length, choice,
        unknown or read-only column, required column)."""

    # one request -------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        resource: str,
        query: Query,
        headers: Mapping[str, str],
        body: str,
        ctx: Context,
    ) -> SimResponse:
        self.counts["operations"] += 1
        definitions = _DEFINITIONS.match(resource)
        if definitions is not None:
            return self._definitions(method, definitions, query, body, ctx)
        match = _RECORD.match(resource)
        store = self.stores.get(match["set"]) if match else None
        if match is None or store is None:
            segment = resource.split("(")[0].split("/")[0]
            return dv_error(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")
        try:
            if match["key"] is None:
                if method == "POST":
                    return self._create(store, headers, body, query, ctx)
                if method == "GET" and wants_tracking(headers, query):
                    newest = next(store.versions)
                    return tracked(store, query, headers, ctx.root, _select(query), newest)
                if method == "GET":
                    return self._list(store, query, headers, ctx)
            else:
                key = parse_key(match["key"])
                if method == "GET":
                    return self._get(store, key, query, headers, ctx)
                if method == "PATCH":
                    return self._patch(store, key, headers, body, query, ctx)
                if method == "DELETE":
                    return self._delete(store, key, ctx)
        except (ValueError, BadKey) as exc:
            return dv_error(400, "0x80040203", f"Invalid key: {exc}")
        return dv_error(
            405, "0x80060888", f"The requested resource does not support http method '{method}'."
        )

    def _values(self, store: TableStore, body: str) -> dict[str, Any] | SimResponse:
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError as exc:
            problem = payload_problem(store.table, f"Invalid JSON. {exc}")
            return dv_error(problem.status, problem.code, problem.message)
        if not isinstance(data, dict):
            problem = payload_problem(store.table, "A JSON object was expected in the body.")
            return dv_error(problem.status, problem.code, problem.message)
        return {k: v for k, v in data.items() if not k.startswith("@") and BIND not in k}

    def _binds(self, store: TableStore, body: str) -> dict[str, Lookup | None] | SimResponse:
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return {}
        return self.lookups(store, data if isinstance(data, dict) else {})

    def lookups(
        self, store: TableStore, data: Mapping[str, Any]
    ) -> dict[str, Lookup | None] | SimResponse:
        """The ``<navigation property>@odata.bind`` entries of a body as lookup column → the
        record it names, each a record that exists (null empties the lookup): an undeclared
        property is a 400, a missing record a 404, as Dataverse answers."""
        out: dict[str, Lookup | None] = {}
        for name, value in data.items():
            if not name.endswith(BIND):
                continue
            nav = name.removesuffix(BIND)
            declared = NAVIGATION.get((store.table.entity_set, nav))
            column, logical = LOOKUPS.get((store.table.entity_set, nav), ("", ""))
            if declared is None:
                return dv_error(
                    400, "0x80060888",
                    f"An undeclared property '{nav}' which only has property annotations in the "
                    "payload but no property value was found in the payload.",
                )  # fmt: skip
            if value is None:
                out[column] = None
                continue
            match = _BIND.search(value) if isinstance(value, str) else None
            target = self.stores.get(match["set"]) if match else None
            if match is None or target is None or match["set"] != declared:
                return dv_error(400, "0x80060888", f"Invalid reference for '{name}': {value!r}")
            try:
                key = parse_key(match["key"])
            except (ValueError, BadKey) as exc:
                return dv_error(400, "0x80040203", f"Invalid key: {exc}")
            parent = target.find(key)
            if parent is None:
                return self._not_found(target, key)
            out[column] = Lookup(nav, target.table.entity_set, logical, parent.id)
        return out

    def _refused(
        self, store: TableStore, values: dict[str, Any], creating: bool
    ) -> SimResponse | None:
        problem = check(store.table, values, creating, self.enforce_required)
        if problem is not None:
            self.counts["refused_writes"] += 1
            return dv_error(problem.status, problem.code, problem.message)
        field_name = self.rejected(values)
        if field_name is not None:
            return dv_error(
                400, "0x80040265",
                f"The value of '{field_name}' was refused by a validation rule of this "
                f"environment: {values[field_name]!r}",
            )  # fmt: skip
        return None

    def _duplicate(
        self, store: TableStore, values: Mapping[str, Any], record_id: str | None
    ) -> SimResponse | None:
        columns = store.conflict(values, record_id)
        if columns is None:
            return None
        shown = ", ".join(str(values.get(c, "")) for c in columns)
        return dv_error(
            412, "0x80040237",
            f"A record that has the attribute values {shown} already exists. The entity key "
            f"{'_'.join(columns)}_key requires that this set of attributes contains unique "
            "values. Select unique values and try again.",
        )  # fmt: skip

    def _not_found(self, store: TableStore, key: Key) -> SimResponse:
        logical = store.table.logical_name
        if isinstance(key, str):
            return dv_error(404, "0x80040217", f"{logical} With Id = {key} Does Not Exist")
        message = f"A record with the specified key values does not exist in {logical} entity"
        return dv_error(404, "0x80060891", message)

    def _patch(
        self,
        store: TableStore,
        key: Key,
        headers: Mapping[str, str],
        body: str,
        query: Query,
        ctx: Context,
    ) -> SimResponse:
        values = self._values(store, body)
        if isinstance(values, SimResponse):
            return values
        binds = self._binds(store, body)
        if isinstance(binds, SimResponse):
            return binds
        record = store.find(key)
        if_match, if_none = headers.get("if-match"), headers.get("if-none-match")
        if record is None and if_match == "*":
            return self._not_found(store, key)
        if record is not None and if_none == "*":
            return dv_error(412, "0x80040237", "A record with matching key values already exists.")
        key_values = {c: str(v) for c, v in key.items()} if isinstance(key, dict) else {}
        for column, value in key_values.items():
            if column in values and str(values[column]) != value:
                problem = payload_problem(
                    store.table, f"The value of '{column}' in the body does not match the key."
                )
                return dv_error(problem.status, problem.code, problem.message)
        writes = {**key_values, **values} if record is None else values
        refusal = self._refused(store, writes, record is None) or self._duplicate(
            store, writes, None if record is None else record.id
        )
        if refusal is not None:
            return refusal
        created = record is None
        if record is None:
            record = store.create(writes, key if isinstance(key, str) else None, binds)
        else:
            store.update(record, writes, binds)
        op = "update" if if_match == "*" else "create" if if_none == "*" else "upsert"
        ctx.acks.append((store.table.entity_set, store.key_of(record), op))
        return self._written(store, record, created, headers, query, ctx)

    def _create(
        self, store: TableStore, headers: Mapping[str, str], body: str, query: Query, ctx: Context
    ) -> SimResponse:
        values = self._values(store, body)
        if isinstance(values, SimResponse):
            return values
        binds = self._binds(store, body)
        if isinstance(binds, SimResponse):
            return binds
        refusal = self._refused(store, values, True) or self._duplicate(store, values, None)
        if refusal is not None:
            return refusal
        record = store.create(values, lookups=binds)
        ctx.acks.append((store.table.entity_set, store.key_of(record), "create"))
        return self._written(store, record, True, headers, query, ctx)

    def _written(
        self,
        store: TableStore,
        record: Record,
        created: bool,
        headers: Mapping[str, str],
        query: Query,
        ctx: Context,
    ) -> SimResponse:
        if "return=representation" in (headers.get("prefer") or "").lower():
            response = self._representation(
                store, record, query, headers, ctx, 201 if created else 200
            )
            response.headers["Preference-Applied"] = "return=representation"
            return response
        entity = f"{ctx.root}/{store.table.entity_set}({record.id})"
        return empty_response(204, {"OData-Version": "4.0", "OData-EntityId": entity})

    def _representation(
        self,
        store: TableStore,
        record: Record,
        query: Query,
        headers: Mapping[str, str],
        ctx: Context,
        status: int = 200,
    ) -> SimResponse:
        select = _select(query)
        columns = ",".join(select) if select else ""
        context = f"{ctx.root}/$metadata#{store.table.entity_set}({columns})/$entity"
        body = {"@odata.context": context, **store.native(record, select, wanted(headers))}
        response = json_response(status, body, {"OData-Version": "4.0", "ETag": record.etag})
        response.headers["Content-Type"] = "application/json; odata.metadata=minimal"
        return response

    def _get(
        self, store: TableStore, key: Key, query: Query, headers: Mapping[str, str], ctx: Context
    ) -> SimResponse:
        record = store.find(key)
        if record is None:
            return self._not_found(store, key)
        return self._representation(store, record, query, headers, ctx)

    def _list(
        self, store: TableStore, query: Query, headers: Mapping[str, str], ctx: Context
    ) -> SimResponse:
        select = _select(query)
        top = int((query.get("$top") or ["5000"])[0])
        asked = wanted(headers)
        rows = [store.native(r, select, asked) for r in list(store.records.values())[:top]]
        context = f"{ctx.root}/$metadata#{store.table.entity_set}"
        return json_response(200, {"@odata.context": context, "value": rows})

    def _delete(self, store: TableStore, key: Key, ctx: Context) -> SimResponse:
        record = store.find(key)
        if record is None:
            return self._not_found(store, key)
        ctx.acks.append((store.table.entity_set, store.key_of(record), "archive"))
        store.delete(record)
        return empty_response(204, {"OData-Version": "4.0"})

    def _definitions(
        self, method: str, match: re.Match[str], query: Query, body: str, ctx: Context
    ) -> SimResponse:
        try:
            key = parse_key(match["key"])
        except ValueError as exc:
            return dv_error(400, "0x80040203", f"Invalid key: {exc}")
        logical = key.get("LogicalName") if isinstance(key, dict) else None
        store = next((s for s in self.stores.values() if s.table.logical_name == logical), None)
        if store is None:
            return dv_error(404, "0x80040217", f"Could not find an entity with name {logical}")
        table, nav = store.table, match["nav"]
        if method == "POST" and nav is not None and match["cast"] is None:
            return self._define(store, nav, body, ctx)
        if method != "GET":
            return dv_error(
                405,
                "0x80060888",
                f"The requested resource does not support http method '{method}'.",
            )
        if nav is None:
            return json_response(200, {
                "@odata.context": f"{ctx.root}/$metadata#EntityDefinitions/$entity",
                "MetadataId": metadata_id(table.logical_name),
                "LogicalName": table.logical_name, "EntitySetName": table.entity_set,
                "PrimaryIdAttribute": table.primary_key,
                "PrimaryNameAttribute": table.primary_name,
            })  # fmt: skip
        if nav == "Keys":
            return json_response(200, {
                "@odata.context": f"{ctx.root}/$metadata#EntityDefinitions('{logical}')/Keys",
                "value": [key_metadata(table, k) for k in table.keys],
            })  # fmt: skip
        return json_response(200, {
            "@odata.context": f"{ctx.root}/$metadata#EntityDefinitions('{logical}')/Attributes",
            "value": self._attributes(table, match["cast"], query),
        })  # fmt: skip

    @staticmethod
    def _attributes(table: TableDef, cast: str | None, query: Query) -> list[dict[str, Any]]:
        select = _select(query)
        expand = (query.get("$expand") or [""])[0]
        rows = []
        for attribute in table.attributes:
            meta = attribute_metadata(table, attribute)
            if cast is not None and meta["@odata.type"] != f"#Microsoft.Dynamics.CRM.{cast}":
                continue
            if select:
                meta = {
                    k: v for k, v in meta.items() if k in (*select, "@odata.type", "MetadataId")
                }
            if cast is not None and "GlobalOptionSet" in expand:
                meta["GlobalOptionSet"] = None
            if cast is not None and re.search(r"(^|,)\s*OptionSet\b", expand):
                meta["OptionSet"] = option_set(table, attribute)
            rows.append(meta)
        return rows

    def _define(self, store: TableStore, nav: str, body: str, ctx: Context) -> SimResponse:
        """``POST …/Attributes`` (a custom column) or ``POST …/Keys`` (an alternate key)."""
        try:
            data = json.loads(body) if body.strip() else None
        except ValueError as exc:
            return dv_error(400, "0x80048d19", f"Invalid JSON. {exc}")
        if not isinstance(data, dict):
            return dv_error(400, "0x80048d19", "A JSON object was expected in the body.")
        table = store.table
        entity = f"{ctx.root}/EntityDefinitions({metadata_id(table.logical_name)})"
        try:
            if nav == "Attributes":
                attribute = attribute_from_body(table, data)
                store.add_attribute(attribute)
                made = f"Attributes({metadata_id(table.logical_name, attribute.name)})"
            else:
                key = store.add_key(key_from_body(table, data))
                made = f"Keys({metadata_id(table.logical_name, 'key', key.name)})"
        except MetadataError as exc:
            return dv_error(400, exc.code, str(exc))
        return empty_response(204, {"OData-Version": "4.0", "OData-EntityId": f"{entity}/{made}"})
