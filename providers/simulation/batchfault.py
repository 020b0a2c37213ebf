"""A batch write that fails midway: the ``batch_fault`` simulator option.

A CRM front end that dies or stalls while a batch is applied leaves the first inputs written and
the rest not, and the client cannot tell how far it got. ``{"after": k, "status": s, "times": n,
"stall": seconds}``: the next ``n`` batch writes of more than ``k`` inputs apply their first
``k``, then answer ``s`` (a 5xx in the CRM's error envelope) or, with ``s`` 0, close the
connection unanswered; ``stall`` holds the answer that many seconds first (past a client's read
timeout, the client sees a timeout and nothing else). Simulators hold one ``BatchFaults`` and ask
it, under their lock, for the fault a batch meets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.simulation.app import SimResponse

MAX_STALL_SECONDS = 600.0
FIELDS = frozenset({"after", "status", "times", "stall"})


@dataclass
class BatchFault:
    """The next ``times`` batches longer than ``after`` inputs fail after applying ``after``."""

    after: int
    status: int
    times: int
    stall: float = 0.0

    @classmethod
    def of(cls, spec: Any) -> BatchFault | None:
        """From the option's value; None (or false) turns the fault off."""
        if spec is None or spec is False:
            return None
        if not isinstance(spec, Mapping) or set(spec) - FIELDS:
            raise ValueError(
                "batch_fault is {after: inputs, status: 5xx or 0, times: n, stall: seconds}"
            )
        try:
            fault = cls(
                int(spec.get("after", 0)),
                int(spec.get("status", 503)),
                int(spec.get("times", 1)),
                float(spec.get("stall", 0)),
            )
        except (TypeError, ValueError):
            raise ValueError("batch_fault: after, status and times are integers") from None
        if (
            fault.after < 0
            or fault.times < 0
            or not (fault.status == 0 or 500 <= fault.status < 600)
            or not 0 <= fault.stall <= MAX_STALL_SECONDS
        ):
            raise ValueError(
                "batch_fault: after >= 0, times >= 0, status 0 (drop) or 5xx, "
                f"stall 0..{MAX_STALL_SECONDS:g} s"
            )
        return fault

    def answer(self, error: Callable[[int], SimResponse]) -> SimResponse:
        """What the client gets: ``error(status)`` (the CRM's envelope), or a dropped
        connection; late by ``stall``."""
        response = SimResponse(0, drop=True) if self.status == 0 else error(self.status)
        response.delay = self.stall
        return response


class BatchFaults:
    """The configured fault and how many batches met it. Not thread-safe: the simulator holds
    its lock."""

    def __init__(self) -> None:
        self.fault: BatchFault | None = None
        self.met = 0

    def configure(self, options: Mapping[str, Any]) -> None:
        if "batch_fault" in options:
            self.fault = BatchFault.of(options["batch_fault"])

    def take(self, inputs: int) -> BatchFault | None:
        """The fault a batch of ``inputs`` meets, if it is long enough to reach it (counted)."""
        fault = self.fault
        if fault is None or fault.times < 1 or inputs <= fault.after:
            return None
        fault.times -= 1
        self.met += 1
        return fault

    def cut(self, inputs: Any) -> tuple[Any, BatchFault | None]:
        """A batch's ``inputs`` (a list; anything else passes) as far as the fault it meets
        lets them be applied, and that fault."""
        fault = self.take(len(inputs)) if isinstance(inputs, list) else None
        return (inputs, None) if fault is None else (inputs[: fault.after], fault)

    def reset(self) -> None:
        self.fault = None
        self.met = 0
