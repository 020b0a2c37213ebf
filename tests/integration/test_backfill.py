"""``manage.py backfill`` as a real process against the running stack and CRM simulators.

The rows exist before the connection does (their capture events find no connection and are
dropped), so only the backfill can bring them to the CRM.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.db import connect
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.processes import Proc
from tests.integration.conftest import Pipeline, execute
from tests.integration.test_end_to_end_hubspot import hubspot_config
from tests.support.orders import orders_config as orders_config_of
from tests.support.orders import orders_table
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

CONTACTS = "demo.contacts"
ORDERS = "backfill_t.orders"


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, SimControl]]:
    servers = {
        name: SimServer(make_simulator(name, example_sim_options(name)), port=0).start()
        for name in ("pipedrive", "hubspot")
    }
    yield {name: SimControl(server.url) for name, server in servers.items()}
    for server in servers.values():
        server.stop()


@pytest.fixture(autouse=True)
def no_backfill_left(pipeline: Pipeline) -> Iterator[None]:
    yield
    pipeline.procs.discard("backfill")


def view(sim: SimControl, obj: str) -> list[dict[str, Any]]:
    """Every active record the CRM holds (duplicates included)."""
    resp = sim.http.get(f"{sim.base_url}/_sim/view", params={"object": obj}, timeout=30)
    resp.raise_for_status()
    records: list[dict[str, Any]] = resp.json()["records"]
    return records


def example(provider: str, sim: SimControl, requests: int, batch_size: int) -> dict[str, Any]:
    config = example_pointed_at(provider, sim.base_url)
    config["connections"][0].update(
        rate_limit={"requests": requests, "per_seconds": 1}, batch_size=batch_size
    )
    return config


def existing_contacts(p: Pipeline, n: int) -> list[int]:
    """``n`` contacts written before any connection exists, so no live change carries them."""
    tag = uuid.uuid4().hex[:6]
    rows = execute(
        p.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "SELECT 'b' || g || '.' || %s || '@example.com', 'First' || g, 'Last' || g, 'lead' "
        "FROM generate_series(1, %s) g RETURNING id",
        tag,
        n,
    )
    p.wait_idle()
    return [r["id"] for r in rows]


def start(p: Pipeline, *args: str) -> Proc:
    p.procs.discard("backfill")
    return p.procs.start("backfill", "backfill", *args)


def finished(p: Pipeline, proc: Proc, timeout: float = 180) -> int:
    """Wait for the backfill process to exit; its exit code."""
    code = wait_until(
        lambda: proc.popen.poll() is not None and [proc.popen.returncode], timeout,
        message=lambda: p.procs.log_tail("backfill", 30) + p.describe(),
    )  # fmt: skip
    return int(code[0])


def backfill_row(p: Pipeline, backfill_id: int | None = None) -> dict[str, Any]:
    rows = execute(
        p.db,
        "SELECT * FROM syncsvc.backfill WHERE %s::bigint IS NULL OR id = %s ORDER BY id DESC "
        "LIMIT 1",
        backfill_id,
        backfill_id,
    )
    assert rows, "no backfill row"
    return rows[0]


def delivered_per_record(p: Pipeline) -> Counter[str]:
    rows = execute(p.db, "SELECT record_key FROM syncsvc.sync_log WHERE status = 'delivered'")
    return Counter(r["record_key"] for r in rows)


def p_log(p: Pipeline) -> str:
    return p.procs.log_tail("backfill", 20)


def cli(p: Pipeline, *args: str) -> str:
    proc = p.procs.start("cli", *args, extra_env={"COLUMNS": "250"})  # tables unabridged
    code = proc.popen.wait(60)
    out = proc.log_path.read_text()
    p.procs.discard("cli")
    proc.log_path.unlink()
    assert code == 0, out
    return out


# kill -9 mid-way, then continue ------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "obj", "rows", "requests", "batch"),
    [("pipedrive", "persons", 2000, 150, 50), ("hubspot", "contacts", 3000, 4, 50)],
)
def test_a_backfill_killed_mid_way_continues_and_every_row_arrives_once(
    pipeline: Pipeline,
    sims: dict[str, SimControl],
    provider: str,
    obj: str,
    rows: int,
    requests: int,
    batch: int,
) -> None:
    sim = sims[provider]
    sim.reset()
    ids = existing_contacts(pipeline, rows)
    pipeline.apply(example(provider, sim, requests, batch))
    name = f"{provider}-demo"
    command = (name, "--table", CONTACTS, "--page-size", "100", "--max-backlog", "300")
    proc = start(pipeline, *command)

    def some_pages_done() -> bool:
        row = execute(pipeline.db, "SELECT pages FROM syncsvc.backfill")
        return bool(row) and row[0]["pages"] >= 3

    wait_until(some_pages_done, 60, 0.05, message=lambda: pipeline.procs.log_tail("backfill"))
    pipeline.procs.kill("backfill")
    killed = backfill_row(pipeline)
    assert killed["state"] == "running" and killed["read_at"] is None, "killed too late"
    assert killed["rows_read"] < rows

    # live changes while it is down, before and after its position
    changed = random.Random(7).sample(ids, 40)
    marker = "Newest" + uuid.uuid4().hex[:6]
    execute(
        pipeline.db, "UPDATE demo.contacts SET last_name = %s WHERE id = ANY(%s)", marker, changed
    )

    if provider == "pipedrive":  # the same command again continues it
        proc = start(pipeline, *command)
    else:
        proc = start(pipeline, "--resume", str(killed["id"]), "--max-backlog", "300")
    assert finished(pipeline, proc) == 0, pipeline.procs.log_tail("backfill", 30)
    log = proc.log_path.read_text()
    if provider == "pipedrive":
        assert f"continuing backfill {killed['id']}" in log
    done = backfill_row(pipeline)
    assert done["id"] == killed["id"]
    assert done["state"] == "done"
    assert done["rows_read"] == rows and done["queued"] == rows, "a page was written twice"
    assert done["pushed"] + len(changed) >= rows and done["failed"] == 0

    pipeline.wait_idle(120)
    held = view(sim, obj)
    keys = Counter(str(r["key"]) for r in held)
    assert len(held) == rows, f"{len(held) - len(keys)} duplicate(s)"
    assert set(keys) == {str(i) for i in ids}
    newest = {str(r["key"]) for r in held if marker in json.dumps(r["fields"])}
    assert newest == {str(i) for i in changed}
    sent = delivered_per_record(pipeline)
    assert {k for k, n in sent.items() if n > 1} <= {str(i) for i in changed}, (
        "a record the backfill already pushed was pushed again"
    )
    assert pipeline.dead_letters() == []


# live changes win -------------------------------------------------------------------------


def test_rows_updated_while_a_backfill_runs_end_with_their_newest_values(
    pipeline: Pipeline, sims: dict[str, SimControl]
) -> None:
    sim = sims["hubspot"]
    sim.reset()
    ids = existing_contacts(pipeline, 2000)
    pipeline.apply(example("hubspot", sim, 6, 50))
    proc = start(pipeline, "hubspot-demo", "--table", CONTACTS, "--page-size", "50")
    stop = threading.Event()
    writes = Counter[str]()

    def write_live() -> None:
        rng = random.Random(11)
        with connect(pipeline.settings.db_url) as db:
            n = 0
            while not stop.is_set() and n < 400:
                n += 1
                chosen = rng.sample(ids, 15)
                with db.transaction():
                    db.execute(
                        "UPDATE demo.contacts SET last_name = 'w' || %s || '-' || id "
                        "WHERE id = ANY(%s)",
                        (n, chosen),
                    )
                    db.execute("SELECT pg_sleep(0.02)")  # hold the row locks a little
                writes["transactions"] += 1

    writer = threading.Thread(target=write_live)
    writer.start()
    try:
        assert finished(pipeline, proc) == 0
    finally:
        stop.set()
        writer.join(30)
    assert writes["transactions"] > 20, "the writer should have overlapped the backfill"
    pipeline.wait_idle(120)
    expected = {
        str(r["id"]): r["last_name"]
        for r in execute(pipeline.db, "SELECT id, last_name FROM demo.contacts")
    }
    held = {str(r["key"]): r["fields"].get("lastname") for r in view(sim, "contacts")}
    stale = {k: (held.get(k), v) for k, v in expected.items() if held.get(k) != v}
    assert stale == {}, f"{len(stale)} record(s) not at their newest values"


# live changes do not queue behind a backfill ---------------------------------------------


def test_a_live_change_is_pushed_ahead_of_the_backfill_work_queued_before_it(
    pipeline: Pipeline, sims: dict[str, SimControl]
) -> None:
    """A backfill keeps up to ``--max-backlog`` records queued at the connection; a live
    change made meanwhile must not wait for them (its chain and push are served before the
    backfill's). A slow CRM makes the push workers the bottleneck, so the backfill's pushes
    queue up. Counted in records, not seconds: the backfill's records that reached the CRM
    between the live write and its delivery."""
    sim = sims["hubspot"]
    sim.reset()
    existing_contacts(pipeline, 4000)
    pipeline.apply(example("hubspot", sim, 1000, 50))
    sim.fault("slow", seconds=600, delay=0.3)
    backlog = 1500
    proc = start(pipeline, "hubspot-demo", "--table", CONTACTS, "--max-backlog", str(backlog))

    def backfill_delivered() -> int:
        rows = execute(
            pipeline.db,
            "SELECT count(*) AS n FROM syncsvc.outbox "
            "WHERE backfill_id IS NOT NULL AND delivered_version IS NOT NULL",
        )
        return int(rows[0]["n"])

    def queued_at_connection() -> int:
        rows = execute(
            pipeline.db,
            "SELECT (SELECT count(*) FROM syncsvc.sync_event) "
            "+ (SELECT count(*) FROM syncsvc.outbox WHERE status = 'pending') AS n",
        )
        return int(rows[0]["n"])

    wait_until(
        lambda: backfill_delivered() > 0 and queued_at_connection() >= backlog * 0.8, 90, 0.05,
        message=lambda: p_log(pipeline) + pipeline.describe(),
    )  # fmt: skip
    live = execute(
        pipeline.db,
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES (%s, 'Live', 'Change', 'lead') RETURNING id",
        f"live.{uuid.uuid4().hex[:6]}@example.com",
    )[0]["id"]
    before = backfill_delivered()

    def live_delivered() -> bool:
        rows = execute(
            pipeline.db,
            "SELECT 1 FROM syncsvc.outbox WHERE record_key = %s AND status = 'delivered'",
            str(live),
        )
        return bool(rows)

    wait_until(live_delivered, 60, 0.05, message=pipeline.describe)
    overtaken_by = backfill_delivered() - before
    assert proc.popen.poll() is None, "the backfill should still be running"
    assert overtaken_by < backlog / 2, (
        f"{overtaken_by} backfill records reached the CRM before a live change made after them"
    )
    assert finished(pipeline, proc) == 0


# composite keys, --where, --since ---------------------------------------------------------


@pytest.fixture
def orders(pipeline: Pipeline) -> Iterator[None]:
    with orders_table(
        pipeline.db, ORDERS, "email text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now()"
    ):
        yield


def orders_config(base_url: str) -> dict[str, Any]:
    return orders_config_of(hubspot_config(base_url), ORDERS)


def test_composite_keys_where_and_since_choose_the_rows(
    pipeline: Pipeline, hubspot: SimControl, orders: None
) -> None:
    execute(
        pipeline.db,
        "INSERT INTO backfill_t.orders (region, order_no, email, changed_at) "
        "SELECT r, g, r || g || CASE WHEN g %% 5 = 0 THEN '@other.org' ELSE '@example.com' END, "
        "CASE WHEN g <= 4 THEN now() - interval '30 days' ELSE now() END "
        "FROM unnest(ARRAY['apac', 'eu', 'us']) r, generate_series(1, 20) g",
    )
    pipeline.wait_idle()
    pipeline.apply(orders_config(hubspot.base_url))
    since = execute(pipeline.db, "SELECT (now() - interval '1 day')::text AS t")[0]["t"]
    choice = [
        "hubspot-test",
        "--rule", "orders",
        "--where", "t.region IN ('eu', 'apac') AND t.email LIKE '%@example.com'",
        "--since", since,
        "--since-column", "changed_at",
        "--page-size", "7",
    ]  # fmt: skip
    expected = {f"{r}-{g}" for r in ("apac", "eu") for g in range(5, 21) if g % 5 != 0}

    counted = cli(pipeline, "backfill", *choice, "--dry-run")
    assert f"backfill_t.orders: {len(expected)} row(s) read" in counted, counted
    orders_row = next(line for line in counted.splitlines() if line.startswith("│ orders "))
    assert [c.strip() for c in orders_row.strip("│ ").split("│")][1:] == [
        str(len(expected)),
        "0",
        "0",
        "0",
    ], orders_row  # create, update, archive, rejected
    written = execute(
        pipeline.db,
        "SELECT (SELECT count(*) FROM syncsvc.backfill) AS backfills, "
        "(SELECT count(*) FROM syncsvc.outbox) AS outbox, "
        "(SELECT count(*) FROM syncsvc.sync_event) AS events",
    )[0]
    assert dict(written) == {"backfills": 0, "outbox": 0, "events": 0}
    assert hubspot.records("contacts") == []

    proc = start(pipeline, *choice)
    assert finished(pipeline, proc) == 0, pipeline.procs.log_tail("backfill", 30)
    pipeline.wait_idle()
    held = [r["properties"]["syncsvc_id"] for r in hubspot.records("contacts")]
    assert sorted(held) == sorted(expected)
    done = backfill_row(pipeline)
    assert done["state"] == "done"
    assert done["rows_read"] == done["queued"] == len(expected)
    assert done["pages"] == -(-len(expected) // 7)
    assert done["last_key"] == {"region": "eu", "order_no": 19}


# cancel -----------------------------------------------------------------------------------


def test_cancel_stops_a_running_backfill_within_a_page(
    pipeline: Pipeline, sims: dict[str, SimControl]
) -> None:
    sim = sims["hubspot"]
    sim.reset()
    existing_contacts(pipeline, 1000)
    pipeline.apply(example("hubspot", sim, 2, 10))
    proc = start(pipeline, "hubspot-demo", "--table", CONTACTS, "--page-size", "20",
                 "--max-backlog", "40")  # fmt: skip

    def started() -> int | None:
        rows = execute(pipeline.db, "SELECT id, pages FROM syncsvc.backfill")
        return int(rows[0]["id"]) if rows and rows[0]["pages"] >= 1 else None

    backfill_id = wait_until(started, 60, 0.05, message=lambda: p_log(pipeline))
    out = cli(pipeline, "backfill", "cancel", str(backfill_id))
    assert f"cancelled backfill {backfill_id}" in out
    assert finished(pipeline, proc, 30) == 1
    row = backfill_row(pipeline)
    assert row["state"] == "cancelled" and row["finished_at"] is not None
    assert row["rows_read"] < 1000
    listed = cli(pipeline, "backfill", "list")
    assert "cancelled" in listed
    assert "cancelled" in cli(pipeline, "status"), "an ended backfill shows for an hour"
    pipeline.wait_idle(120)
    assert len(view(sim, "contacts")) <= row["queued"]
    assert "is not running" in cli(pipeline, "backfill", "cancel", str(backfill_id))


def test_a_where_that_is_not_one_expression_is_refused_before_anything_is_written(
    pipeline: Pipeline, hubspot: SimControl
) -> None:
    existing_contacts(pipeline, 3)  # the check evaluates the predicate on the table's rows
    pipeline.apply(hubspot_config(hubspot.base_url))
    for where, message in [
        ("true; DELETE FROM demo.contacts", "';'"),
        ("true) OR (true", "')' without its '('"),
        ("no_such_column = 1", "does not work on the table"),
        ("nextval('syncsvc.outbox_change_seq') > 0", "read-only transaction"),
    ]:
        proc = start(pipeline, "hubspot-test", "--table", CONTACTS, "--where", where)
        assert finished(pipeline, proc, 60) != 0
        assert message in proc.log_path.read_text(), proc.log_path.read_text()
    assert execute(pipeline.db, "SELECT count(*) AS n FROM syncsvc.backfill")[0]["n"] == 0
