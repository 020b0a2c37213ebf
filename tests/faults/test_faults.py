"""I-1, I-2, I-3, I-5 under real faults: kill processes, restart servers, break the CRMs.

Each test: the change stream runs, the fault happens, the stream goes on a little, stops; then
every record in every CRM simulator must equal the database (none lost, none stale, no
duplicate), nothing may stay pending, and no dead letter may appear.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.faults.conftest import FaultWorld, now, record_result
from tests.faults.workload import ChangeStream, token
from tests.support.wait import wait_until

pytestmark = pytest.mark.faults


def _all_sims(world: FaultWorld, mode: str, seconds: float, **extra: object) -> None:
    for _, sim, _ in world.sims.values():
        sim.fault(mode, seconds=seconds, **extra)


def run_fault(world: FaultWorld, name: str, inject: Callable[[], None]) -> None:
    world.reset()
    stream = ChangeStream(world.db_url).start()
    wait_until(lambda: stream.stats.writes >= 150, 60, message="the change stream did not start")
    started = now()
    stream.mark_window(started, float("inf"))
    inject()
    ended = now()
    stream.mark_window(started, ended)
    after = stream.stats.writes
    wait_until(lambda: stream.stats.writes >= after + 150, 120, message="the stream did not go on")
    stats = stream.finish()
    world.ensure_running()
    verdicts = wait_until(world.settled, 300, interval=2.0, message=world.describe)
    recovered = now() - ended
    assert world.counts()["dead_letters"] == 0, world.describe()
    record_result(world, name, stats.writes, stats.in_window, verdicts, recovered)


def test_worker_killed_mid_push(world: FaultWorld) -> None:
    def inject() -> None:
        _all_sims(world, "slow", 8, delay=1.5)  # keep pushes in flight
        time.sleep(2)
        for name in ["worker", *(f"push-{n}" for n in world.sims)]:
            world.procs.kill(name, signal.SIGKILL)
        time.sleep(3)
        world.ensure_running()

    run_fault(world, "kill -9 every Celery worker mid-push", inject)


def test_bridge_killed_between_enqueue_and_mark(world: FaultWorld) -> None:
    def inject() -> None:
        world.procs.stop("bridge")
        paused = world.procs.start(
            "bridge", "bridge", extra_env={"SYNCSVC_FAULT_PAUSE_BEFORE_MARK": "10"}
        )
        wait_until(lambda: "pausing before mark" in paused.log_path.read_text(errors="replace"), 60)
        world.procs.kill("bridge", signal.SIGKILL)
        world.procs.start("bridge", "bridge")

    run_fault(world, "kill -9 the bridge between enqueue and mark", inject)


def test_redis_restarted_with_all_data_lost(world: FaultWorld) -> None:
    run_fault(world, "Redis restarted, all its data lost", lambda: world.redis.restart_empty(3))


def test_postgres_restarted_mid_stream(world: FaultWorld) -> None:
    run_fault(world, "PostgreSQL restarted (immediate shutdown)", lambda: world.postgres.restart(3))


def test_crm_answers_500_for_30_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        _all_sims(world, "http_error", 30, status=500)
        time.sleep(30)

    run_fault(world, "every CRM answers 500 for 30 s", inject)


def test_crm_throttles_everything_for_20_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        _all_sims(world, "rate_limit", 20)
        time.sleep(20)

    run_fault(world, "every CRM throttles everything for 20 s", inject)


def test_crm_unreachable_for_30_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        _all_sims(world, "refuse", 30)
        time.sleep(30)

    run_fault(world, "every CRM refuses connections for 30 s", inject)


def test_crm_slower_than_the_client_timeout(world: FaultWorld) -> None:
    def inject() -> None:
        _all_sims(world, "slow", 20, delay=6)  # applied, then answered after the 4 s timeout
        time.sleep(20)

    run_fault(world, "every CRM answers after the client's timeout for 20 s", inject)


def test_the_same_events_dispatched_twice(world: FaultWorld) -> None:
    def inject() -> None:
        deadline = now() + 20
        with psycopg.connect(world.db_url, autocommit=True) as conn:
            while now() < deadline:
                conn.execute(
                    "UPDATE syncsvc.sync_event SET dispatched_at = NULL WHERE dispatched_at IS NOT NULL"
                )
                time.sleep(0.3)

    run_fault(world, "the same events dispatched twice (repeatedly, for 20 s)", inject)


def test_ten_rapid_updates_to_each_of_100_records_while_workers_race(world: FaultWorld) -> None:
    world.reset()
    world.procs.start("worker-2", "worker", "--sync", "--concurrency", "2", "--name", "sync2@%h")
    try:
        with psycopg.connect(world.db_url, autocommit=True) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
                    "SELECT 'race' || g || '@example.com', 'Race', %s, 'lead' "
                    "FROM generate_series(1, 100) g RETURNING id",
                    (token(),),
                )
            ]
            started = now()
            rng = random.Random(3)
            writes = 0
            for _ in range(10):
                rng.shuffle(ids)
                for rid in ids:
                    conn.execute(
                        "UPDATE demo.contacts SET last_name = %s WHERE id = %s", (token(), rid)
                    )
                    writes += 1
            ended = now()
        verdicts = wait_until(world.settled, 300, interval=2.0, message=world.describe)
        assert world.counts()["dead_letters"] == 0, world.describe()
        record_result(
            world, "10 rapid updates to each of 100 records, 2 sync workers racing",
            writes + 100, writes, verdicts, now() - ended,
        )  # fmt: skip
        assert ended > started
    finally:
        world.procs.discard("worker-2")
