"""Inbound scenarios the CRMs' end-to-end tests run alike, each with its own CRM's field names:
a sales rep's edits reach demo.contacts and nothing ping-pongs; edits made while beat and the
sync worker are down arrive after the restart; a notification without the connection's secret
is refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests

from syncsvc.processes import ProcessSet
from syncsvc.settings import Settings
from tests.support.inbound import (
    WithDb,
    beat_and_worker_stopped,
    contacts_config,
    inbound_statuses,
    keep_subscription,
    no_inbound_waiting,
    push_one,
    pushed_ops,
    sim_edit,
)
from tests.support.inbound import contact_row as row
from tests.support.sim import SimControl
from tests.support.wait import wait_until

T = TypeVar("T")


class Stack(WithDb, Protocol):
    """The running system (the integration tests' ``Pipeline``)."""

    @property
    def procs(self) -> ProcessSet: ...

    def wait_idle(self, timeout: float = 60) -> None: ...


@dataclass(frozen=True)
class ContactFields:
    """How a CRM names a contact: its object, its records' id, the field our row id goes to, and
    its fields for demo.contacts' email, first_name, last_name and phone."""

    obj: str
    id_field: str
    key_field: str
    fields: Mapping[str, str]
    """demo.contacts column → the CRM's field."""

    def config(self, **connection: Any) -> dict[str, Any]:
        """``contacts_config`` (``connection``: the rest of its arguments) mapping these fields
        both ways, our row id to ``key_field``."""
        key = {"source": "id", "target": self.key_field, "transforms": ["to_string"]}
        return contacts_config(
            obj=self.obj,
            key_field=self.key_field,
            outbound=[key, *({"source": c, "target": f} for c, f in self.fields.items())],
            inbound=[{"source": f, "target": c} for c, f in self.fields.items()],
            **connection,
        )

    def record(self, sim: SimControl, email: str) -> dict[str, Any] | None:
        field = self.fields["email"]
        return next((r for r in sim.records(self.obj) if r.get(field) == email), None)

    def edit(
        self, sim: SimControl, action: str, record_id: str | None = None, **values: Any
    ) -> None:
        """A sales rep's ``action`` in the CRM's UI, the fields named by our columns."""
        body: dict[str, Any] = {} if record_id is None else {"id": record_id}
        if values:
            body["fields"] = {self.fields[c]: v for c, v in values.items()}
        sim_edit(sim, self.obj, action=action, **body)


def edits_arrive_without_ping_pong(
    stack: Stack,
    sim: SimControl,
    crm: ContactFields,
    change: tuple[str, str],
    settled: Callable[[], object] = lambda: True,
) -> dict[str, int]:
    """Ada is pushed; then a sales rep sets her ``change`` (column, value), creates Grace Hopper
    and deletes Ada, and each arrives in the table within 10 s; Grace's row id goes back into
    her record. The only writes to the CRM are Ada's upsert and Grace's key: the inbound writes
    were not captured back, and the CRM's report of our own writes changed nothing. ``settled``
    is waited for once Ada is in (a poll stored its cursor). Returns the inbound events'
    statuses (none failed; one delete event)."""
    row_id, crm_id = push_one(stack, "ada@example.com", lambda e: crm.record(sim, e), crm.id_field)
    stack.wait_idle()
    wait_until(settled, 10)
    column, value = change
    crm.edit(sim, "update", crm_id, **{column: value})
    wait_until(lambda: (row(stack, id=row_id) or {}).get(column) == value, 10)

    crm.edit(sim, "create", first_name="Grace", last_name="Hopper", email="grace@example.com")
    new_row = wait_until(lambda: row(stack, email="grace@example.com"), 10)
    assert (new_row["first_name"], new_row["last_name"]) == ("Grace", "Hopper")
    wait_until(
        lambda: (
            (crm.record(sim, "grace@example.com") or {}).get(crm.key_field) == str(new_row["id"])
        ),
        10,
    )

    crm.edit(sim, "delete", crm_id)
    wait_until(lambda: row(stack, id=row_id) is None, 10)

    stack.wait_idle()
    wait_until(lambda: no_inbound_waiting(stack), 10)
    assert pushed_ops(sim, crm.obj) == ["upsert", "update"], sim.acks()
    assert [r[crm.fields["email"]] for r in sim.records(crm.obj)] == ["grace@example.com"]
    statuses = inbound_statuses(stack)
    assert statuses.get("failed", 0) == 0, statuses
    deleted = stack.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE kind = 'delete'"
    ).fetchone()
    assert deleted is not None and deleted["n"] == 1
    return statuses


def edits_while_down_arrive(
    stack: Stack,
    sim: SimControl,
    crm: ContactFields,
    settled: Callable[[], object],
    cursor: Callable[[], T],
) -> tuple[T, T]:
    """Alan and Joan are pushed; while beat and the sync worker are down a sales rep deletes
    Alan and renames Joan Murray, and both arrive within 30 s of the restart; the only writes
    to the CRM are their two upserts. ``settled`` is waited for before the stop (a poll stored
    its cursor). Returns ``cursor()`` at the stop and after."""
    inserted = stack.db.execute(
        "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage) "
        "VALUES ('alan@example.com', 'Alan', 'Turing', 'lead'), "
        "('joan@example.com', 'Joan', 'Clarke', 'lead') RETURNING id"
    ).fetchall()
    alan_row, joan_row = (int(r["id"]) for r in inserted)
    alan = wait_until(lambda: crm.record(sim, "alan@example.com"), 30, message=stack.describe)
    joan = wait_until(lambda: crm.record(sim, "joan@example.com"), 30, message=stack.describe)
    stack.wait_idle()
    wait_until(settled, 10)
    with beat_and_worker_stopped(stack.procs):
        before = cursor()
        crm.edit(sim, "delete", str(alan[crm.id_field]))
        crm.edit(sim, "update", str(joan[crm.id_field]), last_name="Murray")
    wait_until(lambda: row(stack, id=alan_row) is None, 30, message=stack.describe)
    wait_until(lambda: (row(stack, id=joan_row) or {}).get("last_name") == "Murray", 30)
    assert pushed_ops(sim, crm.obj) == ["upsert", "upsert"], sim.acks()
    return before, cursor()


def subscribed_once(settings: Settings, connection: str, public_url: str) -> None:
    """Beat's inbound tick subscribes the connection to its CRM's notifications; the next one,
    with the subscription far from its end, sends nothing."""
    assert keep_subscription(settings, connection, public_url)
    assert not keep_subscription(settings, connection, public_url)


def only_authenticated_notifications_are_stored(
    stack: WithDb, url: str, refused: Sequence[Mapping[str, Any]], accepted: Mapping[str, Any]
) -> None:
    """Each of ``refused`` (``requests.post`` keyword arguments) answers 401, ``accepted`` is
    stored; its record, which the CRM does not hold, is nobody's: ignored, nothing written."""
    for kwargs in refused:
        answer = requests.post(url, timeout=10, **kwargs)
        assert answer.status_code == 401, answer.text
    answer = requests.post(url, timeout=10, **accepted)
    assert answer.status_code == 200 and answer.json() == {"received": 1, "stored": 1}
    wait_until(lambda: inbound_statuses(stack) == {"ignored": 1}, 10)
