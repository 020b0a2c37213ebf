"""Dataverse at the door: an Entra Bearer token (else 401 with an empty body and
``WWW-Authenticate``), the service-protection limits per application user (429 with
``Retry-After``), ``x-ms-ratelimit-*`` and ``REQ_ID`` on every answer, errors as
``{"error": {"code", "message"}}``. Calls overlap; each one's execution time counts."""

from __future__ import annotations

from collections.abc import Mapping

from providers.dynamics.defaults import API_PATH
from providers.dynamics.sim.api import dv_error
from providers.dynamics.sim.auth import Refusal, SimAuth
from providers.dynamics.sim.limits import Limits, Throttle
from providers.simulation import SimApp, SimRequest, SimResponse, empty_response
from providers.simulation.guard import GuardPolicy, Headers, credential

ERROR_CODES = {400: "0x80048d19", 401: "0x8005f101", 404: "0x8006088a", 405: "0x80060888"}
"""Envelope codes for answers the base class builds (routing misses, injected faults)."""


def root(request: SimRequest) -> str:
    """``http://host/api/data/v9.2``: the service root the call was made to."""
    return f"http://{request.header('host') or 'localhost'}{API_PATH}"


def error_response(status: int, message: str) -> SimResponse:
    return dv_error(status, ERROR_CODES.get(status, "0x80040216"), message)


def throttled(throttle: Throttle, headers: Mapping[str, str]) -> SimResponse:
    response = dv_error(429, throttle.code, throttle.message)
    response.headers.update(headers)
    response.headers["Retry-After"] = throttle.header
    return response


class DynamicsPolicy(GuardPolicy[str]):
    """The caller is the application user (its client id)."""

    def __init__(self, auth: SimAuth, limits: Limits) -> None:
        self.auth = auth
        self.limits = limits

    def authenticate(self, request: SimRequest) -> str | SimResponse:
        token = credential(request.header("authorization"), "bearer")
        caller = self.auth.authenticate(token, root(request)[: -len(API_PATH)])
        if isinstance(caller, Refusal):
            return empty_response(caller.status, caller.headers)
        return caller

    def admit(self, caller: str, request: SimRequest) -> Headers | SimResponse:
        throttle = self.limits.admit(caller)
        return {} if throttle is None else throttled(throttle, self.limits.headers(caller))

    def finish(self, caller: str, admitted: Headers, elapsed_ms: float) -> Headers:
        self.limits.done(caller, elapsed_ms)
        return {**self.limits.headers(caller), "REQ_ID": SimApp.correlation_id()}
