"""What the inbound end-to-end tests share: a contacts connection's config, a simulator per
module, the table's rows and the inbound events as the tests read them, and what beat's inbound
tick does for a connection's webhook subscription, run from a test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

import psycopg
import requests
from psycopg import sql

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.config.runtime import RuntimeConnection, load_runtime_config
from syncsvc.db import Row, connect, transaction
from syncsvc.demo.system import example_sim_options
from syncsvc.inbound import deletes, subscriptions
from syncsvc.processes import ProcessSet
from syncsvc.settings import Settings
from tests.support.sim import SimControl
from tests.support.wait import wait_until


class WithDb(Protocol):
    """A running system the test reads through its autocommit connection."""

    @property
    def db(self) -> psycopg.Connection[Row]: ...

    def describe(self) -> str: ...


def upsert_rule(name: str, source: str, obj: str, id_property: str) -> dict[str, Any]:
    return {
        "name": name,
        "source": source,
        "operations": ["insert", "update"],
        "action": "upsert",
        "object": obj,
        "id_property": id_property,
    }


def contacts_config(
    *,
    connection: str,
    provider: str,
    base_url: str,
    credentials: dict[str, Any],
    obj: str,
    key_field: str,
    outbound: list[dict[str, Any]],
    inbound: list[dict[str, Any]],
    webhooks: bool,
    poll_seconds: int,
    rule: str = "contacts",
    options: dict[str, Any] | None = None,
    inbound_settings: dict[str, Any] | None = None,
    inbound_object: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One connection pushing demo.contacts to ``obj`` (``outbound`` mappings, upserted by
    ``key_field``) and taking the CRM's edits back (``inbound`` mappings, keyed by
    ``key_field`` = ``id``)."""
    connection_doc: dict[str, Any] = {
        "name": connection,
        "provider": provider,
        "base_url": base_url,
        **({"options": options} if options is not None else {}),
        "credentials": credentials,
        "objects": {obj: {"mappings": outbound}},
        "rules": [upsert_rule(rule, "demo.contacts", obj, key_field)],
        "inbound": {
            "webhooks": webhooks,
            "poll_seconds": poll_seconds,
            **(inbound_settings or {}),
            "objects": {
                obj: {
                    "table": "demo.contacts",
                    "key": {"column": "id", "field": key_field},
                    "mappings": inbound,
                    **(inbound_object or {}),
                }
            },
        },
    }
    return {"version": 1, "connections": [connection_doc]}


def running_sim(provider: str) -> Iterator[SimServer]:
    """A module fixture's body: ``provider``'s simulator with the demo options, stopped after."""
    server = SimServer(make_simulator(provider, example_sim_options(provider)), port=0).start()
    yield server
    server.stop()


def fresh_sim(server: SimServer) -> SimControl:
    sim = SimControl(server.url)
    sim.reset()
    return sim


def sim_edit(sim: SimControl, obj: str, **body: Any) -> dict[str, Any]:
    """A sales rep's edit of ``obj`` in the simulator's UI; its answer."""
    resp = requests.post(f"{sim.base_url}/_sim/edit", json={"object": obj, **body}, timeout=10)
    assert resp.status_code in (200, 201, 204), resp.text  # HubSpot: 201 created, 204 deleted
    answer: dict[str, Any] = resp.json() if resp.content else {}
    return answer


def pushed_ops(sim: SimControl, obj: str) -> list[str]:
    """The operations the service wrote to ``obj`` in the CRM, in order."""
    return [a["op"] for a in sim.acks() if a["object"] == obj]


def contact_row(stack: WithDb, **where: Any) -> dict[str, Any] | None:
    """The demo.contacts row whose one column given equals its value."""
    ((column, value),) = where.items()
    query = sql.SQL("SELECT * FROM demo.contacts WHERE {} = %s").format(sql.Identifier(column))
    found = stack.db.execute(query, (value,)).fetchone()
    return dict(found) if found else None


def push_one(
    stack: WithDb,
    email: str,
    in_crm: Callable[[str], dict[str, Any] | None],
    id_field: str = "id",
) -> tuple[int, str]:
    """Ada inserted with ``email``; her row's id and her record's id (its ``id_field``) once
    she is in the CRM."""
    inserted = stack.db.execute(
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES (%s, 'Ada', 'Lovelace', 'lead') RETURNING id",
        (email,),
    ).fetchone()
    assert inserted is not None
    record = wait_until(lambda: in_crm(email), 30, message=stack.describe)
    return int(inserted["id"]), str(record[id_field])


def inbound_statuses(stack: WithDb) -> dict[str, int]:
    rows = stack.db.execute(
        "SELECT status, count(*) AS n FROM syncsvc.inbound_event GROUP BY status"
    ).fetchall()
    return {r["status"]: r["n"] for r in rows}


def no_inbound_waiting(stack: WithDb) -> bool:
    return inbound_statuses(stack).get("received", 0) == 0


@contextmanager
def beat_and_worker_stopped(procs: ProcessSet) -> Iterator[None]:
    """Beat and the sync worker down for the block, started again after it."""
    for name in ("beat", "worker"):
        procs.stop(name)
    try:
        yield
    finally:
        procs.start("worker", "worker", "--sync", "--concurrency", "2")
        procs.start("beat", "beat")


@contextmanager
def stopped(procs: ProcessSet, *names: str) -> Iterator[None]:
    """``names`` down for the block, started again after it with the arguments they ran with."""
    for name in names:
        procs.stop(name)
    try:
        yield
    finally:
        for name in names:
            if not procs.alive(name):
                procs.start(name, *procs.procs[name].args)


def runtime_connection(settings: Settings, connection: str) -> RuntimeConnection:
    """``connection`` as the processes load it from the database."""
    with connect(settings.db_url) as db:
        return next(c for c in load_runtime_config(db).connections.values() if c.name == connection)


def deletes_mark(stack: WithDb, obj: str) -> datetime | None:
    """The high-water mark of ``obj``'s deletes poll (``syncsvc.inbound.deletes``)."""
    found = stack.db.execute(
        "SELECT high_water FROM syncsvc.inbound_cursor WHERE object = %s",
        (deletes.cursor_name(obj),),
    ).fetchone()
    return found["high_water"] if found else None


def delete_events(stack: WithDb) -> list[tuple[str, str]]:
    """(CRM id, status) of every delete event stored, in the order stored."""
    rows = stack.db.execute(
        "SELECT crm_id, status FROM syncsvc.inbound_event WHERE kind = 'delete' ORDER BY id"
    ).fetchall()
    return [(r["crm_id"], r["status"]) for r in rows]


def keep_subscription(
    settings: Settings, connection: str, public_url: str, now: datetime | None = None
) -> bool:
    """``subscriptions.keep`` for ``connection`` with ``SYNCSVC_INBOUND_PUBLIC_URL`` =
    ``public_url``; True when it subscribed or renewed."""
    conn = runtime_connection(settings, connection)
    client = conn.provider.client_class(conn.connection_info(settings))
    try:
        return subscriptions.keep(
            partial(transaction, settings.db_url),
            conn,
            client,
            public_url,
            now or datetime.now(UTC),
        )
    finally:
        client.close()
