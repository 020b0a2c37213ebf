"""The request/response model and the shared parts of every CRM simulator.

A simulator is a ``SimApp`` subclass that registers its CRM's routes. The base gives it:
fault injection, an acknowledgement log (for end-to-end latency), request statistics and the
``/_sim/...`` control endpoints that tests, the demo and the benchmark use.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from syncsvc.errors import ConfigError

MAX_BODY_BYTES = 32 * 1024 * 1024
ACK_LOG_LIMIT = 2_000_000
MAIN_HOST = "main"
"""The host every simulator serves: its API, and the control endpoints on every host."""
ACTIONS = frozenset({"expire_tokens", "revoke_refresh_tokens"})
"""``/_sim/config`` keys that do something once rather than set an option."""


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    host: str = MAIN_HOST
    """Which of the simulator's hosts the request came to (``SimApp.extra_hosts``)."""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before sending (the 'slow CRM' fault); the work is already done."""
    drop: bool = False
    """Close the connection without answering (a CRM front end that died mid-call)."""


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> SimResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    merged = {"Content-Type": "application/json;charset=utf-8"}
    merged.update(headers or {})
    return SimResponse(status, body, merged)


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> SimResponse:
    return SimResponse(status, b"", dict(headers or {}))


Handler = Callable[[SimRequest], SimResponse]


def _outside(options: Mapping[str, Any], allowed: frozenset[str] | None) -> list[str]:
    """The option names not in ``allowed`` (None allows any), sorted."""
    return [] if allowed is None else sorted(set(options) - allowed)


FAULT_MODES = frozenset({"none", "http_error", "rate_limit", "slow", "refuse", "lose_answer"})


@dataclass
class Fault:
    """An injected misbehaviour, active until ``until`` (monotonic seconds) and, when set, for
    ``remaining`` more requests; ``method`` and ``path`` (a prefix), when set, limit the faults
    that act after the request was handled (``slow``, ``lose_answer``) to those requests."""

    mode: str = "none"
    until: float = 0.0
    status: int = 500
    delay: float = 0.0
    method: str | None = None
    path: str | None = None
    remaining: int | None = None

    def active(self) -> bool:
        return (
            self.mode != "none"
            and time.monotonic() < self.until
            and (self.remaining is None or self.remaining > 0)
        )

    def hits(self, method: str | None = None, path: str = "") -> bool:
        """Whether the fault applies to a request (``method`` None: any); counts it."""
        if not self.active():
            return False
        if method is not None and self.method not in (None, method):
            return False
        if method is not None and self.path is not None and not path.startswith(self.path):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


