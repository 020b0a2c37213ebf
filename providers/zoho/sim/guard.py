"""Zoho at the door: a ``Zoho-oauthtoken`` access token, then the org's credits, concurrency and
request window (429 ``TOO_MANY_REQUESTS``), ``X-API-CREDITS-REMAINING`` once half the credits
are spent, errors as ``{"code", "details", "message", "status": "error"}``. Calls overlap: each
is in flight from its admission to its answer."""

from __future__ import annotations

import json

from providers.simulation import SimRequest, SimResponse, json_response
from providers.simulation.guard import GuardPolicy, Headers, credential
from providers.zoho.sim.auth import Refusal, SimAuth, zoho_error
from providers.zoho.sim.records import BadCall
from providers.zoho.sim.schema import error

CODES = {
    400: "INVALID_DATA",
    401: "AUTHENTICATION_FAILURE",
    403: "NO_PERMISSION",
    404: "INVALID_URL_PATTERN",
    429: "TOO_MANY_REQUESTS",
}
API_HOST = "api"
"""The simulator's second host: ``www.zohoapis.<dc>`` beside the Accounts server (``main``)."""
ORG = "org"
"""The one caller: every token of the simulated org counts against the same limits."""


class UnknownModule(Exception):
    pass


def error_response(status: int, message: str) -> SimResponse:
    if status == 405:
        return json_response(400, zoho_error("INVALID_REQUEST_METHOD", message))
    code = CODES.get(status, "INTERNAL_ERROR")
    return json_response(status, zoho_error(code, message))


def refused(refusal: Refusal) -> SimResponse:
    return json_response(refusal.status, refusal.body, refusal.headers)


class ZohoPolicy(GuardPolicy[str]):
    def __init__(self, auth: SimAuth) -> None:
        self.auth = auth

    def authenticate(self, request: SimRequest) -> str | SimResponse:
        token = credential(request.header("authorization"), "zoho-oauthtoken")
        refusal = self.auth.authenticate(token, on_api_host=request.host == API_HOST)
        return ORG if refusal is None else refused(refusal)

    def admit(self, caller: str, request: SimRequest) -> Headers | SimResponse:
        refusal = self.auth.admit()
        return {} if refusal is None else refused(refusal)

    def failure(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, UnknownModule):
            body = error("INVALID_MODULE", "the module name given seems to be invalid",
                         resource_path_index=0)  # fmt: skip
            return json_response(400, body)
        if isinstance(exc, BadCall):
            return json_response(exc.status, exc.entry)
        if isinstance(exc, json.JSONDecodeError):
            return json_response(400, zoho_error("INVALID_DATA", "body is not valid JSON"))
        return None

    def finish(self, caller: str, admitted: Headers, elapsed_ms: float) -> Headers:
        self.auth.done()
        return self.auth.headers()
