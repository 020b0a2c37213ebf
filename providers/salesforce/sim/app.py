"""An in-memory Salesforce org speaking the REST API (sObject Collections, describe, SOQL, OAuth,
Tooling API custom fields).

The org holds the standard fields of Contact, Account, Opportunity and Lead (``fields/*.json``)
and no custom field unless told. Options (``make_simulator``; the runtime ones also through
``POST /_sim/config``): ``tokens`` accepted fixed session ids (``["demo-token"]``);
``oauth_clients`` ``{client_id: {"secret", "refresh_token"}}``; ``token_ttl`` seconds a session
lives (7200); ``rate_limit_requests`` / ``rate_limit_seconds`` the short window (25 / 1 s,
refused like the concurrency limit); ``daily_limit`` the API allocation (100,000);
``custom_fields`` ``{SObject: [name | describe-shaped field]}`` (e.g. ``{"name": "Ext_Id__c",
"type": "string", "length": 255, "externalId": true, "unique": true}``);
``unique_external_ids`` (true: unique external id fields refuse duplicates; false lets them
exist, so upserts meet ``DUPLICATE_EXTERNAL_ID``); ``strict_picklists`` (true: StageName is
restricted); ``ack_field`` the field whose value acknowledgements carry (default: the record's
first external id field, else its Id); ``lock_failures`` the next N record writes fail
``UNABLE_TO_LOCK_ROW``; ``batch_fault`` fails sObject Collections writes midway
(``providers.simulation.batchfault``; ``/_sim/stats`` counts ``batch_faults``). Actions:
``expire_tokens``; ``revoke_refresh_tokens`` (true | NEW: refresh-token requests then answer
400 ``invalid_grant`` "expired access/refresh token"; NEW is the one a new consent gives).

Two hosts: the main one is the org's My Domain (its token endpoint, its API, the
``instance_url`` of every token answer); the second (``login``, its own port: ``GET
/_sim/hosts``) stands for login.salesforce.com / test.salesforce.com, which refuses the
client-credentials flow with 400 ``invalid_grant`` "request not supported on this domain", as
Salesforce does (https://help.salesforce.com/s/articleView?id=000886201). Always on: it is the
real default and costs nothing. ``strict`` is accepted (every documented failure behaviour).

SOQL (``providers.salesforce.sim.query``): ``query`` and ``queryAll`` (the recycle bin too,
``IsDeleted`` true), comparisons, ``ORDER BY``, ``LIMIT``, ``nextRecordsUrl`` pages;
``SystemModstamp`` stamped in whole seconds on every write and deletion. ``POST /_sim/edit
{"object": SObject, "action": "create" | "update" | "delete", "id", "fields"}``: a change made
by a sales rep in Salesforce's UI (no acknowledgement: it is not one of our writes).

Custom fields created through the Tooling API stay across ``/_sim/reset`` (metadata is not
data). Every value the org refuses (unknown field, wrong type, too long, bad picklist value,
read-only, required) is counted in ``/_sim/stats`` as ``refused_calls`` / ``refused``.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from providers.salesforce.defaults import TOKEN_PATH
from providers.salesforce.sim.auth import SimAuth, TokenError
from providers.salesforce.sim.guard import SalesforcePolicy, error_response, refused
from providers.salesforce.sim.query import Locators, run_query
from providers.salesforce.sim.schema import FieldDef, field_from, object_fields, standard_objects
from providers.salesforce.sim.store import ObjectStore, new_id
from providers.salesforce.sim.tooling import describe_entry
from providers.salesforce.sim.writes import BadRequest, Runner
from providers.simulation import MAIN_HOST, SimApp, SimRequest, SimResponse, json_response
from providers.simulation.app import ACTIONS
from providers.simulation.batchfault import BatchFault, BatchFaults
from providers.simulation.guard import Guard
from providers.simulation.strict import strict_options

RUNTIME_OPTIONS = frozenset(
    {"tokens", "token_ttl", "rate_limit_requests", "rate_limit_seconds", "daily_limit"}
    | {"expire_tokens", "revoke_refresh_tokens", "lock_failures", "strict_picklists", "ack_field"}
    | {"batch_fault"}
)
OPTIONS = (RUNTIME_OPTIONS - ACTIONS) | {
    "oauth_clients",
    "custom_fields",
    "unique_external_ids",
}
STRICT_BEHAVIOURS: dict[str, Any] = {}
"""What ``strict: true`` turns on (``providers.simulation.strict``); the login host's refusal of
the client-credentials flow is always on."""
V = r"/services/data/(?P<version>v\d+\.\d)"
LOGIN_HOST = "login"
"""The simulator's second host: login.salesforce.com (and test.salesforce.com) beside the org's
My Domain (``main``)."""
NOT_FOUND = "The requested resource does not exist"
UNAVAILABLE = "Server temporarily unavailable; please try again"


class SalesforceSim(SimApp):
    name = "salesforce"
    known_options = OPTIONS
    runtime_options = RUNTIME_OPTIONS
    extra_hosts = (LOGIN_HOST,)
    version = "v62.0"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(strict_options(options or {}, STRICT_BEHAVIOURS))
        self.auth = SimAuth(self.options)
        self.lock_failures = int(self.options.get("lock_failures", 0))
        self._current = threading.local()
        self.ids = itertools.count(1)
        """Shared by every object and kept across resets: Salesforce never reuses an id."""
        self.created: list[tuple[str, FieldDef]] = []
        """Custom fields made through the Tooling API: metadata, kept across resets."""
        self.refusals: Counter[str] = Counter()
        custom = self.options.get("custom_fields") or {}
        if not isinstance(custom, Mapping) or set(custom) - set(standard_objects()):
            known = ", ".join(standard_objects())
            raise ValueError(f"custom_fields: an object of {{SObject: [fields]}} for {known}")
        self.stores = self._new_stores()
        self.batch_faults = BatchFaults()
        self.batch_faults.configure(self.options)
        self.locators = Locators()
        self._register_api()

    def _new_stores(self) -> dict[str, ObjectStore]:
        custom = self.options.get("custom_fields") or {}
        unique = bool(self.options.get("unique_external_ids", True))
        stores = {}
        for name, spec in standard_objects().items():
            fields = object_fields(name, custom.get(name, []))
            stores[name] = ObjectStore(name, spec.prefix, spec.plural, fields, self.ids, unique)
            stores[name].restrict("StageName", bool(self.options.get("strict_picklists", True)))
        for name, definition in self.created:
            stores[name].add_field(definition, unique)
        return stores

    def store(self, name: str) -> ObjectStore:
        for store_name, store in self.stores.items():
            if store_name.lower() == name.lower():
                return store
        raise BadRequest(404, "NOT_FOUND", NOT_FOUND)

    def runner(self) -> Runner:
        return Runner(
            self.stores,
            self.ack,
            self.rejected_field,
            self.options.get("ack_field"),
            self._lock_failure,
            self._refused,
        )

    def _refused(self, code: str) -> None:
        self.refusals[code] += 1

    def _lock_failure(self) -> bool:
        if self.lock_failures <= 0:
            return False
        self.lock_failures -= 1
        return True

    # routing -----------------------------------------------------------------------------
    def _register_api(self) -> None:
        self.add_route("POST", TOKEN_PATH, self._token)
        self.add_route("POST", "/_sim/edit", self._edit)
        api: list[tuple[str, str, Callable[[SimRequest], SimResponse]]] = [
            ("GET", V + r"/sobjects/(?P<object>\w+)/describe/?", self._describe),
            ("GET", V + r"/sobjects/(?P<object>\w+)/(?P<field>\w+)/(?P<value>[^/]+)", self._by_key),
            ("GET", V + r"/sobjects/(?P<object>\w+)/(?P<id>\w+)", self._by_id),
            ("POST", V + r"/composite/sobjects/?", self._create),
            ("PATCH", V + r"/composite/sobjects/?", self._update),
            ("DELETE", V + r"/composite/sobjects/?", self._delete),
            ("PATCH", V + r"/composite/sobjects/(?P<object>\w+)/(?P<field>\w+)", self._upsert),
            ("GET", V + r"/query/?", self._query),
            ("GET", V + r"/queryAll/?", self._query_all),
            ("GET", V + r"/query/(?P<locator>[\w-]+)", self._more),
            ("GET", V + r"/limits/?", self._limits),
            ("POST", V + r"/tooling/sobjects/CustomField/?", self._create_field),
        ]
        guard = Guard(self, SalesforcePolicy(self.auth, self._refused))
        for method, pattern, handler in api:
            self.add_route(method, pattern, guard(handler))

    # faults ------------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
        host: str = MAIN_HOST,
    ) -> SimResponse:
        self._current.path = raw_path.partition("?")[0]
        return super().handle(method, raw_path, headers, body, host)

    def apply_fault(self) -> SimResponse | None:
        """The token endpoint is login.salesforce.com's in reality: API throttling (the
        ``rate_limit`` fault) never reaches it; outages (``http_error``) do."""
        token_request = getattr(self._current, "path", "") == TOKEN_PATH
        if token_request and self.fault.mode == "rate_limit":
            return None
        return super().apply_fault()

    # envelopes ---------------------------------------------------------------------------
    def error_response(self, status: int, message: str, code: str | None = None) -> SimResponse:
        return error_response(status, message, code)

    def rate_limited_response(self) -> SimResponse:
        with self.lock:
            return refused(self.auth.limited(daily=False))

    # OAuth -------------------------------------------------------------------------------
    def _token(self, request: SimRequest) -> SimResponse:
        """Tokens for the My Domain (``instance_url``), from either host; the login host
        refuses the client-credentials flow."""
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        instance = self.host_url(MAIN_HOST, request)
        with self.lock:
            issued = self.auth.issue(form, instance, at_login_host=request.host == LOGIN_HOST)
        if isinstance(issued, TokenError):
            body = {"error": issued.error, "error_description": issued.description}
            return json_response(issued.status, body)
        return json_response(200, issued)

    # REST --------------------------------------------------------------------------------
    def _describe(self, request: SimRequest) -> SimResponse:
        store = self.store(request.params["object"])
        base = f"/services/data/{request.params['version']}/sobjects/{store.name}"
        urls = {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}
        flags = dict.fromkeys(("createable", "updateable", "deletable", "queryable"), True)
        body: dict[str, Any] = {"name": store.name, "label": store.name}
        body["labelPlural"] = store.plural
        body.update(keyPrefix=store.prefix, custom=False, **flags, urls=urls)
        body["fields"] = [d.describe() for d in store.definitions.values()]
        return json_response(200, body)

    def _create_field(self, request: SimRequest) -> SimResponse:
        """Tooling API ``CustomField`` create: the field shows in describe at once."""
        obj, entry = describe_entry(request.json(), set(self.stores))
        store = self.stores[obj]
        if entry["name"] in store.definitions:
            message = f"There is already a field named {entry['name'][:-3]} on {obj}."
            raise BadRequest(400, "DUPLICATE_DEVELOPER_NAME", message)
        try:
            definition = field_from(entry, custom=True)
        except ValueError as exc:
            raise BadRequest(400, "FIELD_INTEGRITY_EXCEPTION", str(exc)) from None
        self.created.append((obj, definition))
        store.add_field(definition, bool(self.options.get("unique_external_ids", True)))
        field_id = new_id("00N", next(self.ids))
        body = {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}
        return json_response(201, body)

    def _by_id(self, request: SimRequest) -> SimResponse:
        store = self.store(request.params["object"])
        record = store.get(request.params["id"])
        if record is None:
            raise BadRequest(404, "NOT_FOUND", NOT_FOUND)
        return json_response(200, store.native(record, request.params["version"]))

    def _by_key(self, request: SimRequest) -> SimResponse:
        store = self.store(request.params["object"])
        field, value = request.params["field"], unquote(request.params["value"])
        definition = store.definitions.get(field)
        if definition is None or not (definition.external_id or definition.type == "email"):
            raise BadRequest(404, "NOT_FOUND", NOT_FOUND)
        found = store.matching(field, value)
        version = request.params["version"]
        if not found:
            raise BadRequest(404, "NOT_FOUND", NOT_FOUND)
        if len(found) > 1:
            return json_response(300, [store.url(version, r.id) for r in found])
        return json_response(200, store.native(found[0], version))

    def _create(self, request: SimRequest) -> SimResponse:
        return self._collection("create", request)

    def _update(self, request: SimRequest) -> SimResponse:
        return self._collection("update", request)

    def _collection(
        self, mode: str, request: SimRequest, forced: tuple[str, str] | None = None
    ) -> SimResponse:
        """An sObject Collections write, failed midway when a ``batch_fault`` meets it."""
        body, text = request.json(), _text(request)
        fault: BatchFault | None = None
        if isinstance(body, dict):
            records, fault = self.batch_faults.cut(body.get("records"))
            if fault is not None:
                body = {**body, "records": records}
                text = json.dumps(body)
        if fault is None or fault.after > 0:
            results = self.runner().write(mode, text, body, *(forced or ()))
        if fault is not None:
            return fault.answer(lambda status: self.error_response(status, UNAVAILABLE))
        return json_response(200, results)

    def _upsert(self, request: SimRequest) -> SimResponse:
        if float(request.params["version"][1:]) < 46.0:
            raise BadRequest(404, "NOT_FOUND", NOT_FOUND)
        store = self.store(request.params["object"])
        field = request.params["field"]
        definition = store.definitions.get(field)
        if definition is None or not definition.external_id:
            message = f"Provided external ID field does not exist or is not accessible: {field}"
            raise BadRequest(404, "NOT_FOUND", message)
        return self._collection("upsert", request, (store.name, field))

    def _delete(self, request: SimRequest) -> SimResponse:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        all_or_none = (request.arg("allOrNone") or "false").lower() == "true"
        return json_response(200, self.runner().delete(ids, all_or_none))

    def _query(self, request: SimRequest, include_deleted: bool = False) -> SimResponse:
        text = request.arg("q")
        if not text:
            raise BadRequest(400, "MALFORMED_QUERY", "A query string has to be specified")
        version = request.params["version"]
        answer = run_query(text, self.stores, version, include_deleted, self.locators)
        return json_response(200, answer)

    def _query_all(self, request: SimRequest) -> SimResponse:
        """``queryAll``: the recycle bin's records too, ``IsDeleted`` true."""
        return self._query(request, include_deleted=True)

    def _more(self, request: SimRequest) -> SimResponse:
        """The next page of a query (its ``nextRecordsUrl``)."""
        answer = self.locators.more(request.params["locator"], request.params["version"])
        return json_response(200, answer)

    def _edit(self, request: SimRequest) -> SimResponse:
        """A change made in Salesforce's UI by a sales rep (not through the API): ``{"object":
        SObject, "action": "create" | "update" | "delete", "id", "fields"}``."""
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("fields") or {}, dict):
            return self.error_response(400, "expected {object, action, id, fields}")
        fields, action = body.get("fields") or {}, body.get("action", "update")
        with self.lock:
            store = self._known(str(body.get("object", "")))
            if store is None:
                return self.error_response(404, NOT_FOUND, "NOT_FOUND")
            if action == "create":
                record = store.create(fields)
            else:
                found = store.get(str(body.get("id", "")))
                if found is None:
                    return self.error_response(404, NOT_FOUND, "NOT_FOUND")
                record = found
                if action == "delete":
                    store.delete(record)
                    return json_response(200, {"id": record.id})
                store.update(record, fields)
            return json_response(200, store.native(record, self.version))

    def _limits(self, _: SimRequest) -> SimResponse:
        daily = {"Max": self.auth.daily_limit, "Remaining": self.auth.daily_limit - self.auth.used}
        return json_response(200, {"DailyApiRequests": daily})

    # SimApp hooks ------------------------------------------------------------------------
    def _known(self, object_name: str) -> ObjectStore | None:
        try:
            return self.store(object_name)
        except BadRequest:
            return None

    def dump(self, object_name: str) -> list[dict[str, Any]]:
        store = self._known(object_name)
        if store is None:
            return []
        return [store.native(r, self.version) for r in store.records.values()]

    def view(self, object_name: str) -> list[dict[str, Any]]:
        store = self._known(object_name)
        if store is None:
            return []
        return [
            {
                "id": r.id,
                "key": store.ack_key(r, self.options.get("ack_field")),
                "fields": dict(r.fields),
            }
            for r in store.records.values()
        ]

    def associations(self) -> list[dict[str, Any]]:
        """Lookup fields naming a record the org holds (``Contact.AccountId`` …)."""
        ack_field = self.options.get("ack_field")
        out = []
        for store in self.stores.values():
            for record in store.records.values():
                for name, value in record.fields.items():
                    definition = store.definitions.get(name)
                    if definition is None or definition.type != "reference" or value is None:
                        continue
                    for target in definition.reference_to:
                        parent_store = self.stores.get(target)
                        parent = parent_store.get(str(value)) if parent_store else None
                        if parent_store is None or parent is None:
                            continue
                        out.append(
                            {
                                "from": store.name,
                                "from_key": store.ack_key(record, ack_field),
                                "to": parent_store.name,
                                "to_key": parent_store.ack_key(parent, ack_field),
                                "type": name,
                            }
                        )
        return out

    def reset(self) -> None:
        self.stores = self._new_stores()
        self.auth.reset_limits()
        self.lock_failures = 0
        self.refusals.clear()
        self.batch_faults.reset()
        self.locators = Locators()

    def configure(self, options: Mapping[str, Any]) -> None:
        super().configure(options)
        self.auth.configure(options)
        self.batch_faults.configure(options)
        if "lock_failures" in options:
            self.lock_failures = int(options["lock_failures"])
        if "strict_picklists" in options:
            for store in self.stores.values():
                store.restrict("StageName", bool(options["strict_picklists"]))

    def extra_stats(self) -> dict[str, Any]:
        return {
            "max_in_window": self.auth.window.max_seen,
            "rate_limit_requests": self.auth.limit,
            "rate_limit_seconds": self.auth.seconds,
            "api_usage": self.auth.used,
            "daily_limit": self.auth.daily_limit,
            **self.auth.counts,
            "refused_calls": sum(self.refusals.values()),
            "refused": dict(self.refusals),
            "batch_faults": self.batch_faults.met,
            "records": {name: len(store.records) for name, store in self.stores.items()},
        }


def _text(request: SimRequest) -> str:
    return request.body.decode("utf-8", "replace")


def make_simulator(options: Mapping[str, Any] | None = None) -> SalesforceSim:
    return SalesforceSim(options)
