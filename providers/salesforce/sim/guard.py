"""Salesforce at the door: a session id (``Bearer`` or ``OAuth``), the daily API allocation and
the short window (both refused with 403 ``REQUEST_LIMIT_EXCEEDED``), ``Sforce-Limit-Info`` on
every answer, errors as ``[{"message", "errorCode"}]``. The org answers one call at a time."""

from __future__ import annotations

import json
from collections.abc import Callable

from providers.salesforce.sim.auth import ORG_ID, Refusal, SimAuth
from providers.salesforce.sim.writes import VALUE_CODES, BadRequest
from providers.simulation import SimRequest, SimResponse, json_response
from providers.simulation.guard import GuardPolicy, Headers, credential

CODES = {
    400: "JSON_PARSER_ERROR",
    401: "INVALID_SESSION_ID",
    403: "INSUFFICIENT_ACCESS",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    500: "UNKNOWN_EXCEPTION",
}


def error_response(status: int, message: str, code: str | None = None) -> SimResponse:
    default = "SERVER_UNAVAILABLE" if status in (502, 503, 504) else "UNKNOWN_EXCEPTION"
    code = code or CODES.get(status, default)
    return json_response(status, [{"message": message, "errorCode": code}])


def refused(refusal: Refusal) -> SimResponse:
    return json_response(refusal.status, refusal.body(), refusal.headers)


class SalesforcePolicy(GuardPolicy[str]):
    serial = True

    def __init__(self, auth: SimAuth, refused: Callable[[str], None] = lambda code: None) -> None:
        self.auth = auth
        self.refused = refused
        """Called with the code of a whole request refused for a value (``VALUE_CODES``)."""

    def authenticate(self, request: SimRequest) -> str | SimResponse:
        token = credential(request.header("authorization"), "bearer", "oauth")
        refusal = self.auth.authenticate(token)
        return ORG_ID if refusal is None else refused(refusal)

    def admit(self, caller: str, request: SimRequest) -> Headers | SimResponse:
        refusal = self.auth.admit()
        return {} if refusal is None else refused(refusal)

    def failure(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, BadRequest):
            if exc.status == 400 and exc.code in VALUE_CODES:
                self.refused(exc.code)
            return error_response(exc.status, exc.message, exc.code)
        if isinstance(exc, json.JSONDecodeError):
            message = f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
            return error_response(400, message, "JSON_PARSER_ERROR")
        return None

    def finish(self, caller: str, admitted: Headers, elapsed_ms: float) -> Headers:
        return self.auth.limit_info()
