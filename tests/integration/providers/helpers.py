"""What the provider tests share: simulators on free ports, the demo OAuth client, results by
outbox id."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from providers.base import PushResult
from providers.simulation import SimApp, SimServer

S = TypeVar("S", bound=SimApp)

OAUTH = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "refresh_token": "demo-refresh-token",
}
"""The OAuth client every simulator knows by default (Dynamics' has a tenant instead)."""


@contextmanager
def serving(sim: S) -> Iterator[tuple[SimServer, S]]:
    """``sim`` on a free local port until the block ends."""
    server = SimServer(sim, port=0).start()
    try:
        yield server, sim
    finally:
        server.stop()


@contextmanager
def simulators(
    make_simulator: Callable[[dict[str, Any]], S],
) -> Iterator[Callable[..., tuple[SimServer, S]]]:
    """``start(**options)`` serves a new simulator made with those options; every one started
    stops when the block ends."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(serving(make_simulator(options)))


def push_until_tokens(
    sim: SimApp,
    push: Callable[[int], PushResult],
    within: float = 10.0,
    pause: float = 0.02,
    tokens: int = 3,
) -> int:
    """``push(1)``, ``push(2)``, … (each must succeed) until ``sim`` has issued ``tokens``
    access tokens, which must happen ``within`` seconds; how many were pushed."""
    deadline = time.monotonic() + within
    pushed = 0
    while sim.extra_stats()["tokens_issued"] < tokens:
        assert time.monotonic() < deadline, "the client never renewed its token"
        pushed += 1
        assert push(pushed).ok
        time.sleep(pause)
    return pushed


def by_id(results: Iterable[PushResult]) -> dict[int, PushResult]:
    """Results by outbox id; fails when an item got more than one."""
    found: dict[int, PushResult] = {}
    for result in results:
        assert result.outbox_id not in found, "one result per item"
        found[result.outbox_id] = result
    return found
