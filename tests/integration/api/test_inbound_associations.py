"""Associations B → A (issue 14): a sales rep moves a synced contact to another synced company
in the CRM, and the contact's ``company_id`` in ``demo.contacts`` follows within the deadline;
a rep clearing the company clears ``company_id``; the link we pushed does not come back as a
change, and nothing is written back to the CRM.

Each CRM's example config (which links contacts to companies by ``company_id``), plus an
inbound section for its contacts, against its simulator with the example's options. How the
change arrives is each CRM's own signal:

- Salesforce: the ``AccountId`` lookup moves ``SystemModstamp``; polled by SOQL;
- HubSpot: the association is moved (v4 associations); ``contact.associationChange`` webhooks
  (and, with webhooks off, the search poll by ``hs_lastmodifieddate``);
- Pipedrive: ``org_id`` changes; a webhook v2 ``change`` of the person;
- Zoho: the ``Account_Name`` lookup changes; a notification of the contact's update;
- Dataverse: ``parentcustomerid_account`` is bound (or set to null); change tracking's delta
  carries the row with its ``_parentcustomerid_value``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options
from syncsvc.settings import Settings
from tests.integration.conftest import Pipeline, execute
from tests.support.inbound import keep_subscription, no_inbound_waiting
from tests.support.sim import SimControl
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e

POLL_SECONDS = 2
HUBSPOT_SECRET = "assoc-inbound-app-secret"
WEBHOOK_CREDENTIALS = {
    "hubspot": {"webhook_secret": HUBSPOT_SECRET},
    "pipedrive": {"webhook_user": "syncsvc-hook", "webhook_password": "assoc-inbound-password"},
    "zoho": {"webhook_token": "channel-token-for-assoc-inbound"},
}

Move = Callable[[str, str | None], dict[str, Any]]
"""(the contact's CRM id, the company's CRM id or None) → the rep's ``/_sim/edit`` body."""


def _salesforce(contact: str, company: str | None) -> dict[str, Any]:
    return {"object": "Contact", "action": "update", "id": contact,
            "fields": {"AccountId": company}}  # fmt: skip


def _hubspot(contact: str, company: str | None) -> dict[str, Any]:
    return {"object": "contacts", "action": "update", "id": contact,
            "associations": {"companies": {"id": company or "", "type": "HUBSPOT_DEFINED:279"}}}  # fmt: skip


def _pipedrive(contact: str, company: str | None) -> dict[str, Any]:
    return {"object": "persons", "action": "update", "id": contact,
            "fields": {"org_id": int(company) if company else None}}  # fmt: skip


def _zoho(contact: str, company: str | None) -> dict[str, Any]:
    return {"object": "Contacts", "action": "update", "id": contact,
            "fields": {"Account_Name": {"id": company} if company else None}}  # fmt: skip


def _dynamics(contact: str, company: str | None) -> dict[str, Any]:
    bind = f"/accounts({company})" if company else None
    return {"object": "contacts", "action": "update", "id": contact,
            "fields": {"parentcustomerid_account@odata.bind": bind}}  # fmt: skip


@dataclass(frozen=True)
class Case:
    provider: str
    webhooks: bool
    move: Move

    def __str__(self) -> str:
        return f"{self.provider}-{'webhook' if self.webhooks else 'poll'}"


SALESFORCE = Case("salesforce", False, _salesforce)
HUBSPOT = Case("hubspot", True, _hubspot)
HUBSPOT_POLL = Case("hubspot", False, _hubspot)
PIPEDRIVE = Case("pipedrive", True, _pipedrive)
ZOHO = Case("zoho", True, _zoho)
DYNAMICS = Case("dynamics", False, _dynamics)


class Sims:
    """One simulator per CRM for the module, started when a test first needs it."""

    def __init__(self) -> None:
        self.servers: dict[str, SimServer] = {}

    def fresh(self, provider: str) -> SimControl:
        if provider not in self.servers:
            simulator = make_simulator(provider, example_sim_options(provider))
            self.servers[provider] = SimServer(simulator, port=0).start()
        sim = SimControl(self.servers[provider].url)
        sim.reset()
        return sim

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def sims() -> Iterator[Sims]:
    running = Sims()
    yield running
    running.stop()


