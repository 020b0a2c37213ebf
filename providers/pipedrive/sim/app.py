"""An in-memory Pipedrive account speaking API v2 (persons, organizations, deals) over HTTP.

Options (``make_simulator``; most also through ``POST /_sim/config``): ``api_tokens`` accepted
personal API tokens (``["demo-api-token"]``); ``oauth_clients`` ``{client_id: {"secret",
"refresh_token"}}``; ``token_ttl`` seconds an access token lives (3600); ``rate_limit_requests``
/ ``rate_limit_seconds`` the burst window per token (80 / 2, the lowest plan's OAuth limit);
``search_rate_limit_requests`` / ``_seconds`` (10 / 2); ``daily_budget`` tokens per day
(1,000,000), spent at Pipedrive's per-endpoint costs; ``send_retry_after`` add ``Retry-After``
to 429s (unverified for Pipedrive, off); ``custom_fields`` ``{object: [name | {"name",
"field_type", "options": [label, …]}]}``: the account's custom fields beyond the standard ones
(``sim/fields/<object>.json``); ``key_field`` the name of the custom field (on every object, or
``{object: name}``) whose value identifies a record in acks and ``/_sim/view`` (else its id).
``POST /_sim/config {"expire_tokens": true}`` expires every issued access token;
``{"revoke_refresh_tokens": true | NEW}`` revokes the OAuth refresh tokens (token requests then
answer 400 ``invalid_grant``; NEW is the one a new consent gives).

Two hosts, as at Pipedrive: the main one stands for ``api.pipedrive.com`` and
``oauth.pipedrive.com``, the second (``company``, its own port: ``GET /_sim/hosts``) for the
company domain every token answer names as ``api_domain``. ``company_domain_only`` (false; on
with ``strict: true``): an OAuth access token is refused (401 ``unauthorized access``) anywhere
but the company domain, as apps are asked to call it (https://developers.pipedrive.com/changelog/
post/new-parameter-in-oauth-oauthtoken-responses; the refusal's shape is unverified). API
tokens work on both hosts.

Documented behaviours the default leaves out (each an option, all on with ``strict: true``):
``search_lag_seconds`` how long a write takes to reach search (0; Pipedrive promises no
read-after-write for search, reads by id are current); ``send_daily_headers`` the undocumented
``x-daily-ratelimit-token-*`` headers, which "can be missing" (true); ``explain_daily_429`` a
daily-budget 429 that says so, where Pipedrive documents only the status (true: off, it answers
like a burst 429).

Webhooks v2 (``providers.pipedrive.sim.webhooks``): ``POST /v1/webhooks`` subscribes a URL
(with its basic auth), ``DELETE /v1/webhooks/{id}`` ends it; every record change is sent there.
``POST /_sim/edit {"object", "action": "create" | "update" | "delete", "id", "fields"}`` changes
a record as a sales rep in Pipedrive's app would (``fields`` a v2 body; webhooks say
``change_source: "app"``). ``GET /api/v2/{object}`` takes ``ids``, ``updated_since`` and
``sort_by``/``sort_direction`` (``id``, ``update_time``, ``add_time``); it leaves deleted
records out, which ``GET /v1/recents`` shows (``providers.pipedrive.sim.recents``).

Writes the account refuses (unknown or read-only field, wrong type, unknown option, too long,
missing name/title) are answered with v2's 400 and counted in ``/_sim/stats`` as
``refused_writes`` and ``refused_by_kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from providers.pipedrive.links import RELATIONS
from providers.pipedrive.sim.auth import SimAuth
from providers.pipedrive.sim.checks import KINDS, Invalid, check_body
from providers.pipedrive.sim.fields import FieldSet, new_field_sets
from providers.pipedrive.sim.guard import COMPANY_HOST, PipedrivePolicy, refused
from providers.pipedrive.sim.http import add_field, error, invalid, list_fields, ok, page
from providers.pipedrive.sim.index import SearchIndex
from providers.pipedrive.sim.recents import recents
from providers.pipedrive.sim.store import SEARCH_FIELDS, ObjectStore, Record, scalar
from providers.pipedrive.sim.webhooks import Problem, Webhooks
from providers.simulation import SimApp, SimRequest, SimResponse, json_response
from providers.simulation.app import ACTIONS
from providers.simulation.guard import Guard
from providers.simulation.strict import strict_options

RUNTIME_OPTIONS = frozenset(
    {"api_tokens", "token_ttl", "rate_limit_requests", "rate_limit_seconds", "daily_budget"}
    | {"search_rate_limit_requests", "search_rate_limit_seconds", "send_retry_after"}
    | {"search_lag_seconds", "send_daily_headers", "explain_daily_429"}
    | {"expire_tokens", "revoke_refresh_tokens", "company_domain_only"}
)
OPTIONS = (RUNTIME_OPTIONS - ACTIONS) | {"oauth_clients", "custom_fields", "key_field"}
STRICT_BEHAVIOURS: dict[str, Any] = {
    "company_domain_only": True,
    "search_lag_seconds": 3.0,
    "send_daily_headers": False,
    "explain_daily_429": False,
}
"""What ``strict: true`` turns on (``providers.simulation.strict``; an option given beside it
wins)."""
OBJ = r"(?P<object>persons|organizations|deals)"
FIELD_LISTS = {
    "personFields": "persons",
    "organizationFields": "organizations",
    "dealFields": "deals",
}
LABELS = {"persons": "Person", "organizations": "Organization", "deals": "Deal"}


class PipedriveSim(SimApp):
    name = "pipedrive"
    known_options = OPTIONS
    runtime_options = RUNTIME_OPTIONS
    extra_hosts = (COMPANY_HOST,)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(strict_options(options or {}, STRICT_BEHAVIOURS))
        self.auth = SimAuth(self.options)
        self.field_sets: dict[str, FieldSet] = {}
        self.stores: dict[str, ObjectStore] = {}
        self.refused: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.webhooks = Webhooks()
        self.change_source = "api"
        """What webhooks name as the source of a change: the API, or ``app`` (``/_sim/edit``)."""
        self.reset()
        self._register_api()

    # routing -----------------------------------------------------------------------------
    def _register_api(self) -> None:
        self.add_route("POST", "/oauth/token", self._token)
        fields = r"(?:/api)?/v1/(?P<list>personFields|organizationFields|dealFields)"
        api: list[tuple[str, str, str, Callable[[SimRequest], SimResponse]]] = [
            ("GET", fields, "fields", self._list_fields),
            ("POST", fields, "field", self._add_field),
            ("GET", rf"/api/v2/{OBJ}/search", "search", self._search),
            ("GET", rf"/api/v2/{OBJ}", "list", self._list),
            ("POST", rf"/api/v2/{OBJ}", "write", self._create),
            ("GET", rf"/api/v2/{OBJ}/(?P<id>\d+)", "get", self._get),
            ("PATCH", rf"/api/v2/{OBJ}/(?P<id>\d+)", "write", self._update),
            ("DELETE", rf"/api/v2/{OBJ}/(?P<id>\d+)", "delete", self._delete),
            ("GET", r"(?:/api)?/v1/recents", "v1_list", self._recents),
            ("GET", r"(?:/api)?/v1/webhooks", "get", self._list_webhooks),
            ("POST", r"(?:/api)?/v1/webhooks", "field", self._add_webhook),
            ("DELETE", r"(?:/api)?/v1/webhooks/(?P<id>\d+)", "delete", self._remove_webhook),
        ]
        for method, pattern, cost, handler in api:
            self.add_route(method, pattern, Guard(self, PipedrivePolicy(self.auth, cost))(handler))
        self.add_route("POST", "/_sim/edit", self._edit)

    # envelopes ---------------------------------------------------------------------------
    def error_response(self, status: int, message: str, **extra: Any) -> SimResponse:
        return error(status, message, **extra)

    def rate_limited_response(self) -> SimResponse:
        with self.lock:
            return refused(self.auth.limited())

    # OAuth -------------------------------------------------------------------------------
    def _token(self, request: SimRequest) -> SimResponse:
        if "application/x-www-form-urlencoded" not in (request.header("content-type") or ""):
            message = "Invalid request: content must be application/x-www-form-urlencoded"
            return error(400, message)
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        with self.lock:
            issued = self.auth.issue(form, request.header("authorization"))
        if isinstance(issued, str):
            return error(400, issued)
        return json_response(200, {**issued, "api_domain": self.host_url(COMPANY_HOST, request)})

    # fields ------------------------------------------------------------------------------
    def _list_fields(self, request: SimRequest) -> SimResponse:
        return list_fields(self.field_sets[FIELD_LISTS[request.params["list"]]], request)

    def _add_field(self, request: SimRequest) -> SimResponse:
        return add_field(self.field_sets[FIELD_LISTS[request.params["list"]]], request)

    # records -----------------------------------------------------------------------------
    def _body(self, request: SimRequest) -> dict[str, Any] | SimResponse:
        body = request.json()
        if not isinstance(body, dict):
            # one record per request: an array of records (a "batch") is refused
            return invalid(Invalid("body", "must be an object (one record per request)"))
        return body

    def _refused(self, store: ObjectStore, body: dict[str, Any]) -> SimResponse | None:
        """The ``reject_values`` rule: a record carrying a refused value fails on its own."""
        flat: dict[str, Any] = {k: scalar(v) for k, v in body.items() if k != "custom_fields"}
        codes: dict[str, str] = {}
        for key, value in (body.get("custom_fields") or {}).items():
            name = str(store.fields.custom[key]["name"])  # keys were checked already
            flat[name], codes[name] = scalar(value), key
        field = self.rejected_field(flat)
        if field is None:
            return None
        code = codes.get(field)
        message = f"value {flat[field]!r} is refused by a validation rule"
        if code:
            message = f"value {flat[field]!r} of custom field '{code}' is refused by a rule"
        return invalid(Invalid("custom_fields" if code else field, message))

    def _invalid(self, problem: Invalid) -> SimResponse:
        """The 400 for a refused write, counted by kind."""
        with self.lock:
            self.refused[problem.kind] = self.refused.get(problem.kind, 0) + 1
        return invalid(problem)

    def _write(self, request: SimRequest, record_id: int | None) -> SimResponse:
        body = self._body(request)
        if isinstance(body, SimResponse):
            return body
        store = self.stores[request.params["object"]]
        record = None if record_id is None else store.get(record_id)
        if record_id is not None and record is None:
            return self.not_found(store)
        problem = check_body(store.object_name, body, store.fields, creating=record is None)
        if problem is not None:
            return self._invalid(problem)
        unrelated = self._missing_relation(body)
        if unrelated is not None:
            return unrelated
        refused = self._refused(store, body)
        if refused is not None:
            return refused
        if record is None:
            record = self._created(store, body)
            self.ack(store.object_name, store.key_of(record) or str(record.id), "create")
        else:
            self._updated(store, record, body)
            self.ack(store.object_name, store.key_of(record) or str(record.id), "update")
        return ok(store.data(record))

    def _missing_relation(self, body: Mapping[str, Any]) -> SimResponse | None:
        """A relation field (``org_id``, ``person_id``) naming a record the company does not
        hold (or holds deleted) is refused, as Pipedrive refuses it."""
        for field, object_name in RELATIONS.items():
            value = body.get(field)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                continue  # check_body reports the type
            if self.stores[object_name].get(value) is None:
                return self.error_response(400, f"{LABELS[object_name]} not found")
        return None

    def associations(self) -> list[dict[str, Any]]:
        """Relation fields naming a record the company holds (``persons.org_id`` …)."""
        out = []
        for store in self.stores.values():
            for record in store.active():
                for field, object_name in RELATIONS.items():
                    value = scalar(record.fields.get(field))
                    parent_store = self.stores[object_name]
                    parent = parent_store.get(value) if isinstance(value, int) else None
                    if parent is None or field not in record.written:
                        continue
                    out.append(
                        {
                            "from": store.object_name,
                            "from_key": store.key_of(record) or str(record.id),
                            "to": object_name,
                            "to_key": parent_store.key_of(parent) or str(parent.id),
                            "type": field,
                        }
                    )
        return out

    # changes, and their webhooks ---------------------------------------------------------
    def _created(self, store: ObjectStore, body: dict[str, Any]) -> Record:
        record = store.create(body)
        data = store.data(record)
        self.webhooks.record_changed(store.object_name, "create", data, None, self.change_source)
        return record

    def _updated(self, store: ObjectStore, record: Record, body: dict[str, Any]) -> None:
        before = store.data(record)
        store.update(record, body)
        after = store.data(record)
        previous = {k: v for k, v in before.items() if after.get(k) != v}
        self.webhooks.record_changed(
            store.object_name, "change", after, previous, self.change_source
        )

    def _deleted(self, store: ObjectStore, record: Record) -> None:
        before = store.data(record)
        store.delete(record)
        self.webhooks.record_changed(store.object_name, "delete", None, before, self.change_source)

    def _edit(self, request: SimRequest) -> SimResponse:
        """A change made in Pipedrive's app by a sales rep (not through the API)."""
        body = request.json()
        if not isinstance(body, dict) or body.get("object") not in self.stores:
            return error(400, "expected {object, action, id, fields}")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            return error(400, "fields must be an object")
        action = body.get("action", "update")
        with self.lock:
            store = self.stores[str(body["object"])]
            record = None
            if action != "create":
                raw_id = str(body.get("id", ""))
                record = store.get(int(raw_id)) if raw_id.isdigit() else None
                if record is None:
                    return self.not_found(store)
            if action != "delete":
                problem = check_body(store.object_name, fields, store.fields, record is None)
                if problem is not None:
                    return invalid(problem)
            self.change_source = "app"
            try:
                if record is None:
                    record = self._created(store, fields)
                elif action == "delete":
                    self._deleted(store, record)
                    return ok({"id": record.id})
                else:
                    self._updated(store, record, fields)
                return ok(store.data(record))
            finally:
                self.change_source = "api"

    def _add_webhook(self, request: SimRequest) -> SimResponse:
        with self.lock:
            try:
                return json_response(
                    201, {"success": True, "data": self.webhooks.add(request.json())}
                )
            except Problem as exc:
                return error(400, str(exc))

    def _list_webhooks(self, request: SimRequest) -> SimResponse:
        with self.lock:
            return ok(self.webhooks.listed())

    def _remove_webhook(self, request: SimRequest) -> SimResponse:
        with self.lock:
            if not self.webhooks.remove(int(request.params["id"])):
                return error(404, "Webhook not found")
        return ok({"id": int(request.params["id"])})

    def _create(self, request: SimRequest) -> SimResponse:
        return self._write(request, None)

    def _update(self, request: SimRequest) -> SimResponse:
        return self._write(request, int(request.params["id"]))

    def not_found(self, store: ObjectStore) -> SimResponse:
        return self.error_response(404, f"{LABELS[store.object_name]} not found")

    def _get(self, request: SimRequest) -> SimResponse:
        store = self.stores[request.params["object"]]
        record = store.get(int(request.params["id"]))
        if record is None:
            return self.not_found(store)
        wanted = request.arg("custom_fields")
        keys = [k for k in wanted.split(",") if k] if wanted else None
        if keys is not None and len(keys) > 15:
            return error(400, "custom_fields: a maximum of 15 keys is allowed")
        return ok(store.data(record, keys))

    def _delete(self, request: SimRequest) -> SimResponse:
        store = self.stores[request.params["object"]]
        record = store.get(int(request.params["id"]))
        if record is None:
            return self.not_found(store)
        self._deleted(store, record)
        self.ack(store.object_name, store.key_of(record) or str(record.id), "archive")
        return ok({"id": record.id})

    def _list(self, request: SimRequest) -> SimResponse:
        store = self.stores[request.params["object"]]
        records = store.active()
        ids = request.arg("ids")
        if ids:
            wanted = {int(i) for i in ids.split(",") if i.strip().isdigit()}
            if len(wanted) > 100:
                return error(400, "Validation failed: ids: a maximum of 100 ids is allowed")
            records = [r for r in records if r.id in wanted]
        since = request.arg("updated_since")
        if since:
            records = [r for r in records if r.update_time >= since]
        sort_by = request.arg("sort_by") or "id"
        if sort_by not in ("id", "update_time", "add_time"):
            return error(400, "Validation failed: sort_by: must be id, update_time or add_time")
        descending = (request.arg("sort_direction") or "asc") == "desc"
        records.sort(key=lambda r: (getattr(r, sort_by), r.id), reverse=descending)
        rows = page([store.data(r) for r in records], request)
        if isinstance(rows, SimResponse):
            return rows
        return ok(rows[0], {"next_cursor": rows[1]})

    def _recents(self, request: SimRequest) -> SimResponse:
        return recents(self.stores, request)

    def _search(self, request: SimRequest) -> SimResponse:
        store = self.stores[request.params["object"]]
        term = request.arg("term")
        exact = (request.arg("exact_match") or "false").lower() == "true"
        if not term or (len(term) < 2 and not exact):
            return self.error_response(
                400, "Validation failed: term: must be at least 2 characters"
            )
        allowed = SEARCH_FIELDS[store.object_name]
        fields = set((request.arg("fields") or ",".join(sorted(allowed))).split(","))
        if not fields <= allowed:
            bad = sorted(fields - allowed)[0]
            return error(400, f"Validation failed: fields: {bad!r} is not allowed")
        hits = page(store.search(term, fields, exact), request)
        if isinstance(hits, SimResponse):
            return hits
        return ok({"items": hits[0]}, {"next_cursor": hits[1]})

    # SimApp hooks ------------------------------------------------------------------------
    def dump(self, object_name: str) -> list[dict[str, Any]]:
        store = self.stores.get(object_name)
        return [] if store is None else [store.data(r) for r in store.active()]

    def view(self, object_name: str) -> list[dict[str, Any]]:
        store = self.stores.get(object_name)
        if store is None:
            return []
        return [
            {"id": str(r.id), "key": store.key_of(r), "fields": store.flat(r)}
            for r in store.active()
        ]

    def reset(self) -> None:
        self.field_sets = new_field_sets(self.options.get("custom_fields"))
        key_field = self.options.get("key_field")
        lag = float(self.options.get("search_lag_seconds", 0.0))
        self.stores = {
            name: ObjectStore(
                name,
                fs,
                key_field.get(name) if isinstance(key_field, Mapping) else key_field,
                SearchIndex(lag),
            )
            for name, fs in self.field_sets.items()
        }
        self.refused = dict.fromkeys(KINDS, 0)
        self.auth.reset_limits()
        self.webhooks.clear()

    def configure(self, options: Mapping[str, Any]) -> None:
        super().configure(options)
        self.auth.configure(options)
        if "search_lag_seconds" in options:
            for store in self.stores.values():
                store.index.lag = max(0.0, float(options["search_lag_seconds"]))

    def extra_stats(self) -> dict[str, Any]:
        return {
            "max_in_window": self.auth.max_in_window(),
            "rate_limit_requests": self.auth.limit,
            "rate_limit_seconds": self.auth.seconds,
            "search_lag_seconds": float(self.options.get("search_lag_seconds", 0.0)),
            "daily_tokens_used": self.auth.used_today,
            **self.auth.counts,
            "records": {name: len(store.active()) for name, store in self.stores.items()},
            "refused_writes": sum(self.refused.values()),
            "refused_by_kind": dict(self.refused),
            **self.webhooks.deliveries.counts,
        }


def make_simulator(options: Mapping[str, Any] | None = None) -> PipedriveSim:
    return PipedriveSim(options)
