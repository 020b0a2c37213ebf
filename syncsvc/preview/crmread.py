"""Reading the records a preview would write, as the CRM holds them now, within the connection's
rate limit (the same moving window the push workers use)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import requests

from providers.base import HttpTimeouts, ReadUnsupported
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.errors import ConfigError, RateLimited, SyncError
from syncsvc.preview.evaluate import RowOutcome
from syncsvc.ratelimit import ConnectionLimiter
from syncsvc.scrub import error_text
from syncsvc.settings import Settings

MAX_WAIT = 30.0
"""A preview waits at most this long in all for free slots of the connection's window."""

SINGLE_READ_GROUP = 10
T = TypeVar("T")

Wanted = dict[tuple[str, str], dict[str, list[str]]]
"""By (object, id property): the fields wanted per id value."""


@dataclass
class CrmRecords:
    """What the CRM holds now, by (object, id property value); ``unavailable`` says why it
    could not be read ("no CRM read"), ``calls`` how many API calls reading took."""

    found: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    asked: set[tuple[str, str]] = field(default_factory=set)
    unavailable: str | None = None
    calls: int = 0


class PatientThrottle:
    """The connection's limiter, but a CLI may wait for a free slot (up to ``MAX_WAIT`` in all)
    instead of giving up at once; every call is counted."""

    def __init__(self, acquire: Callable[[], None], clock: Callable[[], float] = time.monotonic):
        self.acquire = acquire
        self.clock = clock
        self.calls = 0
        self.waited = 0.0

    def __call__(self) -> None:
        self.patiently(self.acquire)
        self.calls += 1

    def patiently(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, again after each wait a rate limit asks for (ours, or a CRM-side
        window such as a search limit), within ``MAX_WAIT`` in all."""
        while True:
            try:
                return attempt()
            except RateLimited as exc:
                wait = float(exc.retry_after or 1.0)
                if self.waited + wait > MAX_WAIT:
                    raise
                time.sleep(wait)
                self.waited += wait


def _values_per_read(conn: RuntimeConnection) -> int:
    """A batch read's size; a CRM without batch calls reads one record per call (and its
    searches have their own burst window): small groups keep each call short."""
    if conn.provider.defaults.records_per_call == 1:
        return SINGLE_READ_GROUP
    return max(1, conn.batch_size)


def wanted_from(outcomes: Iterable[RowOutcome]) -> Wanted:
    wanted: Wanted = {}
    for outcome in outcomes:
        for result in outcome.results:
            if result.op is None or not result.object or not result.id_property:
                continue
            if result.id_value in (None, ""):
                continue
            names = wanted.setdefault((result.object, result.id_property), {})
            names[str(result.id_value)] = list((result.payload or {}).keys())
    return wanted


def read_current(settings: Settings, conn: RuntimeConnection, wanted: Wanted) -> CrmRecords:
    """Read every wanted record; the first failure ends reading with ``unavailable`` set."""
    out = CrmRecords()
    if not wanted:
        return out
    limiter = ConnectionLimiter(
        settings.broker_url,
        settings.redis_prefix,
        conn.id,
        conn.rate_limit_requests,
        conn.rate_limit_seconds,
    )
    throttle = PatientThrottle(limiter.acquire)
    try:
        client = conn.provider.client_class(
            conn.connection_info(settings),
            session=requests.Session(),
            timeouts=HttpTimeouts(settings.http_connect_timeout, settings.http_read_timeout),
            throttle=throttle,
        )
    except (SyncError, ConfigError) as exc:
        out.unavailable = error_text(f"no CRM read: {exc}")
        return out
    try:
        for (obj, id_property), by_value in wanted.items():
            values = list(by_value)
            fields = list(dict.fromkeys(f for names in by_value.values() for f in names))
            size = _values_per_read(conn)
            for start in range(0, len(values), size):
                part = values[start : start + size]
                held = throttle.patiently(
                    partial(client.read_by_key, obj, id_property, part, fields)
                )
                out.asked.update((obj, v) for v in part)
                out.found.update({(obj, v): record for v, record in held.items()})
    except ReadUnsupported as exc:
        out.unavailable = error_text(f"no CRM read: {exc}")
    except (SyncError, ConfigError, ValueError) as exc:
        out.unavailable = error_text(f"no CRM read: {conn.provider.name} unreachable: {exc}")
    finally:
        out.calls = throttle.calls
        client.close()
    return out