class RollingWindow:
    """A rolling request window: at most ``limit`` hits in any ``seconds``."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.hits: deque[float] = deque()
        self.max_seen = 0

    def _trim(self, now: float) -> None:
        while self.hits and self.hits[0] <= now - self.seconds:
            self.hits.popleft()

    def try_hit(self) -> bool:
        now = time.monotonic()
        self._trim(now)
        if len(self.hits) >= self.limit:
            return False
        self.hits.append(now)
        self.max_seen = max(self.max_seen, len(self.hits))
        return True

    def remaining(self) -> int:
        self._trim(time.monotonic())
        return max(0, self.limit - len(self.hits))

    def reset_in(self) -> float:
        """Seconds until the oldest hit leaves the window."""
        now = time.monotonic()
        self._trim(now)
        if not self.hits:
            return 0.0
        return max(0.0, self.hits[0] + self.seconds - now)


class SimApp:
    """Base of every simulator: routing, faults, acks and control endpoints."""

    name = "sim"
    known_options: frozenset[str] | None = None
    """The options a simulator starts with (None: any); another one raises ``ConfigError``."""
    runtime_options: frozenset[str] | None = None
    """The options ``/_sim/config`` may change (None: any); another one is refused."""
    extra_hosts: tuple[str, ...] = ()
    """Hosts of the CRM served beside the main one (each on its own port of a ``SimServer``),
    e.g. Zoho's API host beside its Accounts server."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})
        unknown = _outside(self.options, self.known_options)
        if unknown:
            raise ConfigError(f"{self.name} simulator: unknown option(s) {unknown}")
        self.lock = threading.RLock()
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.fault = Fault()
        self.acks: deque[dict[str, Any]] = deque(maxlen=ACK_LOG_LIMIT)
        self.ack_seq = 0
        self.stats: dict[str, int] = {"requests": 0, "throttled": 0, "errors": 0, "faulted": 0}
        self.refuse_hook: Callable[[float], None] | None = None
        self.host_urls: dict[str, str] = {}
        """``{host name: base URL}``, set by the ``SimServer`` that serves this app."""
        self.reject_values: frozenset[str] = frozenset()
        """Values a CRM-side validation rule refuses: a record carrying one fails on its own,
        in the CRM's native per-record error shape (set with ``/_sim/config``)."""
        self._register_control_routes()

    # routing -----------------------------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        compiled = re.compile("^" + pattern + "$")

        def register(handler: Handler) -> Handler:
            self.routes.append((method, compiled, handler))
            return handler

        return register

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile("^" + pattern + "$"), handler))

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
        host: str = MAIN_HOST,
    ) -> SimResponse:
        path, _, query = raw_path.partition("?")
        request = SimRequest(method, path, parse_qs(query), headers, body, host=host)
        is_control = path.startswith("/_sim/")
        if not is_control:
            with self.lock:
                self.stats["requests"] += 1
            faulted = self.apply_fault()
            if faulted is not None:
                with self.lock:
                    self.stats["faulted"] += 1
                return faulted
        path_matched = False
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            path_matched = True
            if route_method != method:
                continue
            request.params = match.groupdict()
            try:
                response = handler(request)
            except json.JSONDecodeError as exc:
                response = self.error_response(400, f"Invalid JSON body: {exc.msg}")
            except (
                Exception
            ) as exc:  # a simulator bug must look like a CRM 500, not a dropped socket
                response = self.error_response(500, f"Internal simulator error: {exc!r}")
            if not is_control and self.fault.mode in ("slow", "lose_answer"):
                with self.lock:
                    fault = self.fault
                    hit = fault.hits(method, path)
                    if hit and fault.mode == "lose_answer":
                        self.stats["faulted"] += 1
                if hit and fault.mode == "slow":
                    response.delay = fault.delay
                elif hit:
                    response.drop = True
            if response.status >= 400:
                with self.lock:
                    self.stats["errors"] += 1
            return response
        if path_matched:
            return self.error_response(405, f"Method {method} not allowed on {path}")
        return self.error_response(404, f"Unable to route {method} {path}")

    def host_url(self, name: str, request: SimRequest) -> str:
        """The base URL of host ``name`` as a token answer names it; served by no
        ``SimServer`` (an app called directly), the host ``request`` was sent to."""
        url = self.host_urls.get(name)
        return url if url is not None else "http://" + (request.header("host") or "127.0.0.1")

    # hooks a CRM simulator overrides -----------------------------------------------------
    def error_response(self, status: int, message: str) -> SimResponse:
        """An error in this CRM's envelope."""
        return json_response(status, {"status": "error", "message": message})

    def rate_limited_response(self) -> SimResponse:
        """What this CRM answers when it throttles (used by the ``rate_limit`` fault)."""
        return self.error_response(429, "Too many requests")

    def dump(self, object_name: str) -> list[dict[str, Any]]:
        """Everything stored for ``object_name`` (active records only), in the CRM's own shape."""
        return []

    def view(self, object_name: str) -> list[dict[str, Any]]:
        """Active records as ``{"id": crm id, "key": upsert-key value, "fields": {flat}}``: the
        same shape for every CRM, so one test suite can read any simulator."""
        return []

    def associations(self) -> list[dict[str, Any]]:
        """Every link between two records the account holds, as ``{"from": object, "from_key",
        "to": object, "to_key", "type"}`` (keys as ``view`` names records): the same shape for
        every CRM, whether it links by association records or by lookup fields."""
        return []

    def rejected_field(self, fields: Mapping[str, Any]) -> str | None:
        """The first field whose value a validation rule refuses (see ``reject_values``)."""
        if not self.reject_values:
            return None
        for name, value in fields.items():
            if isinstance(value, str) and value in self.reject_values:
                return name
        return None

    def reset(self) -> None:
        """Forget all stored records."""

    def configure(self, options: Mapping[str, Any]) -> None:
        """Change limits or behaviour at run time (``POST /_sim/config``); a simulator extends
        this to apply what changed."""
        unknown = _outside(options, self.runtime_options)
        if unknown:
            raise ValueError(f"{self.name} simulator: cannot change {unknown} at run time")
        self.options.update({k: v for k, v in options.items() if k not in ACTIONS})

    # shared behaviour --------------------------------------------------------------------
    def apply_fault(self) -> SimResponse | None:
        """The answer instead of the handler's for a fault that stops the request at the door."""
        fault = self.fault
        if fault.mode not in ("http_error", "rate_limit"):
            return None
        with self.lock:
            if not fault.hits(None):
                return None
        if fault.mode == "http_error":
            return self.error_response(fault.status, "Injected server error")
        if fault.mode == "rate_limit":
            with self.lock:
                self.stats["throttled"] += 1
            return self.rate_limited_response()
        return None

    def ack(self, object_name: str, key: str | None, op: str) -> None:
        """Record that a write was applied (for latency and duplicate checks)."""
        with self.lock:
            self.ack_seq += 1
            self.acks.append(
                {
                    "seq": self.ack_seq,
                    "object": object_name,
                    "key": key,
                    "op": op,
                    "at": time.time(),
                }
            )

    @staticmethod
    def correlation_id() -> str:
        return str(uuid.uuid4())

    def _register_control_routes(self) -> None:
        self.add_route(
            "GET", "/_sim/health", lambda r: json_response(200, {"ok": True, "sim": self.name})
        )
        self.add_route("POST", "/_sim/faults", self._set_fault)
        self.add_route("GET", "/_sim/records", self._records)
        self.add_route("GET", "/_sim/view", self._view)
        self.add_route("GET", "/_sim/acks", self._acks)
        self.add_route("GET", "/_sim/associations", self._associations)
        self.add_route("GET", "/_sim/stats", self._stats)
        self.add_route("POST", "/_sim/reset", self._reset)
        self.add_route("POST", "/_sim/config", self._configure)
        self.add_route("GET", "/_sim/hosts", lambda r: json_response(200, self.host_urls))

    def _set_fault(self, request: SimRequest) -> SimResponse:
        spec = request.json() or {}
        mode = spec.get("mode", "none")
        seconds = float(spec.get("seconds", 0))
        if mode not in FAULT_MODES:
            return json_response(400, {"error": f"unknown fault mode {mode!r}"})
        method = spec.get("method")
        path = spec.get("path")
        count = spec.get("count")
        if path is not None and (not isinstance(path, str) or len(path) > 200):
            return json_response(400, {"error": "path must be a string of at most 200 characters"})
        if method is not None and method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            return json_response(400, {"error": f"unknown method {method!r}"})
        if count is not None and (type(count) is not int or count < 1):
            return json_response(400, {"error": "count must be a positive integer"})
        if mode == "refuse":
            if self.refuse_hook is None:
                return json_response(400, {"error": "this server cannot refuse connections"})
            self.refuse_hook(seconds)
            return json_response(200, {"mode": mode, "seconds": seconds})
        self.fault = Fault(
            mode=mode,
            until=time.monotonic() + seconds,
            status=int(spec.get("status", 500)),
            delay=float(spec.get("delay", 0)),
            method=method,
            path=path,
            remaining=count,
        )
        return json_response(200, {"mode": mode, "seconds": seconds})

    def _records(self, request: SimRequest) -> SimResponse:
        object_name = request.arg("object", "") or ""
        with self.lock:
            records = self.dump(object_name)
        return json_response(200, {"object": object_name, "records": records})

    def _view(self, request: SimRequest) -> SimResponse:
        object_name = request.arg("object", "") or ""
        with self.lock:
            records = self.view(object_name)
        return json_response(200, {"object": object_name, "records": records})

    def _associations(self, _: SimRequest) -> SimResponse:
        with self.lock:
            return json_response(200, {"associations": self.associations()})

    def _acks(self, request: SimRequest) -> SimResponse:
        since = int(request.arg("since", "0") or 0)
        limit = int(request.arg("limit", "100000") or 100000)
        with self.lock:  # seqs are consecutive: the log's first is ack_seq - len + 1
            start = max(0, since - (self.ack_seq - len(self.acks)))
            out = list(itertools.islice(self.acks, start, start + max(0, limit)))
        return json_response(200, {"acks": out, "last": self.ack_seq})

    def _stats(self, _: SimRequest) -> SimResponse:
        with self.lock:
            return json_response(200, {**self.stats, **self.extra_stats()})

    def extra_stats(self) -> dict[str, Any]:
        return {}

    def _reset(self, _: SimRequest) -> SimResponse:
        with self.lock:
            self.reset()
            self.acks.clear()
            self.stats = dict.fromkeys(self.stats, 0)
            self.fault = Fault()
            self.reject_values = frozenset()
        return json_response(200, {"reset": True})

    def _configure(self, request: SimRequest) -> SimResponse:
        options = dict(request.json() or {})
        try:
            with self.lock:
                if "reject_values" in options:
                    values = options.pop("reject_values")
                    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                        raise ValueError("reject_values must be a list of strings")
                    self.reject_values = frozenset(values)
                if options:
                    self.configure(options)
        except (TypeError, ValueError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(200, {"options": self.options})