@dataclass
class World:
    """A CRM's connection applied, its simulator and its objects."""

    pipeline: Pipeline
    sim: SimControl
    case: Case
    connection: str
    contacts: str
    companies: str

    def crm_id(self, obj: str, key: int) -> str | None:
        """The CRM's id of the record whose key (our row id) is ``key``."""
        view = self.sim.http.get(
            f"{self.sim.base_url}/_sim/view", params={"object": obj}, timeout=10
        )
        view.raise_for_status()
        found = [r for r in view.json()["records"] if str(r["key"]) == str(key)]
        return str(found[0]["id"]) if found else None

    def parent_in_crm(self, contact: int) -> str | None:
        """The key of the company the CRM links the contact to (None: none)."""
        answer = self.sim.http.get(f"{self.sim.base_url}/_sim/associations", timeout=10)
        answer.raise_for_status()
        parents = [
            str(a["to_key"])
            for a in answer.json()["associations"]
            if (a["from"], str(a["from_key"]), a["to"])
            == (self.contacts, str(contact), self.companies)
        ]
        assert len(parents) <= 1, parents
        return parents[0] if parents else None

    def rep_moves(self, contact: int, company: int | None) -> None:
        """A sales rep sets the contact's company (None: clears it) in the CRM's UI."""
        contact_id = self.crm_id(self.contacts, contact)
        company_id = None if company is None else self.crm_id(self.companies, company)
        assert contact_id is not None and (company is None or company_id is not None)
        body = self.case.move(contact_id, company_id)
        answer = requests.post(f"{self.sim.base_url}/_sim/edit", json=body, timeout=10)
        assert answer.status_code < 300, answer.text
        wanted = None if company is None else str(company)
        assert self.parent_in_crm(contact) == wanted

    def writes(self) -> int:
        return len(self.sim.acks())


def _config(case: Case, base_url: str) -> tuple[dict[str, Any], str, str]:
    """The example config with an inbound section for its contacts: (config, contacts object,
    companies object)."""
    config = example_pointed_at(case.provider, base_url)
    (connection,) = config["connections"]
    rules = {r["source"]: r for r in connection["rules"] if r["action"] == "upsert"}
    contacts, companies = rules["demo.contacts"], rules["demo.companies"]
    email = next(
        m["target"]
        for m in connection["objects"][contacts["object"]]["mappings"]
        if m.get("source") == "email"
    )
    connection["credentials"].update(WEBHOOK_CREDENTIALS.get(case.provider, {}))
    connection["inbound"] = {
        "webhooks": case.webhooks,
        "poll_seconds": 0 if case.webhooks else POLL_SECONDS,
        "objects": {
            contacts["object"]: {
                "table": "demo.contacts",
                "key": {"column": "id", "field": contacts["id_property"]},
                "mappings": [{"source": email, "target": "email"}],
            }
        },
    }
    return config, contacts["object"], companies["object"]


@pytest.fixture
def world(
    request: pytest.FixtureRequest, pipeline: Pipeline, sims: Sims, settings: Settings
) -> Iterator[World]:
    case: Case = request.param
    sim = sims.fresh(case.provider)
    config, contacts, companies = _config(case, sim.base_url)
    name = config["connections"][0]["name"]
    pipeline.apply(config)
    if case.webhooks:
        api = request.getfixturevalue("api_server")
        if case.provider == "hubspot":
            sim.configure(webhook_url=f"{api.url}/v1/inbound/{name}", webhook_secret=HUBSPOT_SECRET)
        else:
            assert keep_subscription(settings, name, api.url)
    yield World(pipeline, sim, case, name, contacts, companies)
    if case.provider == "hubspot":
        sim.configure(webhook_url="", webhook_secret="")


def _company_of(p: Pipeline, contact: int) -> Any:
    return execute(p.db, "SELECT company_id FROM demo.contacts WHERE id = %s", contact)[0][
        "company_id"
    ]


def _seed(p: Pipeline) -> tuple[int, int, int]:
    """Two companies and a contact of the first: (contact, first company, second company)."""
    companies = [
        int(r["id"])
        for r in execute(
            p.db,
            "INSERT INTO demo.companies (name, domain, city) VALUES "
            "('North', 'north.example', 'Oslo'), ('South', 'south.example', 'Rome') "
            "RETURNING id",
        )
    ]
    contact = int(
        execute(
            p.db,
            "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage, "
            "company_id) VALUES ('rep@example.com', 'Ada', 'Lovelace', 'lead', %s) RETURNING id",
            companies[0],
        )[0]["id"]
    )
    return contact, companies[0], companies[1]


def _links(p: Pipeline) -> list[tuple[str, str | None]]:
    """(status, the parent key linked at the CRM) of every ``record_link``."""
    rows = p.db.execute(
        "SELECT status, linked_parent_key FROM syncsvc.record_link ORDER BY id"
    ).fetchall()
    return [(r["status"], r["linked_parent_key"]) for r in rows]


