"""An in-memory Dataverse environment speaking the Web API (v9.2) over HTTP, plus its Entra
token endpoint.

Tables ``contacts``, ``accounts`` and ``opportunities`` with their standard columns (``fields/``)
and no alternate key: what an environment holds beyond that is given by options or created
through the metadata API (``schema``, ``metadata``). Options (``make_simulator``; all but
``clients``, ``custom_attributes``, ``alternate_keys`` and ``ack_key`` also through ``POST
/_sim/config``): ``custom_attributes`` ``{entity set: [column name | {"name", "type",
"max_length", "options", …} (the data files' format)]}``; ``alternate_keys`` ``{entity set:
[[column, …], …]}``; ``ack_key`` ``{entity set: column}`` the column acknowledgements name a
record by (default: the first single-column alternate key); ``clients`` ``{client_id: {"secret",
"tenant_id"}}`` (default ``demo-client``/``demo-secret``/``demo-tenant``); ``token_ttl`` seconds
(3599); ``rate_limit_requests``/``rate_limit_seconds`` an extra short request window (off by
default); ``protection_requests``/``protection_seconds`` the service-protection window (6000 /
300); ``concurrent_limit`` (52); ``execution_ms_limit`` (1,200,000); ``penalty_seconds`` added to
a refused user's wait per request sent while refused (0); ``max_batch`` (1000);
``enforce_required`` refuse creates without the ApplicationRequired columns (false: Dataverse
itself does not); ``batch_op_seconds`` how long each request of a ``$batch`` takes on the server
(0: instant; ``sim.batch``); ``batch_fault`` ``{"after": k, "status": 5xx or 0, "times": n,
"stall": s}`` the next n batches longer than k apply k requests, then answer that 5xx or (0)
close the connection unanswered, s seconds late (``providers.simulation.batchfault``);
``strict`` turns on every documented failure behaviour at once (today:
``batch_op_seconds`` ``STRICT_OP_SECONDS``, so a 1000-request batch outlasts a 30-s read
timeout) unless an option given with it says otherwise. ``/_sim/stats`` counts
``refused_writes``, ``batches``, ``operations``, ``batch_faults`` and gives
``slowest_batch_seconds`` (server time of the slowest ``$batch``) and ``largest_batch``.
``{"expire_tokens": true}`` expires every issued token now.

Change tracking (``sim.tracking``): a GET of an entity set with ``Prefer: odata.track-changes``
answers a delta link, and the delta link what changed and was deleted since.
``POST /_sim/edit {"object": entity set, "action": "create" | "update" | "delete", "id",
"fields"}`` changes a row as a user in the Dynamics app would; ``fields`` may set a lookup as
the Web API does (``"parentcustomerid_account@odata.bind": "/accounts(<id>)"``, null to empty
it), which makes a new version of the row (change tracking reports it). Lookups read back as
``_<column>_value``, annotated with their table and navigation property when ``Prefer:
odata.include-annotations`` asks (``sim.annotations``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from providers.dynamics.defaults import API_PATH, MAX_BATCH
from providers.dynamics.sim.api import BIND, Context, DataApi
from providers.dynamics.sim.auth import SimAuth
from providers.dynamics.sim.batch import BatchRunner
from providers.dynamics.sim.guard import DynamicsPolicy, error_response, root, throttled
from providers.dynamics.sim.limits import REQUESTS_CODE, Limits, Throttle, requests_message
from providers.dynamics.sim.schema import tables
from providers.dynamics.sim.store import TableStore
from providers.simulation import SimApp, SimRequest, SimResponse, json_response
from providers.simulation.app import Handler
from providers.simulation.batchfault import BatchFault
from providers.simulation.guard import Guard
from providers.simulation.strict import STRICT, strict_behaviours
from syncsvc.errors import ConfigError

RUNTIME_OPTIONS = frozenset(
    {"token_ttl", "rate_limit_requests", "rate_limit_seconds", "protection_requests"}
    | {"protection_seconds", "concurrent_limit", "execution_ms_limit", "penalty_seconds"}
    | {"max_batch", "enforce_required", "expire_tokens", "batch_op_seconds", "batch_fault"}
    | {STRICT}
)
STRICT_OP_SECONDS = 0.035
"""Server time per ``$batch`` request under ``strict``: 1000 requests take 35 s."""
STRICT_BEHAVIOURS = {"batch_op_seconds": STRICT_OP_SECONDS}
"""What ``strict: true`` turns on (``providers.simulation.strict``); the defaults below."""
NOT_STRICT = {"batch_op_seconds": 0.0}
OPTIONS = (RUNTIME_OPTIONS - {"expire_tokens"}) | {
    "clients",
    "custom_attributes",
    "alternate_keys",
    "ack_key",
}


class DynamicsSim(SimApp):
    name = "dynamics"
    known_options = OPTIONS
    runtime_options = RUNTIME_OPTIONS

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.auth = SimAuth(self.options)
        self.limits = Limits(self.options)
        self.versions = itertools.count(1000)
        self.data = DataApi(
            self._new_stores(),
            self.rejected_field,
            bool(self.options.get("enforce_required", False)),
            int(self.options.get("max_batch", MAX_BATCH)),
        )
        self.batches = BatchRunner(self.data, self.lock, self.ack)
        try:
            self._configure_batches(self.options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"dynamics simulator: {exc}") from None
        self.add_route("POST", r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/token", self._token)
        guard = Guard(self, DynamicsPolicy(self.auth, self.limits))
        self.add_route("POST", API_PATH + r"/\$batch", guard(self._batch))
        resource = guard(self._in_context(self._resource))
        for method in ("GET", "POST", "PATCH", "DELETE"):
            self.add_route(method, API_PATH + r"/(?P<resource>.+)", resource)
        self.add_route("POST", "/_sim/edit", self._edit)

    def _new_stores(self) -> dict[str, TableStore]:
        try:
            defined = tables(
                self.options.get("custom_attributes"), self.options.get("alternate_keys")
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"dynamics simulator: bad custom_attributes/alternate_keys: {exc}"
            ) from None
        ack = self.options.get("ack_key") or {}
        return {name: TableStore(t, self.versions, ack.get(name)) for name, t in defined.items()}

    # plumbing ----------------------------------------------------------------------------
    def _in_context(self, handler: Callable[[SimRequest, Context], SimResponse]) -> Handler:
        """Run ``handler`` with a ``Context`` under the lock, then acknowledge its writes."""

        def run(request: SimRequest) -> SimResponse:
            ctx = Context(root(request))
            with self.lock:
                response = handler(request, ctx)
                for object_name, key, op in ctx.acks:
                    self.ack(object_name, key, op)
            return response

        return run

    def _batch(self, request: SimRequest) -> SimResponse:
        """Not under the lock as a whole: the runner locks per part (``sim.batch``)."""
        return self.batches.run(request.headers, request.body, Context(root(request)))

    def _configure_batches(self, options: Mapping[str, Any]) -> None:
        if STRICT in options or "batch_op_seconds" in options:
            chosen = strict_behaviours(options, STRICT_BEHAVIOURS, NOT_STRICT)
            seconds = float(chosen["batch_op_seconds"] or 0)
            if not 0 <= seconds <= 60:
                raise ValueError("batch_op_seconds must be between 0 and 60")
            self.batches.op_seconds = seconds
        if "batch_fault" in options:
            self.batches.fault = BatchFault.of(options["batch_fault"])

    def _resource(self, request: SimRequest, ctx: Context) -> SimResponse:
        body = request.body.decode("utf-8", "replace")
        return self.data.handle(
            request.method, request.params["resource"], request.query, request.headers, body, ctx
        )

    def _edit(self, request: SimRequest) -> SimResponse:
        """A change made in the Dynamics app by a user (not through the Web API)."""
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("fields") or {}, dict):
            return error_response(400, "expected {object, action, id, fields}")
        fields, action = body.get("fields") or {}, body.get("action", "update")
        with self.lock:
            store = self.data.stores.get(str(body.get("object")))
            if store is None:
                return error_response(404, f"no entity set {body.get('object')!r}")
            lookups = self.data.lookups(store, fields)
            if isinstance(lookups, SimResponse):
                return lookups
            values = {k: v for k, v in fields.items() if not k.endswith(BIND)}
            if action == "create":
                record = store.create(values, lookups=lookups)
            else:
                found = store.records.get(str(body.get("id", "")).lower())
                if found is None:
                    return error_response(404, "record not found")
                record = found
                if action == "delete":
                    store.delete(record)
                    return json_response(200, {"id": record.id})
                store.update(record, values, lookups)
            return json_response(200, store.native(record))

    def _token(self, request: SimRequest) -> SimResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        with self.lock:
            status, body = self.auth.issue(request.params["tenant"], form)
        return json_response(status, body, {"Cache-Control": "no-store, no-cache"})

    # SimApp hooks ------------------------------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        return error_response(status, message)

    def rate_limited_response(self) -> SimResponse:
        wait = max(1.0, self.fault.until - time.monotonic())
        limit, seconds = self.limits.protection_requests, self.limits.protection_seconds
        throttle = Throttle(REQUESTS_CODE, requests_message(limit, seconds), math.ceil(wait))
        return throttled(throttle, {"x-ms-ratelimit-burst-remaining-xrm-requests": "0"})

    def dump(self, object_name: str) -> list[dict[str, Any]]:
        store = self.data.stores.get(object_name)
        return [] if store is None else [store.native(r) for r in store.records.values()]

    def view(self, object_name: str) -> list[dict[str, Any]]:
        store = self.data.stores.get(object_name)
        if store is None:
            return []
        return [
            {"id": r.id, "key": store.key_of(r), "fields": dict(r.values)}
            for r in store.records.values()
        ]

    def associations(self) -> list[dict[str, Any]]:
        """Lookups bound with ``@odata.bind`` between records the environment holds."""
        out = []
        for child_set, child_store in sorted(self.data.stores.items()):
            for child in child_store.records.values():
                for _, lookup in sorted(child.lookups.items()):
                    parent_store = self.data.stores.get(lookup.target_set)
                    parent = parent_store.records.get(lookup.target_id) if parent_store else None
                    if parent_store is None or parent is None:
                        continue
                    out.append(
                        {
                            "from": child_set,
                            "from_key": child_store.key_of(child),
                            "to": lookup.target_set,
                            "to_key": parent_store.key_of(parent),
                            "type": lookup.nav,
                        }
                    )
        return out

    def reset(self) -> None:
        """Forget the records; the tables keep their columns and keys (custom ones included)."""
        self.data.stores = {
            name: TableStore(s.table, self.versions, s.ack_key)
            for name, s in self.data.stores.items()
        }
        self.data.counts = dict.fromkeys(self.data.counts, 0)
        self.limits.reset()
        self.auth.reset_counts()
        self.batches.reset_stats()
        self.batches.fault = None

    def configure(self, options: Mapping[str, Any]) -> None:
        super().configure(options)
        self.auth.configure(options)
        self.limits.configure(options)
        if "enforce_required" in options:
            self.data.enforce_required = bool(options["enforce_required"])
        if "max_batch" in options:
            self.data.max_batch = int(options["max_batch"])
        self._configure_batches(options)

    def extra_stats(self) -> dict[str, Any]:
        limit, seconds = self.limits.window
        return {
            "max_in_window": self.limits.max_in_window(),
            "rate_limit_requests": limit,
            "rate_limit_seconds": seconds,
            **self.auth.counts,
            **self.data.counts,
            **self.batches.stats,
            "records": {name: len(s.records) for name, s in self.data.stores.items()},
        }


def make_simulator(options: Mapping[str, Any] | None = None) -> DynamicsSim:
    return DynamicsSim(options)
