"""``POST /api/data/v9.2/$batch`` in the simulated environment.

Requests run in order and their answers come back in order. A change set is one transaction: when
one of its requests fails, the ones before it are rolled back and the change set answers with that
one error. Without ``Prefer: odata.continue-on-error`` processing stops at the first failure and
the batch answers 400; with it, every request runs and the batch answers 200. More than
``max_batch`` requests (1000) refuse the whole batch. Callers hold the simulator's lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from providers.dynamics import multipart
from providers.dynamics.defaults import API_PATH
from providers.dynamics.multipart import ChangeSet, HttpMessage, Part
from providers.dynamics.sim.api import Context, DataApi, dv_error
from providers.simulation import SimResponse

CONTINUE_ON_ERROR = "odata.continue-on-error"


def _as_part(response: SimResponse, content_id: str | None) -> HttpMessage:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return multipart.response(response.status, response.body.decode("utf-8"), headers, content_id)


class BatchRunner:
    def __init__(self, api: DataApi) -> None:
        self.api = api

    def run(self, headers: Mapping[str, str], body: bytes, ctx: Context) -> SimResponse:
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
        self.api.counts["batches"] += 1
        keep_going = CONTINUE_ON_ERROR in (headers.get("prefer") or "").lower()
        answers: list[Part] = []
        failed = False
        for part in parts:
            answer, ok = self._change_set(part, ctx) if isinstance(part, ChangeSet) else (
                self._single(part, ctx))  # fmt: skip
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
        return SimResponse(status, text.encode("utf-8"), response_headers)

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
