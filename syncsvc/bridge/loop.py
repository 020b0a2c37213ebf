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
claims no backfill events, and stale events are not re-dispatched, as their own chains are most
likely still queued."""
MAX_QUEUED_LIVE_CHAINS = 8
"""While this many live chains wait, the bridge claims nothing: new events gather in
``sync_event`` and the next claim carries them in fewer, bigger chains (a chain per one or two
events is what saturates the workers). Backfill chains wait behind live ones (their Redis
priority step), so a live queue kept short is also what leaves the workers time for them: with a
long one, small live chains would always be next and a backfill would never move."""

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
        if queued.live >= MAX_QUEUED_LIVE_CHAINS:
            if not self._held_logged:
                log.info("%d chains queued: claiming again once the workers catch up", queued.live)
                self._held_logged = True
            return 0
        self._held_logged = False
        if queued.live + queued.backfill > MAX_QUEUED_CHAINS:
            return self._dispatch(stale_after=None, live_only=True)
        handled = self._dispatch(stale_after=None)
        now = time.monotonic()
        if now - self._last_stale_check >= STALE_CHECK_SECONDS:
            self._last_stale_check = now
            # A backfill's chains may wait long behind live ones: its events are re-dispatched
            # only when none of its chains is queued any more (they were lost, not waiting).
            redispatched = self._dispatch(
                stale_after=self.settings.bridge_redispatch_seconds,
                live_only=queued.backfill > 0,
            )
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
                if handled:
                    # A part-full claim: let the next events gather for a moment instead of
                    # waking on the next commit (a chain per commit at 500 commits/s is what
                    # saturates the workers and starves a backfill behind them).
                    delay = poll_min
                    self.stop.wait(self.settings.bridge_gather_ms / 1000)
                    continue
                delay = min(delay * 2, poll_max)
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
