"""Pipedrive at the door: an API token (``x-api-token`` header or ``api_token`` parameter) or an
OAuth Bearer token, the burst window (and the search window) per token, the daily token budget
spent at each endpoint's cost, ``x-ratelimit-*`` on every answer and errors in the
``{"success": false, "error", …}`` envelope. The account answers one call at a time."""

from __future__ import annotations

from providers.pipedrive.sim.auth import Refusal, SimAuth
from providers.pipedrive.sim.http import error
from providers.simulation import SimRequest, SimResponse
from providers.simulation.guard import GuardPolicy, Headers, credential
from providers.simulation.tokens import Caller

COMPANY_HOST = "company"
"""The simulator's second host: ``{company}.pipedrive.com``, which token answers name as
``api_domain`` (the main host is ``api.pipedrive.com`` and ``oauth.pipedrive.com``)."""
COST = {
    "get": 1, "list": 10, "write": 5, "delete": 3, "search": 20, "fields": 20, "field": 10,
    "v1_list": 20,
}  # fmt: skip
"""Token costs per endpoint (API v2 ``x-token-cost``; v1 field endpoints and ``/v1/recents`` at
v1 prices)."""


def refused(refusal: Refusal, gateway: bool = False) -> SimResponse:
    """``gateway``: refused for its credential, which Pipedrive's gateway flags."""
    response = error(refusal.status, refusal.message, errorCode=refusal.status)
    response.headers.update(refusal.headers)
    if gateway and refusal.status == 401:
        response.headers["x-401-by-gw"] = "true"
    return response


class PipedrivePolicy(GuardPolicy[Caller]):
    """The door of the endpoints of one ``cost`` (a key of ``COST``)."""

    serial = True

    def __init__(self, auth: SimAuth, cost: str) -> None:
        self.auth = auth
        self.cost = cost

    def authenticate(self, request: SimRequest) -> Caller | SimResponse:
        api_token = request.header("x-api-token") or request.arg("api_token")
        bearer = credential(request.header("authorization"), "bearer")
        on_company_domain = request.host == COMPANY_HOST
        caller = self.auth.authenticate(api_token, bearer, on_company_domain)
        return refused(caller, gateway=True) if isinstance(caller, Refusal) else caller

    def admit(self, caller: Caller, request: SimRequest) -> Headers | SimResponse:
        search = self.cost == "search"
        verdict = self.auth.admit(caller, COST[self.cost], search=search)
        return refused(verdict) if isinstance(verdict, Refusal) else verdict
