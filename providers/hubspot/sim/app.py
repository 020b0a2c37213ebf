"""An in-memory HubSpot account speaking CRM v3 (the official OpenAPI shapes) over HTTP.

Options (``make_simulator``; the limits and tokens also through ``POST /_sim/config``):
``tokens`` accepted private-app tokens (default ``["demo-token"]``); ``oauth_clients``
``{client_id: {"secret", "refresh_token"}}``; ``token_ttl`` seconds an OAuth access token lives
(1800); ``rate_limit_requests`` / ``rate_limit_seconds`` the rolling window per app (100 / 10);
``daily_limit`` (250000); ``send_retry_after`` add ``Retry-After`` to 429s (HubSpot may not);
``custom_properties`` ``{object: [name | property-create body]}``: what the account holds beyond
HubSpot's standard properties (``fields/<object>.json``), as ``POST /crm/v3/properties/{object}``
would create it; ``ack_property`` the property whose value names a record in ``/_sim/acks`` and
``/_sim/view`` (default: the HubSpot id); ``strict_options`` refuse enumeration values outside
the property's options, as HubSpot does (default true); ``multi_status_create``,
``echo_trace_ids`` and ``strict`` (every documented failure behaviour at once) as
``fidelity.py`` describes them; ``batch_fault`` fails batch create/update/upsert calls midway
(``providers.simulation.batchfault``; ``/_sim/stats`` counts ``batch_faults``).
``POST /_sim/config {"expire_tokens": true}`` expires every issued OAuth token at once;
``{"revoke_refresh_tokens": true | NEW}`` revokes the OAuth refresh tokens (token requests then
answer 400 ``BAD_REFRESH_TOKEN``; NEW is the one a new consent gives);
``{"webhook_url": URL, "webhook_secret": SECRET}`` subscribes to signed webhooks
(``providers.hubspot.sim.webhooks``). ``POST /_sim/edit {"object", "action": "create" | "update" |
"delete", "id", "properties", "associations": {TO_OBJECT: {"id", "type"}}}`` changes a record
as a sales rep in HubSpot's UI would (webhooks say ``changeSource: CRM_UI``; moving an
association stamps the record modified, as the primary company's ``associatedcompanyid`` does,
and sends ``associationChange`` events for the association removed and the one made);
``/crm/v3/objects/{type}/search``
filters and sorts by modification date (``providers.hubspot.sim.search``). An archived record
goes to the recycle bin: ``GET /crm/v3/objects/{type}?archived=true`` lists it, with
``archivedAt`` (``providers.hubspot.sim.listing``), and ``GET …/{id}?archived=true`` reads it.
``POST /crm/v4/associations/{from}/{to}/batch/create`` links records and ``…/batch/archive``
unlinks them (``providers.hubspot.sim.associations``), listed by ``GET /_sim/associations``.
``/_sim/stats`` counts ``refused_writes`` (write calls refused for property values) and
``refused_values`` (the values named in them).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from providers.hubspot.sim.associations import AssociationStore, BadAssociations, Link
from providers.hubspot.sim.auth import Refusal, SimAuth
from providers.hubspot.sim.batch import BadBatch, BatchRunner, missing
from providers.hubspot.sim.fidelity import FIDELITY_OPTIONS, fidelity
from providers.hubspot.sim.guard import HubSpotPolicy, UnknownObject, error_response, refused
from providers.hubspot.sim.listing import list_page
from providers.hubspot.sim.schema import (
    OBJECTS,
    check_definition,
    custom_property,
    standard_properties,
)
from providers.hubspot.sim.search import search
from providers.hubspot.sim.store import ObjectStore, Record
from providers.hubspot.sim.webhooks import WebhookSender
from providers.simulation import SimApp, SimRequest, SimResponse, empty_response, json_response
from providers.simulation.app import ACTIONS
from providers.simulation.batchfault import BatchFaults
from providers.simulation.guard import Guard
from syncsvc.errors import ConfigError

OBJECT_TYPES = {
    alias: name
    for name, aliases in {
        "contacts": ("contact", "0-1"),
        "companies": ("company", "0-2"),
        "deals": ("deal", "0-3"),
    }.items()
    for alias in (name, *aliases)
}
RUNTIME_OPTIONS = frozenset(
    {"tokens", "token_ttl", "rate_limit_requests", "rate_limit_seconds", "daily_limit"}
    | {
        "send_retry_after",
        "strict_options",
        "expire_tokens",
        "revoke_refresh_tokens",
        "webhook_url",
        "webhook_secret",
        "batch_fault",
    }
    | FIDELITY_OPTIONS
)
OPTIONS = (RUNTIME_OPTIONS - ACTIONS) | {
    "oauth_clients",
    "custom_properties",
    "ack_property",
}
WRITE_OPS = frozenset({"create", "update", "upsert"})
"""The batch writes a ``batch_fault`` fails midway (``providers.simulation.batchfault``)."""
INTERNAL_ERROR = "internal error"
OBJECT = r"/crm/v3/objects/(?P<object>[^/]+)"
PROPERTIES = r"/crm/v3/properties/(?P<object>[^/]+)"
ASSOCIATIONS = r"/crm/v4/associations/(?P<from>[^/]+)/(?P<to>[^/]+)"


class HubSpotSim(SimApp):
    name = "hubspot"
    known_options = OPTIONS
    runtime_options = RUNTIME_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.auth = SimAuth(self.options)
        self.ids = itertools.count(1001)
        self.ack_property = self.options.get("ack_property")
        self.refusals = {"refused_writes": 0, "refused_values": 0}
        self.webhooks = WebhookSender()
        self.webhooks.configure(self.options)
        self.change_source = "INTEGRATION"
        """What webhooks name as the source of a change: the API, or ``CRM_UI`` (``/_sim/edit``)."""
        self.stores = self._new_stores()
        self.links = self._new_links()
        self.batch_faults = BatchFaults()
        try:
            fidelity(self.options)  # a strict that is not true or false is refused here
            self.batch_faults.configure(self.options)
        except ValueError as exc:
            raise ConfigError(f"hubspot simulator: {exc}") from None
        self._register_api()

    def _new_stores(self) -> dict[str, ObjectStore]:
        custom = self.options.get("custom_properties") or {}
        strict = bool(self.options.get("strict_options", True))
        unknown = sorted(set(custom) - set(OBJECTS))
        if unknown:
            raise ConfigError(f"hubspot simulator: custom_properties for unknown objects {unknown}")
        stores = {}
        for object_name in OBJECTS:
            extra = [custom_property(p) for p in custom.get(object_name, [])]
            properties = [*standard_properties(object_name), *extra]
            store = ObjectStore(object_name, properties, self.ids, strict)
            store.on_change = self._record_changed
            stores[object_name] = store
        return stores

    def _record_changed(
        self, object_name: str, record_id: str, action: str, changed: Mapping[str, str]
    ) -> None:
        self.webhooks.record_change(object_name, record_id, action, changed, self.change_source)

    def _new_links(self) -> AssociationStore:
        return AssociationStore(on_change=self._link_changed)

    def _link_changed(self, link: Link, removed: bool) -> None:
        from_object, from_id, to_object, to_id, kind = link
        type_id = int(kind.rpartition(":")[2])
        self.webhooks.association_change(
            from_object, from_id, to_object, to_id, type_id, removed, self.change_source
        )

    def key_of(self, record: Record) -> str:
        """How acks and ``/_sim/view`` name a record: its ``ack_property`` value, else its id."""
        if self.ack_property:
            return record.properties.get(self.ack_property) or record.id
        return record.id

    def _refused(self, exc: BadBatch) -> BadBatch:
        """Count a write refused for property values (for ``/_sim/stats``)."""
        if exc.invalid:
            with self.lock:
                self.refusals["refused_writes"] += 1
                self.refusals["refused_values"] += len(exc.invalid)
        return exc

    def store(self, object_type: str) -> ObjectStore:
        name = OBJECT_TYPES.get(object_type.lower())
        if name is None:
            raise UnknownObject(object_type)
        return self.stores[name]

    # routing -----------------------------------------------------------------------------
    def _register_api(self) -> None:
        self.add_route("POST", "/oauth/v1/token", self._token)
        self.add_route("POST", "/_sim/edit", self._edit)
        api: list[tuple[str, str, Callable[[SimRequest], SimResponse]]] = [
            ("POST", OBJECT + r"/batch/(?P<op>create|update|upsert|archive|read)", self._batch),
            ("POST", OBJECT + r"/search", self._search),
            ("POST", ASSOCIATIONS + r"/batch/create", self._associate),
            ("POST", ASSOCIATIONS + r"/batch/read", self._read_associations),
            ("POST", ASSOCIATIONS + r"/batch/archive", self._archive_associations),
            ("POST", OBJECT, self._create_one),
            ("GET", OBJECT, self._list),
            ("GET", OBJECT + r"/(?P<id>[^/]+)", self._get_one),
            ("PATCH", OBJECT + r"/(?P<id>[^/]+)", self._update_one),
            ("DELETE", OBJECT + r"/(?P<id>[^/]+)", self._archive_one),
            ("GET", PROPERTIES, self._list_properties),
            ("POST", PROPERTIES, self._create_property),
            ("GET", PROPERTIES + r"/(?P<name>[^/]+)", self._get_property),
        ]
        guard = Guard(self, HubSpotPolicy(self.auth))
        for method, pattern, handler in api:
            self.add_route(method, pattern, guard(handler))

    # envelopes ---------------------------------------------------------------------------
    def error_response(
        self, status: int, message: str, category: str | None = None, **extra: Any
    ) -> SimResponse:
        return error_response(status, message, category, **extra)

    def rate_limited_response(self) -> SimResponse:
        with self.lock:
            return refused(self.auth.limited(daily=False))

    # OAuth -------------------------------------------------------------------------------
    def _token(self, request: SimRequest) -> SimResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        with self.lock:
            issued = self.auth.issue(form)
        if isinstance(issued, Refusal):
            body = {
                "status": issued.category,
                "message": issued.message,
                "correlationId": self.correlation_id(),
            }
            return json_response(issued.status, body)
        return json_response(200, issued)

    # objects -----------------------------------------------------------------------------
    def _batch(self, request: SimRequest) -> SimResponse:
        body, op = request.json(), request.params["op"]
        with self.lock:
            store = self.store(request.params["object"])
            behaviour = fidelity(self.options)
            runner = BatchRunner(store, self.ack, self.rejected_field, self.key_of, behaviour)
            fault = None
            if op in WRITE_OPS and isinstance(body, dict):
                inputs, fault = self.batch_faults.cut(body.get("inputs"))
                body = {**body, "inputs": inputs}
            try:
                if fault is None or fault.after > 0:
                    outcome = runner.run(op, body)
            except BadBatch as exc:
                raise self._refused(exc) from None
        if fault is not None:
            return fault.answer(lambda status: self.error_response(status, INTERNAL_ERROR))
        if outcome.body is None:
            return empty_response(outcome.status)
        return json_response(outcome.status, outcome.body)

    def _associate(self, request: SimRequest) -> SimResponse:
        body = request.json()
        with self.lock:
            from_store = self.store(request.params["from"])
            to_store = self.store(request.params["to"])
            try:
                status, answer = self.links.create(
                    self.stores, from_store.object_name, to_store.object_name, body
                )
            except BadAssociations as exc:
                return self.error_response(400, str(exc), "VALIDATION_ERROR")
        return json_response(status, answer)

    def _read_associations(self, request: SimRequest) -> SimResponse:
        with self.lock:
            from_store = self.store(request.params["from"])
            to_store = self.store(request.params["to"])
            try:
                answer = self.links.read(
                    from_store.object_name, to_store.object_name, request.json()
                )
            except BadAssociations as exc:
                return self.error_response(400, str(exc), "VALIDATION_ERROR")
        return json_response(200, answer)

    def _archive_associations(self, request: SimRequest) -> SimResponse:
        with self.lock:
            from_store = self.store(request.params["from"])
            to_store = self.store(request.params["to"])
            try:
                self.links.archive(from_store.object_name, to_store.object_name, request.json())
            except BadAssociations as exc:
                return self.error_response(400, str(exc), "VALIDATION_ERROR")
        return empty_response(204)

    def associations(self) -> list[dict[str, Any]]:
        return self.links.view(self.stores, self.key_of)

    def _search(self, request: SimRequest) -> SimResponse:
        body = request.json()
        with self.lock:
            return json_response(200, search(self.store(request.params["object"]), body))

    def _edit(self, request: SimRequest) -> SimResponse:
        """A change made in HubSpot itself, as a sales rep would (not through the API)."""
        body = request.json()
        if not isinstance(body, dict):
            return self.error_response(400, "expected a JSON object")
        action, record_id = body.get("action", "update"), str(body.get("id", ""))
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            return self.error_response(400, "properties must be an object")
        with self.lock:
            store = self.store(str(body.get("object", "")))
            invalid = store.check(properties)
            if invalid:
                return self.error_response(400, BadBatch.for_values(invalid).message)
            self.change_source = "CRM_UI"
            try:
                if action == "create":
                    return json_response(201, store.create(properties).view())
                record = store.records.get(record_id)
                if record is None:
                    return self.error_response(404, f"Object {record_id} not found")
                if action == "delete":
                    store.archive(record)
                    return empty_response(204)
                moved = body.get("associations") or {}
                if not isinstance(moved, dict):
                    return self.error_response(400, "associations must be an object")
                for to_object, link in moved.items():
                    if not isinstance(link, dict) or to_object not in self.stores:
                        return self.error_response(400, f"bad association to {to_object!r}")
                    kind = str(link.get("type", "HUBSPOT_DEFINED:279"))
                    target = str(link.get("id") or "")
                    if target and target not in self.stores[to_object].records:
                        return self.error_response(404, f"Object {target} not found")
                    self.links.move(store.object_name, record.id, to_object, target, kind)
                store.update(record, properties)
                return json_response(200, record.view())
            finally:
                self.change_source = "INTEGRATION"

    def _properties_of(self, request: SimRequest) -> dict[str, str]:
        body = request.json()
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise missing("properties")
        return properties

    def _create_one(self, request: SimRequest) -> SimResponse:
        properties = self._properties_of(request)
        with self.lock:
            store = self.store(request.params["object"])
            invalid = store.check(properties)
            if invalid:
                raise self._refused(BadBatch.for_values(invalid))
            clash = store.conflict(properties, None)
            if clash is not None:
                message = f"{store.label} already exists. Existing ID: {clash[1]}"
                return self.error_response(409, message)
            record = store.create(properties)
            self.ack(store.object_name, self.key_of(record), "create")
            return json_response(201, record.view())

    def _list(self, request: SimRequest) -> SimResponse:
        with self.lock:
            return json_response(
                200, list_page(self.store(request.params["object"]), request.query)
            )

    def _find(self, request: SimRequest) -> tuple[ObjectStore, Record | None]:
        store = self.store(request.params["object"])
        return store, store.find(request.params["id"], request.arg("idProperty"))

    def _not_found(self, request: SimRequest) -> SimResponse:
        return self.error_response(404, f"Object {request.params['id']} not found")

    def _get_one(self, request: SimRequest) -> SimResponse:
        wanted = request.arg("properties")
        with self.lock:
            store, record = self._find(request)
            if (request.arg("archived") or "").lower() == "true":
                record = store.archived.get(request.params["id"])
            if record is None:
                return self._not_found(request)
            return json_response(200, record.view(only=wanted.split(",") if wanted else None))

    def _update_one(self, request: SimRequest) -> SimResponse:
        properties = self._properties_of(request)
        with self.lock:
            store, record = self._find(request)
            if record is None:
                return self._not_found(request)
            invalid = store.check(properties)
            if invalid:
                raise self._refused(BadBatch.for_values(invalid))
            clash = store.conflict(properties, record.id)
            if clash is not None:
                message = f"{store.label} already exists. Existing ID: {clash[1]}"
                return self.error_response(409, message)
            store.update(record, properties)
            self.ack(store.object_name, self.key_of(record), "update")
            return json_response(200, record.view())

    def _archive_one(self, request: SimRequest) -> SimResponse:
        with self.lock:
            store, record = self._find(request)
            if record is not None:
                self.ack(store.object_name, self.key_of(record), "archive")
                store.archive(record)
        return empty_response(204)

    # properties --------------------------------------------------------------------------
    def _list_properties(self, request: SimRequest) -> SimResponse:
        with self.lock:
            store = self.store(request.params["object"])
            return json_response(200, {"results": list(store.definitions.values())})

    def _get_property(self, request: SimRequest) -> SimResponse:
        with self.lock:
            definition = self.store(request.params["object"]).definitions.get(
                request.params["name"]
            )
            if definition is None:
                return self.error_response(404, f"Property {request.params['name']} does not exist")
            return json_response(200, definition)

    def _create_property(self, request: SimRequest) -> SimResponse:
        body = request.json()
        with self.lock:
            store = self.store(request.params["object"])
            problem = check_definition(body, store.definitions)
            if problem is not None:
                return self.error_response(400, problem)
            if body["name"] in store.definitions:
                return self.error_response(409, f"Property named '{body['name']}' already exists.")
            definition = custom_property(body)
            store.add_property(definition)
            return json_response(201, definition)

    # SimApp hooks ------------------------------------------------------------------------
    def dump(self, object_name: str) -> list[dict[str, Any]]:
        try:
            store = self.store(object_name)
        except UnknownObject:
            return []
        return [record.view() for record in store.records.values()]

    def view(self, object_name: str) -> list[dict[str, Any]]:
        return [
            {
                "id": r["id"],
                "key": r["properties"].get(self.ack_property) if self.ack_property else r["id"],
                "fields": r["properties"],
            }
            for r in self.dump(object_name)
        ]

    def reset(self) -> None:
        self.stores = self._new_stores()
        self.links = self._new_links()
        self.refusals = dict.fromkeys(self.refusals, 0)
        self.batch_faults.reset()
        self.auth.reset_limits()

    def configure(self, options: Mapping[str, Any]) -> None:
        fidelity({**self.options, **options})  # a bad strict is refused before it is stored
        super().configure(options)
        self.auth.configure(options)
        self.webhooks.configure(options)
        self.batch_faults.configure(options)
        if "strict_options" in options:
            for store in self.stores.values():
                store.strict_options = bool(options["strict_options"])

    def extra_stats(self) -> dict[str, Any]:
        return {
            "max_in_window": self.auth.max_in_window(),
            "rate_limit_requests": self.auth.limit,
            "rate_limit_seconds": self.auth.seconds,
            **self.auth.counts,
            **self.refusals,
            **self.webhooks.counts,
            "batch_faults": self.batch_faults.met,
            "records": {name: len(store.records) for name, store in self.stores.items()},
            "archived": {name: len(store.archived) for name, store in self.stores.items()},
        }


def make_simulator(options: Mapping[str, Any] | None = None) -> HubSpotSim:
    return HubSpotSim(options)


__all__ = ["HubSpotSim", "make_simulator"]
