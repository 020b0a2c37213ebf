"""An in-memory Zoho CRM org speaking the v8 record API over HTTP.

Options (``make_simulator``; the limits and tokens also through ``POST /_sim/config``):
``oauth_clients`` ``{client_id: {"secret", "refresh_token"}}`` (default ``demo-client`` /
``demo-secret`` / ``demo-refresh-token``); ``tokens`` access tokens that never expire (default
none); ``token_ttl`` seconds an access token lives (3600); ``token_issue_limit`` tokens per
refresh token per 10 minutes, then Zoho's "Access Denied" (0 = off; Zoho's is about 10);
``rate_limit_requests`` / ``rate_limit_seconds`` a rolling window (100 / 10; Zoho publishes
none, the contract suite sets one); ``concurrency`` calls in flight (20, Enterprise);
``api_credits`` credits per rolling 24 hours (5,000,000; writes cost 1 per 10 records);
``strict_fields`` refuse unknown field API names (true); ``max_batch`` the records (or ids)
one write call may carry (100, Zoho's; lower it to see callers split); ``custom_fields``
``{module: [field, ...]}`` the org's custom fields, each as ``POST /settings/fields`` takes it
(``field_label``, ``data_type``, ``length``, ``unique``, ``pick_list_values``); ``key_field``
the field whose value acknowledges a write in ``/_sim/acks`` and keys ``/_sim/view`` (default:
the record id); ``batch_fault`` fails insert/update/upsert calls midway
(``providers.simulation.batchfault``; ``/_sim/stats`` counts ``batch_faults``).
``POST /_sim/config {"expire_tokens": true}`` expires every issued access token at once;
``{"revoke_refresh_tokens": true | NEW}`` revokes the refresh tokens (token requests then answer
200 ``{"error": "invalid_code"}``; NEW is the one a new consent gives).

Two hosts, as at Zoho: the main one is the Accounts server (``/oauth/v2/token``), the second
(``api``, its own port: ``GET /_sim/hosts``) the data centre's API host, which every token
answer names as ``api_domain``. ``separate_api_host`` (true, Zoho's behaviour): a token from
the token endpoint is refused at the main host with 401 ``INVALID_TOKEN`` "invalid oauth token",
as Zoho refuses a token of another data centre; false serves the API on both hosts. Fixed
``tokens`` work on both. ``strict: true`` turns on every documented failure behaviour.

Inbound: ``GET /crm/v8/{module}`` lists records (``ids``, ``fields``, ``sort_by``/``sort_order``
by ``Modified_Time``, ``page``/``per_page``, the ``If-Modified-Since`` header: 304 when nothing
changed since), ``GET /crm/v8/{module}/deleted`` the recycle bin; notification channels
(``providers.zoho.sim.channels``) call their ``notify_url`` on every change.
``POST /_sim/edit {"object": module, "action": "create" | "update" | "delete", "id", "fields"}``
changes a record as a sales rep in Zoho's UI would.

Every module holds Zoho's standard fields (``fields/<Module>.json``), served by
``GET /crm/v8/settings/fields?module=``; custom fields are created with
``POST /crm/v8/settings/fields?module=`` and kept across ``/_sim/reset`` (which forgets records).
Writes are checked field by field as Zoho does (``INVALID_DATA`` with ``expected_data_type``,
``maximum_length`` or ``supported_values``; ``MANDATORY_NOT_FOUND``); ``/_sim/stats`` counts
the refused records (``refused_records``) and the write calls carrying any (``refused_calls``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from providers.simulation import SimApp, SimRequest, SimResponse, json_response
from providers.simulation.app import ACTIONS
from providers.simulation.batchfault import BatchFaults
from providers.simulation.guard import Guard
from providers.simulation.strict import strict_options
from providers.zoho.defaults import MAX_BATCH
from providers.zoho.links import LOOKUP_MODULES
from providers.zoho.sim.auth import SimAuth, zoho_error
from providers.zoho.sim.channels import Channels, Refused
from providers.zoho.sim.guard import (
    API_HOST,
    UnknownModule,
    ZohoPolicy,
    error_response,
    refused,
)
from providers.zoho.sim.inbound import deleted_page, listed, modified_since
from providers.zoho.sim.query import QueryError, parse_criteria, parse_select
from providers.zoho.sim.records import Outcome, WriteRunner, credits_for
from providers.zoho.sim.schema import FieldSpecError, custom_definition, error, standard_modules
from providers.zoho.sim.store import ModuleStore, Record
from syncsvc.errors import ConfigError

RUNTIME_OPTIONS = frozenset(
    {"tokens", "token_ttl", "token_issue_limit", "rate_limit_requests", "rate_limit_seconds"}
    | {
        "concurrency",
        "api_credits",
        "strict_fields",
        "expire_tokens",
        "revoke_refresh_tokens",
        "max_batch",
    }
    | {"separate_api_host", "batch_fault"}
)
OPTIONS = (RUNTIME_OPTIONS - ACTIONS) | {"oauth_clients", "custom_fields", "key_field"}
STRICT_BEHAVIOURS = {"separate_api_host": True}
"""What ``strict: true`` turns on (``providers.simulation.strict``)."""
API = r"/crm/v[0-9.]+"
INTERNAL_ERROR = "An internal error occurred"
MODULE = API + r"/(?P<module>[A-Za-z][A-Za-z0-9_]*)"


class ZohoSim(SimApp):
    name = "zoho"
    known_options = OPTIONS
    runtime_options = RUNTIME_OPTIONS
    extra_hosts = (API_HOST,)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(strict_options(options or {}, STRICT_BEHAVIOURS))
        self.auth = SimAuth(self.options)
        self.ids = itertools.count(1001)
        self.stats.update(refused_calls=0, refused_records=0)
        self.key_field = self.options.get("key_field")
        self.channels = Channels()
        self.stores = self._new_stores()
        self.batch_faults = BatchFaults()
        try:
            self.batch_faults.configure(self.options)
        except ValueError as exc:
            raise ConfigError(f"zoho simulator: {exc}") from None
        self._add_custom_fields(self.options.get("custom_fields") or {})
        self._register_api()

    def _new_stores(self) -> dict[str, ModuleStore]:
        strict = bool(self.options.get("strict_fields", True))
        stores = {m: ModuleStore(m, self.ids, strict) for m in standard_modules()}
        for store in stores.values():
            store.on_change = lambda module, record, op: self.channels.changed(
                module, record.id, op
            )
            store.display_name = self._display_name
        return stores

    def _display_name(self, field: str, record_id: str) -> str | None:
        """What Zoho shows as a lookup's ``name``: the account's name, the contact's full
        name."""
        module = LOOKUP_MODULES.get(field)
        parent = self.stores[module].get(record_id) if module in self.stores else None
        if parent is None:
            return None
        if module == "Accounts":
            return str(parent.fields.get("Account_Name") or "") or None
        parts = [parent.fields.get("First_Name"), parent.fields.get("Last_Name")]
        return " ".join(str(p) for p in parts if p) or None

    def _add_custom_fields(self, spec: Any) -> None:
        """The ``custom_fields`` option: created as ``POST /settings/fields`` would."""
        if not isinstance(spec, Mapping):
            raise ConfigError("zoho simulator: custom_fields must map module names to lists")
        for module, fields in spec.items():
            try:
                store = self.store(str(module))
            except UnknownModule:
                raise ConfigError(f"zoho simulator: custom_fields: no module {module!r}") from None
            if not isinstance(fields, list):
                raise ConfigError(f"zoho simulator: custom_fields.{module} must be a list")
            for index, field in enumerate(fields):
                try:
                    store.add_field(
                        custom_definition(store.module, field, index, store.definitions)
                    )
                except FieldSpecError as exc:
                    raise ConfigError(
                        f"zoho simulator: custom_fields.{module}[{index}]: {exc.entry}"
                    ) from None

    def key_of(self, record: Record) -> str:
        if self.key_field:
            value = record.fields.get(str(self.key_field))
            if value is not None:
                return str(value)
        return record.id

    def store(self, module: str) -> ModuleStore:
        for name, store in self.stores.items():
            if name.lower() == module.lower():
                return store
        raise UnknownModule(module)

    # routing -----------------------------------------------------------------------------
    def _register_api(self) -> None:
        self.add_route("POST", "/oauth/v2/token", self._token)
        api: list[tuple[str, str, Callable[[SimRequest], SimResponse]]] = [
            ("POST", API + "/coql", self._coql),
            ("POST", API + "/actions/watch", self._watch),
            ("DELETE", API + "/actions/watch", self._unwatch),
            ("GET", MODULE + "/deleted", self._deleted),
            ("GET", API + "/settings/fields", self._fields),
            ("POST", API + "/settings/fields", self._create_fields),
            ("POST", MODULE + "/upsert", self._write("upsert")),
            ("GET", MODULE + "/search", self._search),
            ("GET", MODULE + r"/(?P<id>\d+)", self._get_one),
            ("GET", MODULE, self._list),
            ("POST", MODULE, self._write("insert")),
            ("PUT", MODULE, self._write("update")),
            ("DELETE", MODULE, self._delete),
        ]
        guard = Guard(self, ZohoPolicy(self.auth))
        for method, pattern, handler in api:
            self.add_route(method, pattern, guard(handler))
        self.add_route("POST", "/_sim/edit", self._edit)

    # envelopes ---------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        return error_response(status, message)

    def rate_limited_response(self) -> SimResponse:
        with self.lock:
            return refused(self.auth.throttled("window"))

    # OAuth -------------------------------------------------------------------------------
    def _token(self, request: SimRequest) -> SimResponse:
        params = {k: v[0] for k, v in request.query.items()}
        form = parse_qs(request.body.decode("utf-8", "replace"))
        params.update({k: v[0] for k, v in form.items()})
        api_domain = self.host_url(API_HOST, request)
        with self.lock:
            status, body = self.auth.issue(params, api_domain)
            if body.get("error") == "Access Denied":
                self.stats["throttled"] += 1
        return json_response(status, body)

    # records -----------------------------------------------------------------------------
    def _runner(self, module: str) -> WriteRunner:
        ceiling = int(self.options.get("max_batch", MAX_BATCH))
        return WriteRunner(
            self.store(module), self.ack, self.rejected_field, ceiling, self.key_of, self._holds
        )

    def _holds(self, module: str, record_id: str) -> bool:
        store = self.stores.get(module)
        return store is not None and store.get(record_id) is not None

    def associations(self) -> list[dict[str, Any]]:
        """Lookup fields naming a record the account holds (``Contacts.Account_Name`` …)."""
        out = []
        for store in self.stores.values():
            for record in store.records.values():
                for name, module in LOOKUP_MODULES.items():
                    value = record.fields.get(name)
                    if not isinstance(value, dict) or module not in self.stores:
                        continue
                    parent = self.stores[module].get(str(value.get("id")))
                    if parent is None:
                        continue
                    out.append(
                        {
                            "from": store.module,
                            "from_key": self.key_of(record),
                            "to": module,
                            "to_key": self.key_of(parent),
                            "type": name,
                        }
                    )
        return out

    def _answer(self, outcome: Outcome) -> SimResponse:
        if outcome.refused:
            self.stats["refused_calls"] += 1
            self.stats["refused_records"] += outcome.refused
        self.auth.charge(credits_for(outcome.records) - 1)
        return json_response(outcome.status, outcome.body)

    def _write(self, kind: str) -> Callable[[SimRequest], SimResponse]:
        def handler(request: SimRequest) -> SimResponse:
            body = request.json()
            with self.lock:
                runner = self._runner(request.params["module"])
                fault = None
                if isinstance(body, dict):
                    data, fault = self.batch_faults.cut(body.get("data"))
                    body = {**body, "data": data} if fault is not None else body
                if fault is None:
                    return self._answer(getattr(runner, kind)(body))
                if fault.after > 0:
                    self._answer(getattr(runner, kind)(body))
            return fault.answer(lambda status: self.error_response(status, INTERNAL_ERROR))

        return handler

    def _delete(self, request: SimRequest) -> SimResponse:
        with self.lock:
            return self._answer(self._runner(request.params["module"]).delete(request.arg("ids")))

    def _get_one(self, request: SimRequest) -> SimResponse:
        with self.lock:
            record = self.store(request.params["module"]).get(request.params["id"])
            if record is None:
                return SimResponse(204)
            return json_response(200, {"data": [record.native()]})

    def _found(self, rows: list[dict[str, Any]], page_size: int, page: int = 1) -> SimResponse:
        if not rows:
            return SimResponse(204)
        start = (page - 1) * page_size
        chosen = rows[start : start + page_size]
        info = {"per_page": page_size, "count": len(chosen), "page": page,
                "more_records": start + page_size < len(rows)}  # fmt: skip
        return json_response(200, {"data": chosen, "info": info})

    def _search(self, request: SimRequest) -> SimResponse:
        criteria = request.arg("criteria")
        if not criteria:
            body = zoho_error("REQUIRED_PARAM_MISSING", "mandatory param missing")
            return json_response(400, body)
        try:
            predicate = parse_criteria(criteria)
        except QueryError as exc:
            return json_response(400, zoho_error("INVALID_QUERY", f"invalid query formed: {exc}"))
        page = int(request.arg("page", "1") or 1)
        per_page = min(200, int(request.arg("per_page", "200") or 200))
        with self.lock:
            store = self.store(request.params["module"])
            rows = [r.native() for r in store.records.values() if predicate(r.fields)]
        return self._found(rows, per_page, page)

    def _coql(self, request: SimRequest) -> SimResponse:
        body = request.json()
        query = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(query, str):
            return json_response(400, error("MANDATORY_NOT_FOUND", "select_query missing",
                                            "select_query"))  # fmt: skip
        try:
            select = parse_select(query)
        except QueryError as exc:
            return json_response(400, zoho_error("SYNTAX_ERROR", f"error in query: {exc}"))
        if not 1 <= select.limit <= 2000:
            return json_response(400, zoho_error("LIMIT_EXCEEDED", "limit must be 1 to 2000"))
        with self.lock:
            store = self.store(select.module)
            hits = [r for r in store.records.values() if select.where({"id": r.id, **r.fields})]
        rows = [
            {name: (r.id if name == "id" else r.fields.get(name)) for name in select.fields}
            | {"id": r.id}
            for r in hits[select.offset : select.offset + select.limit]
        ]
        if not rows:
            return SimResponse(204)
        more = select.offset + select.limit < len(hits)
        return json_response(
            200, {"data": rows, "info": {"count": len(rows), "more_records": more}}
        )

    # inbound -----------------------------------------------------------------------------
    def _list(self, request: SimRequest) -> SimResponse:
        since = modified_since(request.header("if-modified-since"))
        if isinstance(since, SimResponse):
            return since
        with self.lock:
            return listed(self.store(request.params["module"]), request, since)

    def _deleted(self, request: SimRequest) -> SimResponse:
        since = modified_since(request.header("if-modified-since"))
        if isinstance(since, SimResponse):
            return since
        with self.lock:
            return deleted_page(self.store(request.params["module"]), request, since)

    def _watch(self, request: SimRequest) -> SimResponse:
        with self.lock:
            try:
                answers = self.channels.watch(request.json(), set(self.stores))
            except Refused as exc:
                return json_response(400, {"watch": [exc.entry]})
        return json_response(200, {"watch": answers})

    def _unwatch(self, request: SimRequest) -> SimResponse:
        ids = [i for i in (request.arg("channel_ids") or "").split(",") if i]
        if not ids:
            body = error("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                         param_name="channel_ids")  # fmt: skip
            return json_response(400, body)
        with self.lock:
            self.channels.stop(ids)
        done = {"code": "SUCCESS", "status": "success", "message": "Successfully unsubscribed"}
        return json_response(200, {"watch": [done]})

    def _edit(self, request: SimRequest) -> SimResponse:
        """A change made in Zoho's UI by a sales rep (not through the API)."""
        body = request.json()
        if not isinstance(body, dict):
            return error_response(400, "expected {object, action, id, fields}")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            return error_response(400, "fields must be an object")
        action = body.get("action", "update")
        with self.lock:
            store = self.store(str(body.get("object", "")))
            record = None
            if action != "create":
                record = store.get(str(body.get("id", "")))
                if record is None:
                    return error_response(404, "the id given seems to be invalid")
            if action == "delete":
                assert record is not None
                store.delete(record)
                return json_response(200, {"id": record.id})
            problems = store.check(fields, 0, record)
            if problems:
                return json_response(400, {"data": problems})
            if record is None:
                record = store.insert(fields)
            else:
                store.update(record, fields)
            return json_response(200, {"data": [record.native()]})

    def _fields(self, request: SimRequest) -> SimResponse:
        module = request.arg("module")
        if not module:
            body = error("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                         param_name="module")  # fmt: skip
            return json_response(400, body)
        with self.lock:
            return json_response(200, {"fields": list(self.store(module).definitions.values())})

    def _create_fields(self, request: SimRequest) -> SimResponse:
        """``POST /settings/fields?module=``: one answer entry per field, in order (201 when all
        are created, 207 when some, 400 when none)."""
        module = request.arg("module")
        if not module:
            body = error("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                         param_name="module")  # fmt: skip
            return json_response(400, body)
        payload = request.json()
        fields = payload.get("fields") if isinstance(payload, dict) else None
        if not isinstance(fields, list) or not fields:
            return json_response(400, error("MANDATORY_NOT_FOUND", "required field not found",
                                            "fields", json_path="$.fields"))  # fmt: skip
        entries: list[dict[str, Any]] = []
        with self.lock:
            store = self.store(module)
            for index, spec in enumerate(fields):
                try:
                    definition = custom_definition(store.module, spec, index, store.definitions)
                except FieldSpecError as exc:
                    entries.append(exc.entry)
                    continue
                store.add_field(definition)
                entries.append({"code": "SUCCESS", "details": {"id": definition["id"]},
                                "message": "field created", "status": "success"})  # fmt: skip
        ok = sum(1 for e in entries if e["status"] == "success")
        status = 201 if ok == len(entries) else 207 if ok else 400
        return json_response(status, {"fields": entries})

    # SimApp hooks ------------------------------------------------------------------------
    def dump(self, object_name: str) -> list[dict[str, Any]]:
        try:
            store = self.store(object_name)
        except UnknownModule:
            return []
        return [record.native() for record in store.records.values()]

    def view(self, object_name: str) -> list[dict[str, Any]]:
        try:
            store = self.store(object_name)
        except UnknownModule:
            return []
        return [
            {"id": r.id, "key": self.key_of(r), "fields": dict(r.fields)}
            for r in store.records.values()
        ]

    def reset(self) -> None:
        for store in self.stores.values():
            store.clear()
        self.channels.clear()
        self.auth.reset_limits()
        self.batch_faults.reset()

    def configure(self, options: Mapping[str, Any]) -> None:
        super().configure(options)
        self.auth.configure(options)
        self.batch_faults.configure(options)
        if "strict_fields" in options:
            for store in self.stores.values():
                store.strict_fields = bool(options["strict_fields"])

    def extra_stats(self) -> dict[str, Any]:
        return {
            "max_in_window": self.auth.window.max_seen,
            "rate_limit_requests": self.auth.limit,
            "rate_limit_seconds": self.auth.seconds,
            "credits_used": self.auth.credits_used,
            "api_credits": self.auth.credit_limit,
            "max_batch": int(self.options.get("max_batch", MAX_BATCH)),
            "batch_faults": self.batch_faults.met,
            **self.auth.counts,
            "records": {name: len(store.records) for name, store in self.stores.items()},
            **self.channels.deliveries.counts,
        }


def make_simulator(options: Mapping[str, Any] | None = None) -> ZohoSim:
    return ZohoSim(options)
