"""HubSpot at the door: a Bearer token (private app or OAuth), a rolling window and a daily limit
per app, ``X-HubSpot-RateLimit-*`` on every answer, errors as ``{"status": "error", "message",
"correlationId", "category"}``."""

from __future__ import annotations

import json
from typing import Any

from providers.hubspot.sim.auth import Refusal, SimAuth
from providers.hubspot.sim.batch import BadBatch, Conflict
from providers.simulation import SimApp, SimRequest, SimResponse, json_response
from providers.simulation.guard import GuardPolicy, Headers, credential
from providers.simulation.tokens import Caller

CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    429: "RATE_LIMITS",
}


class UnknownObject(Exception):
    pass


def error_response(
    status: int, message: str, category: str | None = None, **extra: Any
) -> SimResponse:
    body = {
        "status": "error",
        "message": message,
        "correlationId": SimApp.correlation_id(),
        "category": category or CATEGORIES.get(status, "INTERNAL_ERROR"),
        **extra,
    }
    return json_response(status, body)


def refused(refusal: Refusal) -> SimResponse:
    response = error_response(refusal.status, refusal.message, refusal.category, **refusal.extra)
    response.headers.update(refusal.headers)
    return response


class HubSpotPolicy(GuardPolicy[Caller]):
    def __init__(self, auth: SimAuth) -> None:
        self.auth = auth

    def authenticate(self, request: SimRequest) -> Caller | SimResponse:
        caller = self.auth.authenticate(credential(request.header("authorization"), "bearer"))
        return refused(caller) if isinstance(caller, Refusal) else caller

    def admit(self, caller: Caller, request: SimRequest) -> Headers | SimResponse:
        verdict = self.auth.admit(caller)
        return refused(verdict) if isinstance(verdict, Refusal) else verdict

    def failure(self, exc: Exception) -> SimResponse | None:
        if isinstance(exc, UnknownObject):
            return error_response(400, f"Unable to infer object type from: {exc}")
        if isinstance(exc, BadBatch):
            return error_response(400, exc.message, errors=exc.details())
        if isinstance(exc, Conflict):
            return error_response(409, exc.message, "CONFLICT")
        if isinstance(exc, json.JSONDecodeError):
            return error_response(400, f"Invalid input JSON: {exc.msg}")
        return None
