"""The door every simulated API call goes through: who calls, may they, then the call itself.

The sequence is the same for every CRM and lives here; a CRM's ``GuardPolicy`` says what differs:
how it reads the caller's credential, how it counts a call against its limits, and the status,
body and headers of its refusals and errors.

1. ``authenticate`` (under the simulator's lock): the caller, or the answer to a missing,
   unknown or expired credential.
2. ``admit`` (locked): the headers the answer will carry, or the refusal to send instead (a
   429, or Salesforce's 403); a refusal counts in ``stats["throttled"]``.
3. The handler. With ``serial`` the whole call stays under the lock (the next call is admitted
   after this one is answered); otherwise the handler takes the lock itself where it needs it,
   so calls overlap as they do at the CRM (concurrency limits can be reached). ``failure`` turns
   an exception the CRM knows into its error envelope; any other reaches ``SimApp.handle``.
4. ``finish`` (locked, also when the handler raised): closes the call's accounting and gives the
   headers added to the answer.
"""

from __future__ import annotations

import abc
import time
from typing import ClassVar, Generic, TypeVar

from providers.simulation.app import Handler, SimApp, SimRequest, SimResponse

C = TypeVar("C")
Headers = dict[str, str]


def credential(authorization: str | None, *schemes: str) -> str | None:
    """The token of an ``Authorization`` value when its scheme is one of ``schemes`` (lower
    case; the header's may be any case), stripped and possibly empty; None for another scheme."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() in schemes else None


class GuardPolicy(abc.ABC, Generic[C]):
    """What one CRM does at the door; ``C`` is whatever identifies its caller."""

    serial: ClassVar[bool] = False
    """Run the handler inside the critical section that admitted the call."""

    @abc.abstractmethod
    def authenticate(self, request: SimRequest) -> C | SimResponse:
        """The caller, or the CRM's answer to a bad credential."""

    @abc.abstractmethod
    def admit(self, caller: C, request: SimRequest) -> Headers | SimResponse:
        """Count the call: the headers to answer with, or the CRM's refusal."""

    def failure(self, exc: Exception) -> SimResponse | None:
        """The CRM's answer to an exception of its handlers (None: not one of its own)."""
        return None

    def finish(self, caller: C, admitted: Headers, elapsed_ms: float) -> Headers:
        """End the call's accounting; the headers the answer carries."""
        return admitted


class Guard(Generic[C]):
    """Wraps a simulator's API handlers in its CRM's ``GuardPolicy``."""

    def __init__(self, app: SimApp, policy: GuardPolicy[C]) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, handler: Handler) -> Handler:
        def guarded(request: SimRequest) -> SimResponse:
            with self.app.lock:
                caller = self.policy.authenticate(request)
                if isinstance(caller, SimResponse):
                    return caller
                admitted = self.policy.admit(caller, request)
                if isinstance(admitted, SimResponse):
                    self.app.stats["throttled"] += 1
                    return admitted
                if self.policy.serial:
                    return self._run(handler, request, caller, admitted)
            return self._run(handler, request, caller, admitted)

        return guarded

    def _run(
        self, handler: Handler, request: SimRequest, caller: C, admitted: Headers
    ) -> SimResponse:
        started = time.perf_counter()
        try:
            try:
                response = handler(request)
            except Exception as exc:
                known = self.policy.failure(exc)
                if known is None:
                    raise
                response = known
        finally:
            with self.app.lock:
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = self.policy.finish(caller, admitted, elapsed_ms)
        response.headers.update(headers)
        return response
