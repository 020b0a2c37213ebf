"""The shared door of the simulators: authenticate, admit, run, finish — in that order."""

from __future__ import annotations

import pytest

from providers.simulation import SimApp, SimRequest, SimResponse, json_response
from providers.simulation.app import Handler
from providers.simulation.guard import Guard, GuardPolicy, Headers, credential


class Known(Exception):
    pass


class Policy(GuardPolicy[str]):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def authenticate(self, request: SimRequest) -> str | SimResponse:
        self.calls.append("authenticate")
        token = credential(request.header("authorization"), "bearer")
        return token if token else json_response(401, {"who": None})

    def admit(self, caller: str, request: SimRequest) -> Headers | SimResponse:
        self.calls.append("admit")
        return json_response(429, {"slow": "down"}) if caller == "busy" else {"X-Admit": caller}

    def failure(self, exc: Exception) -> SimResponse | None:
        return json_response(400, {"known": str(exc)}) if isinstance(exc, Known) else None

    def finish(self, caller: str, admitted: Headers, elapsed_ms: float) -> Headers:
        self.calls.append("finish")
        return {**admitted, "X-Finish": caller}


class SerialPolicy(Policy):
    serial = True


def call(app: SimApp, authorization: str | None) -> SimResponse:
    headers = {"authorization": authorization} if authorization else {}
    return app.handle("GET", "/thing", headers, b"")


def guarded_app(policy: Policy, handler: Handler) -> SimApp:
    app = SimApp()
    app.add_route("GET", "/thing", Guard(app, policy)(handler))
    return app


def test_a_call_is_authenticated_admitted_run_and_finished() -> None:
    policy = Policy()
    app = guarded_app(policy, lambda r: json_response(200, {"ok": True}))
    response = call(app, "Bearer ada")
    assert response.status == 200
    assert response.headers["X-Admit"] == "ada" and response.headers["X-Finish"] == "ada"
    assert policy.calls == ["authenticate", "admit", "finish"]


def test_refusals_answer_without_running_and_only_admission_counts_as_throttled() -> None:
    ran: list[str] = []

    def handler(request: SimRequest) -> SimResponse:
        ran.append(request.path)
        return json_response(200, {})

    policy = Policy()
    app = guarded_app(policy, handler)
    assert call(app, None).status == 401
    assert call(app, "Basic ada").status == 401
    assert call(app, "Bearer busy").status == 429
    assert ran == [] and app.stats["throttled"] == 1
    assert "finish" not in policy.calls


def test_a_known_exception_is_the_crms_error_and_still_finishes() -> None:
    def handler(request: SimRequest) -> SimResponse:
        raise Known("bad input")

    policy = Policy()
    response = call(guarded_app(policy, handler), "Bearer ada")
    assert (response.status, response.headers["X-Finish"]) == (400, "ada")


def test_another_exception_reaches_the_app_after_finishing() -> None:
    def handler(request: SimRequest) -> SimResponse:
        raise RuntimeError("bug")

    policy = Policy()
    response = call(guarded_app(policy, handler), "Bearer ada")
    assert response.status == 500 and "X-Finish" not in response.headers
    assert policy.calls[-1] == "finish"


@pytest.mark.parametrize("serial", [True, False])
def test_serial_runs_the_handler_in_the_admitting_critical_section(serial: bool) -> None:
    held: list[bool] = []
    app = SimApp()

    def handler(request: SimRequest) -> SimResponse:
        held.append(app.lock._is_owned())  # type: ignore[attr-defined]
        return json_response(200, {})

    app.add_route("GET", "/thing", Guard(app, SerialPolicy() if serial else Policy())(handler))
    assert call(app, "Bearer ada").status == 200
    assert held == [serial]


def test_credential_reads_the_token_of_the_given_schemes() -> None:
    assert credential("Bearer  abc ", "bearer") == "abc"
    assert credential("OAuth abc", "bearer", "oauth") == "abc"
    assert credential("Bearer", "bearer") == ""
    assert credential("Basic abc", "bearer") is None
    assert credential(None, "bearer") is None
