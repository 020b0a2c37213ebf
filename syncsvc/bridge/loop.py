"""The bridge's main loop: wake on NOTIFY or poll, claim, enqueue chains, mark; survive restarts."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import kombu.exceptions
import psycopg
import redis
from psycopg import sql

from syncsvc.bridge.claim import Claim, claim_events, describe, in_flight, mark, plan
from syncsvc.config.runtime import RuntimeConfigCache
from syncsvc.db import Row, connect
from syncsvc.errors import DatabaseUnavailable
from syncsvc.pipeline.batch import Batch
from syncsvc.settings import Settings

log = logging.getLogger("syncsvc.bridge")

CHANNEL = "syncsvc"
STALE_CHECK_SECONDS = 5.0
MAX_BACKOFF = 10.0
MAX_QUEUED_CHAINS = 50
"""While more chains than this wait in the sync queues the workers are behind. The bridge then
claims nothing: new events gather in ``sync_event`` and the next claim carries them in fewer,
bigger chains (a chain per one or two events is what saturates the workers), and stale events
are not re-dispatched, as their own chains are most likely still queued. Backfill chains wait
behind live ones in the queues, so only live chains count against live events: while the
workers are behind with backfill work alone, the bridge still claims live events (only), at
most every ``LIVE_CLAIM_SECONDS``."""
LIVE_CLAIM_SECONDS = 0.25
"""While the workers are behind, live events are claimed this often, not at each commit: they
gather into chains big enough that chain overhead does not eat the workers' time (a chain per
few events at 500 changes/s would), at a cost of at most this much latency."""

Enqueue = Callable[[str, Batch], None]


@dataclass(frozen=True)
class Backlog:
    """Chains waiting in the sync queues."""

    live: int = 0
    backfill: int = 0


@dataclass
class BridgeStats:
    claims: int = 0
    events: int = 0
    batches: int = 0
    redispatched: int = 0


class Bridge:
    """One trigger receiver. Any number may run: SKIP LOCKED keeps their claims disjoint."""

    def __init__(
        self,
        settings: Settings,
        enqueue: Enqueue,
        on_captured: Callable[[int, int], None] | None = None,
        stop: threading.Event | None = None,
        backlog: Callable[[], Backlog] | None = None,
        pause_before_mark: float = 0.0,
    ) -> None:
        """``pause_before_mark`` is a fault-injection hook for the test suite: seconds to sleep
        between enqueueing a claim's chains and marking its events, so that a test can kill the
        bridge exactly there. Never set it in production."""
        self.settings = settings
        self.pause_before_mark = pause_before_mark
        self.enqueue = enqueue
        self.backlog = backlog or Backlog
        self.on_captured = on_captured or (lambda _cid, _n: None)
        self.stop = stop or threading.Event()
        self.config = RuntimeConfigCache()
        self.stats = BridgeStats()
        self._listen: psycopg.Connection[Row] | None = None
        self._work: psycopg.Connection[Row] | None = None
        self._last_stale_check = 0.0
        self._last_live_claim = 0.0
        self._throttled_logged = False
        self._held_logged = False

    # connections -----------------------------------------------------------------------
    def _connect(self) -> None:
        self._close()
        self._listen = connect(
            self.settings.db_url, autocommit=True, application_name="syncsvc-bridge"
        )
        self._listen.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        self._work = connect(self.settings.db_url, application_name="syncsvc-bridge")
        log.info("bridge connected and listening on %r", CHANNEL)

    def _close(self) -> None:
        for conn in (self._listen, self._work):
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        self._listen = self._work = None

    # one cycle -------------------------------------------------------------------------
    def step(self) -> int:
        """Claim and dispatch one batch of new events (plus stale ones now and then)."""
        assert self._work is not None
        queued = self.backlog()
        if queued.live > MAX_QUEUED_CHAINS:
            if not self._held_logged:
                log.info("%d chains queued: claiming again once the workers catch up", queued.live)
                self._held_logged = True
            return 0
        self._held_logged = False
        if queued.live + queued.backfill > MAX_QUEUED_CHAINS:
            now = time.monotonic()
            if now - self._last_live_claim < LIVE_CLAIM_SECONDS:
                return 0
            self._last_live_claim = now
            return self._dispatch(stale_after=None, live_only=True)
        handled = self._dispatch(stale_after=None)
        now = time.monotonic()
        if now - self._last_stale_check >= STALE_CHECK_SECONDS:
            self._last_stale_check = now
            redispatched = self._dispatch(stale_after=self.settings.bridge_redispatch_seconds)
            if redispatched:
                self.stats.redispatched += redispatched
                log.warning("re-dispatched %d events whose chain did not persist", redispatched)
        return handled

    def _dispatch(self, stale_after: int | None, live_only: bool = False) -> int:
        db = self._work
        assert db is not None
        with db.transaction():
            cap = self.settings.bridge_max_inflight
            if stale_after is None and in_flight(db, cap) >= cap:
                if not self._throttled_logged:
                    log.warning(
                        "%d events in flight: waiting for workers before claiming more", cap
                    )
                    self._throttled_logged = True
                return 0
            self._throttled_logged = False
            events = claim_events(db, self.settings.bridge_batch_size, stale_after, live_only)
            if not events:
                return 0
            # Read after the claim: a config committed before these events were written is
            # then always seen (read before, a claim could race `config apply` and find no
            # connection for events written right after it, and drop them as untargeted).
            config = self.config.get(db)
            chain_size = self.settings.bridge_chain_size or self.settings.bridge_batch_size
            claim: Claim = plan(events, config, chain_size)
            for provider, batch in claim.batches:
                self.enqueue(provider, batch)
            if self.pause_before_mark:
                log.warning(
                    "fault hook: enqueued %d batches, pausing before mark", len(claim.batches)
                )
                time.sleep(self.pause_before_mark)
            mark(db, claim)
        self.stats.claims += 1
        self.stats.events += claim.events
        self.stats.batches += len(claim.batches)
        for connection_id, count in claim.captured.items():
            self.on_captured(connection_id, count)
        log.debug("claimed %s", describe(claim))
        return claim.events

    def _wait(self, seconds: float) -> None:
        assert self._listen is not None
        for _ in self._listen.notifies(timeout=seconds, stop_after=1):
            break

    # the loop --------------------------------------------------------------------------
    def run_forever(self) -> None:
        poll_min = self.settings.bridge_poll_min_ms / 1000
        poll_max = self.settings.bridge_poll_max_ms / 1000
        delay = poll_min
        backoff = 0.5
        while not self.stop.is_set():
            try:
                if self._work is None or self._work.closed:
                    self._connect()
                    backoff = 0.5
                handled = self.step()
                if handled >= self.settings.bridge_batch_size:
                    delay = poll_min
                    continue
                delay = poll_min if handled else min(delay * 2, poll_max)
                self._wait(delay)
            except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
                log.warning("database unavailable (%s); reconnecting in %.1fs", exc, backoff)
                self._close()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except (kombu.exceptions.KombuError, redis.RedisError, ConnectionError) as exc:
                # The claim rolled back: the events stay undispatched and are claimed again.
                log.warning("broker unavailable (%s); retrying in %.1fs", exc, backoff)
                self._close()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
        self._close()
