"""I-1, I-2, I-3, I-5 when our own side fails: workers and the bridge killed with SIGKILL,
Redis restarted empty, PostgreSQL restarted, events dispatched twice, workers racing.

Each test: the change stream runs, the fault happens, the stream goes on a little, stops; then
every record in every CRM simulator must equal the database (none lost, none stale, no
duplicate), nothing may stay pending, and no dead letter may appear.
"""

from __future__ import annotations

import random
import signal
import time

import psycopg
import pytest

from tests.faults.conftest import FaultWorld, all_sims, now, record_result, run_fault
from tests.faults.workload import ChangeStream, token
from tests.support.wait import wait_until

pytestmark = pytest.mark.faults


def test_a_killed_workers_messages_do_not_hold_up_the_next_test(world: FaultWorld) -> None:
    """Workers killed with SIGKILL while they hold unacknowledged messages: once restarted, they
    hand those messages back at once (not after the hour-long visibility timeout), the data
    converges, and the next test's ``reset`` finds a quiet broker well within its deadline."""
    world.reset()
    stream = ChangeStream(world.db_url).start()
    all_sims(world, "slow", 15, delay=1.5)  # pushes stay in flight, holding their messages

    def holding() -> dict[str, str] | None:
        held = {t: rk for t, rk in world.unacked().items() if rk.startswith("push.")}
        return held if len(held) >= 3 else None

    held = wait_until(holding, 60, interval=0.1, message="no push message was held")

    def owned() -> dict[str, str] | None:
        owners, unacked = world.owners(), world.unacked()
        return owners if all(t in owners or t not in unacked for t in held) else None

    # Every message a worker holds has an owner record (written on receipt, a moment later).
    owners = wait_until(owned, 5, interval=0.05, message="held messages have no owner record")
    killed = now()
    for name in ["worker", *(f"push-{n}" for n in world.sims)]:
        world.procs.kill(name, signal.SIGKILL)
    stats = stream.finish()
    world.ensure_running()

    def handed_back() -> bool:
        now_unacked, now_owners = world.unacked(), world.owners()
        return all(t not in now_unacked or now_owners.get(t) != owners.get(t) for t in held)

    wait_until(handed_back, 60, interval=0.1, message=lambda: f"still held: {world.unacked()}")
    back_after = now() - killed
    world.reset(timeout=120)  # the next test starts now, not an hour from now
    ready_after = now() - killed
    world.notes.append(
        f"kill -9 of every worker holding {len(held)} unacknowledged push messages: handed back "
        f"{back_after:.1f} s after the kill (restart included), next test ready after "
        f"{ready_after:.1f} s"
    )
    assert stats.writes > 0


def test_worker_killed_mid_push(world: FaultWorld) -> None:
    def inject() -> None:
        all_sims(world, "slow", 8, delay=1.5)  # keep pushes in flight
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


def test_the_bridge_rides_out_postgres_down_for_30_seconds(world: FaultWorld) -> None:
    """The bridge neither exits nor needs its supervisor: the same process reconnects and the
    changes written once PostgreSQL is back reach every CRM."""
    world.ensure_running()
    bridge = world.child_pid("bridge")
    run_fault(world, "PostgreSQL down for 30 s", lambda: world.postgres.restart(30))
    assert world.child_pid("bridge") == bridge, world.procs.log_tail("bridge")


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
        verdicts = wait_until(world.settled, 300, interval=1.0, message=world.describe)
        assert world.counts()["dead_letters"] == 0, world.describe()
        record_result(
            world, "10 rapid updates to each of 100 records, 2 sync workers racing",
            writes + 100, writes, verdicts, now() - ended,
        )  # fmt: skip
        assert ended > started
    finally:
        world.procs.discard("worker-2")
