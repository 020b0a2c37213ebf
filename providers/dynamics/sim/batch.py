"""``POST /api/data/v9.2/$batch`` in the simulated environment.

Requests run in order and their answers come back in order. A change set is one transaction: when
one of its requests fails, the ones before it are rolled back and the change set answers with that
one error. Without ``Prefer: odata.continue-on-error`` processing stops at the first failure and
the batch answers 400; with it, every request runs and the batch answers 200. More than
``max_batch`` requests (1000) refuse the whole batch.

Dataverse runs a batch's requests one after another, so a batch takes as long as its requests
(https://learn.microsoft.com/en-us/powerapps/developer/data-platform/webapi/execute-batch-operations-using-web-api):
with ``op_seconds`` each request (each request of a change set) is applied that long after the
one before it, and the answer leaves when the last one is done. A client that stops waiting
changes nothing: the server goes on applying the batch. The simulator's lock is taken per part,
not for the whole batch, so other calls (and the tests' eyes) see a batch half applied.

``fault`` (``providers.simulation.batchfault``) fails the next batches that reach it midway: the
first ``after`` requests are applied, then the batch answers ``status`` (a 5xx in Dataverse's
error envelope) or, with status 0, the connection closes with no answer at all; ``stall`` holds
that answer back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from providers.dynamics import multipart
from providers.dynamics.defaults import API_PATH
from providers.dynamics.multipart import ChangeSet, HttpMessage, Part
from providers.dynamics.sim.api import Context, DataApi, dv_error
from providers.simulation import SimResponse
from providers.simulation.batchfault import BatchFault

CONTINUE_ON_ERROR = "odata.continue-on-error"
FAULT_MESSAGES = {
    500: ("0x80040216", "An unexpected error occurred."),
    502: ("0x80040216", "Bad Gateway"),
    503: ("0x80040216", "The service is temporarily unavailable."),
    504: ("0x80040216", "The operation has timed out."),
}
Ack = Callable[[str, str | None, str], None]


def _requests_in(part: Part) -> int:
    return len(part.messages) if isinstance(part, ChangeSet) else 1


def _faulted(fault: BatchFault) -> SimResponse:
    def error(status: int) -> SimResponse:
        code, message = FAULT_MESSAGES.get(status, ("0x80040216", "An unexpected error occurred."))
        return dv_error(status, code, message)

    return fault.answer(error)


def _as_part(response: SimResponse, content_id: str | None) -> HttpMessage:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return multipart.response(response.status, response.body.decode("utf-8"), headers, content_id)


class BatchRunner:
    def __init__(self, api: DataApi, lock: threading.RLock, ack: Ack) -> None:
        self.api = api
        self.lock = lock
        self.ack = ack
        self.op_seconds = 0.0
        self.fault: BatchFault | None = None
        self.stats: dict[str, float] = {}
        self.reset_stats()

    def reset_stats(self) -> None:
        self.stats = {"slowest_batch_seconds": 0.0, "largest_batch": 0, "batch_faults": 0}

    def run(self, headers: Mapping[str, str], body: bytes, ctx: Context) -> SimResponse:
        """Run one ``$batch``; takes the simulator's lock itself (per part)."""
        started = time.monotonic()
        content_type = headers.get("content-type")
        try:
            parts = multipart.read(content_type, body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return dv_error(
                400, "0x80048d19",
                "The batch request must have a 'Content-Type' header of multipart/mixed with a "
                f"boundary, and a body in that format: {exc}",
            )  # fmt: skip
        count = len(multipart.flatten(parts))
        if count > self.api.max_batch:
            return dv_error(
                400, "0x80048d19",
                f"The number of requests in the batch ({count}) exceeds the maximum of "
                f"{self.api.max_batch}.",
            )  # fmt: skip
        with self.lock:
            self.api.counts["batches"] += 1
            self.stats["largest_batch"] = max(self.stats["largest_batch"], count)
            fault = self._take_fault(count)
        keep_going = CONTINUE_ON_ERROR in (headers.get("prefer") or "").lower()
        answers: list[Part] = []
        failed = False
        applied = 0
        for part in parts:
            if fault is not None and applied + _requests_in(part) > fault.after:
                return self._finish(started, _faulted(fault))
            answer, ok = self._step(part, ctx)
            applied += _requests_in(part)
            answers.append(answer)
            if not ok:
                failed = True
                if not keep_going:
                    break
        answer_type, text = multipart.write(answers, "batchresponse")
        response_headers = {"Content-Type": answer_type, "OData-Version": "4.0"}
        if keep_going:
            response_headers["Preference-Applied"] = CONTINUE_ON_ERROR
        status = 400 if failed and not keep_going else 200
        return self._finish(started, SimResponse(status, text.encode("utf-8"), response_headers))

    def _take_fault(self, count: int) -> BatchFault | None:
        """The fault this batch meets, if it is long enough to reach it (locked)."""
        fault = self.fault
        if fault is None or fault.times < 1 or count <= fault.after:
            return None
        fault.times -= 1
        self.stats["batch_faults"] += 1
        return fault

    def _finish(self, started: float, response: SimResponse) -> SimResponse:
        with self.lock:
            took = time.monotonic() - started
            self.stats["slowest_batch_seconds"] = max(self.stats["slowest_batch_seconds"], took)
        return response

    def _step(self, part: Part, ctx: Context) -> tuple[Part, bool]:
        """One part, ``op_seconds`` per request after the previous part, applied under the lock
        and acknowledged at once."""
        if self.op_seconds > 0:
            time.sleep(self.op_seconds * _requests_in(part))
        inner = Context(ctx.root)
        with self.lock:
            done = self._change_set(part, inner) if isinstance(part, ChangeSet) else (
                self._single(part, inner))  # fmt: skip
            for object_name, key, op in inner.acks:
                self.ack(object_name, key, op)
        return done

    def _execute(self, message: HttpMessage, ctx: Context) -> SimResponse:
        url = urlsplit(message.url)
        path, marker = url.path, API_PATH + "/"
        at = path.find(marker)
        if at >= 0:
            resource = path[at + len(marker) :]
        elif not path.startswith("/"):
            resource = path
        else:
            return dv_error(404, "0x8006088a", f"Resource not found for the segment '{path}'.")
        if resource == "$batch":
            return dv_error(400, "0x80048d19", "A batch request cannot contain another batch.")
        query = parse_qs(url.query)
        return self.api.handle(message.method, resource, query, message.headers, message.body, ctx)

    def _single(self, message: HttpMessage, ctx: Context) -> tuple[Part, bool]:
        response = self._execute(message, ctx)
        return _as_part(response, message.content_id), response.status < 400

    def _change_set(self, change_set: ChangeSet, ctx: Context) -> tuple[Part, bool]:
        """All or nothing: a failure restores the tables as they were before the change set."""
        saved = {name: store.snapshot() for name, store in self.api.stores.items()}
        inner = Context(ctx.root)
        answers: list[HttpMessage] = []
        for message in change_set.messages:
            response = self._execute(message, inner)
            if response.status >= 400:
                for name, snapshot in saved.items():
                    self.api.stores[name].restore(snapshot)
                return _as_part(response, message.content_id), False
            answers.append(_as_part(response, message.content_id))
        ctx.acks.extend(inner.acks)
        return ChangeSet(answers), True