def _settled(w: World) -> None:
    """Nothing on its way in either direction (the webhooks of our own writes included)."""
    w.pipeline.wait_idle()
    wait_until(lambda: no_inbound_waiting(w.pipeline), 15, message=w.pipeline.describe)


def _linked_contact(w: World) -> tuple[int, int, int]:
    """A contact of North, linked at the CRM, South at the CRM too, and everything settled:
    (contact, North, South)."""
    p = w.pipeline
    contact, north, south = _seed(p)
    wait_until(lambda: w.crm_id(w.companies, south), 60, message=p.describe)
    wait_until(lambda: w.parent_in_crm(contact) == str(north), 60, message=p.describe)
    wait_until(lambda: _links(p) == [("linked", str(north))], 30, message=p.describe)
    _settled(w)
    # the link we made came back (by webhook or poll): nothing to write
    assert _company_of(p, contact) == north
    return contact, north, south


def _no_failures(p: Pipeline) -> None:
    failed = p.db.execute(
        "SELECT count(*) AS n FROM syncsvc.inbound_event WHERE status = 'failed'"
    ).fetchone()
    assert failed is not None and failed["n"] == 0
    assert p.dead_letters() == []


@pytest.mark.parametrize(
    "world", [SALESFORCE, HUBSPOT, HUBSPOT_POLL, PIPEDRIVE, ZOHO, DYNAMICS], ids=str, indirect=True
)
def test_a_rep_moving_a_contact_moves_its_company_id(world: World) -> None:
    p = world.pipeline
    contact, _north, south = _linked_contact(world)
    writes = world.writes()

    world.rep_moves(contact, south)
    wait_until(lambda: _company_of(p, contact) == south, 10, message=p.describe)

    _settled(world)
    assert world.writes() == writes, world.sim.acks()[writes:]
    assert world.parent_in_crm(contact) == str(south)
    assert _links(p) == [("linked", str(south))]  # as the CRM holds it: nothing to link again
    _no_failures(p)


@pytest.mark.parametrize("world", [SALESFORCE, HUBSPOT, ZOHO, DYNAMICS], ids=str, indirect=True)
def test_a_rep_clearing_the_company_clears_company_id(world: World) -> None:
    """Moved in the CRM, then cleared there (the link the CRM made counts as made), then
    linked again."""
    p = world.pipeline
    contact, north, south = _linked_contact(world)
    writes = world.writes()
    world.rep_moves(contact, south)
    wait_until(lambda: _company_of(p, contact) == south, 10, message=p.describe)
    _settled(world)

    world.rep_moves(contact, None)
    wait_until(lambda: _company_of(p, contact) is None, 10, message=p.describe)
    _settled(world)
    assert _links(p) == [("none", None)]

    world.rep_moves(contact, north)
    wait_until(lambda: _company_of(p, contact) == north, 10, message=p.describe)
    _settled(world)
    assert _links(p) == [("linked", str(north))]
    assert world.writes() == writes, world.sim.acks()[writes:]
    _no_failures(p)


@pytest.mark.parametrize("world", [SALESFORCE], ids=str, indirect=True)
def test_a_link_waiting_for_its_parent_is_not_undone_by_an_edit_in_the_crm(world: World) -> None:
    """The contact names a company that never reaches the CRM: its link waits (``pending``),
    the CRM holds no parent, and a rep's edit of the contact there is taken without clearing
    ``company_id``."""
    p = world.pipeline
    missing = 990_000_001
    contact = int(
        execute(
            p.db,
            "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage, "
            "company_id) VALUES ('wait@example.com', 'Ada', 'Lovelace', 'lead', %s) RETURNING id",
            missing,
        )[0]["id"]
    )
    contact_id = wait_until(lambda: world.crm_id(world.contacts, contact), 60, message=p.describe)
    _settled(world)
    assert [status for status, _ in _links(p)] == ["pending"]

    edit = {"object": "Contact", "action": "update", "id": contact_id,
            "fields": {"Email": "waiting@example.com"}}  # fmt: skip
    answer = requests.post(f"{world.sim.base_url}/_sim/edit", json=edit, timeout=10)
    assert answer.status_code < 300, answer.text
    row = "SELECT email, company_id FROM demo.contacts WHERE id = %s"
    wait_until(
        lambda: execute(p.db, row, contact)[0]["email"] == "waiting@example.com",
        10,
        message=p.describe,
    )
    _settled(world)
    assert _company_of(p, contact) == missing
    assert [status for status, _ in _links(p)] == ["pending"]
    _no_failures(p)
