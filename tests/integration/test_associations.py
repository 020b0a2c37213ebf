"""Associations A → B (issue 14 part 5) on every CRM, end to end: real bridge, workers and beat,
each CRM's simulator over HTTP, its example config (which links contacts and deals to their
companies by ``company_id``).

Children are written before their parents: they reach the CRM at once, unlinked, and are linked
once their company has arrived; every link exists exactly once. A company that never arrives
leaves its contact synced and the link pending, never dead-lettered. A child whose column
becomes NULL loses its link at the CRM (a lookup set to null, a HubSpot association archived);
a child moved to another company is linked to that one alone (HubSpot would otherwise keep the
old association beside the new one).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from providers.registry import provider_names
from tests.integration.conftest import Pipeline, execute
from tests.support.crms import Crm, running_crm
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=provider_names())
def crm(request: pytest.FixtureRequest) -> Iterator[Crm]:
    yield from running_crm(request.param)


@pytest.fixture
def fresh(pipeline: Pipeline, crm: Crm) -> Pipeline:
    crm.fresh(pipeline)
    return pipeline


def _company_ids(n: int) -> list[int]:
    base = 700_000 + uuid.uuid4().int % 100_000 * 10
    return [base + i for i in range(n)]


def _insert_contact(p: Pipeline, company_id: int | None) -> int:
    tag = uuid.uuid4().hex[:8]
    return int(
        execute(
            p.db,
            "INSERT INTO demo.contacts (email, first_name, last_name, lifecycle_stage, company_id) "
            "VALUES (%s, 'Ada', %s, 'lead', %s) RETURNING id",
            f"a.{tag}@example.com",
            "Child" + tag,
            company_id,
        )[0]["id"]
    )


def _insert_deal(p: Pipeline, company_id: int) -> int:
    return int(
        execute(
            p.db,
            "INSERT INTO demo.deals (name, amount, stage, close_date, company_id) "
            "VALUES (%s, 10.5, 'qualifiedtobuy', '2027-03-01', %s) RETURNING id",
            "Deal " + uuid.uuid4().hex[:6],
            company_id,
        )[0]["id"]
    )


def _insert_company(p: Pipeline, company_id: int) -> None:
    execute(
        p.db,
        "INSERT INTO demo.companies (id, name, domain, city) VALUES (%s, %s, %s, 'Oslo')",
        company_id,
        f"Parent {company_id}",
        f"p{company_id}.example",
    )


def test_children_written_before_their_parents_are_linked_once_the_parents_arrive(
    fresh: Pipeline, crm: Crm
) -> None:
    companies = _company_ids(3)
    contacts = {_insert_contact(fresh, companies[i % 3]): companies[i % 3] for i in range(6)}
    deals = {_insert_deal(fresh, companies[i % 3]): companies[i % 3] for i in range(3)}
    wanted_contacts = {str(c) for c in contacts}
    wanted_deals = {str(d) for d in deals}
    # The children reach the CRM without their parents: their own fields never wait.
    wait_until(
        lambda: (
            wanted_contacts <= crm.keys("demo.contacts") and wanted_deals <= crm.keys("demo.deals")
        ),
        90,
        message=fresh.describe,
    )
    assert crm.links() == Counter(), "nothing can be linked before the companies exist"

    for company in companies:
        _insert_company(fresh, company)
    contact_object, deal_object = crm.objects["demo.contacts"], crm.objects["demo.deals"]
    company_object = crm.objects["demo.companies"]
    expected = {(contact_object, str(c), company_object, str(p)) for c, p in contacts.items()}
    expected |= {(deal_object, str(d), company_object, str(p)) for d, p in deals.items()}
    wait_until(lambda: set(crm.links()) >= expected, 120, message=fresh.describe)
    fresh.wait_idle(90)
    wait_until(lambda: _link_counts(fresh) == {"linked": len(expected)}, 60, message=fresh.describe)

    held = crm.links()
    assert set(held) == expected
    assert all(n == 1 for n in held.values()), held
    assert fresh.dead_letters() == []


def test_a_parent_that_never_arrives_leaves_the_child_synced_and_the_link_pending(
    fresh: Pipeline, crm: Crm
) -> None:
    missing = _company_ids(1)[0]
    contact = _insert_contact(fresh, missing)
    wait_until(lambda: str(contact) in crm.keys("demo.contacts"), 90, message=fresh.describe)
    fresh.wait_idle(90)

    rows = fresh.db.execute(
        "SELECT status, parent_key, attempts, last_error FROM syncsvc.record_link"
    ).fetchall()
    assert len(rows) == 1
    assert rows[0]["status"] == "pending"
    assert rows[0]["parent_key"] == str(missing)
    assert rows[0]["attempts"] == 0, "a link waiting for its parent is not a failed attempt"
    assert fresh.dead_letters() == []
    assert crm.links() == Counter()
    row = fresh.db.execute(
        "SELECT status FROM syncsvc.outbox WHERE record_key = %s AND source_table = 'demo.contacts'",
        (str(contact),),
    ).fetchone()
    assert row is not None and row["status"] == "delivered"


def test_a_child_whose_column_becomes_null_is_unlinked_at_the_crm(
    fresh: Pipeline, crm: Crm
) -> None:
    (company,) = _company_ids(1)
    _insert_company(fresh, company)
    contact = _insert_contact(fresh, company)
    deal = _insert_deal(fresh, company)
    company_object = crm.objects["demo.companies"]
    contact_link = (crm.objects["demo.contacts"], str(contact), company_object, str(company))
    deal_link = (crm.objects["demo.deals"], str(deal), company_object, str(company))
    wait_until(lambda: set(crm.links()) == {contact_link, deal_link}, 90, message=fresh.describe)
    wait_until(lambda: _link_counts(fresh) == {"linked": 2}, 60, message=fresh.describe)

    execute(fresh.db, "UPDATE demo.contacts SET company_id = NULL WHERE id = %s", contact)
    wait_until(lambda: set(crm.links()) == {deal_link}, 60, message=fresh.describe)
    fresh.wait_idle(60)
    wait_until(lambda: _link_counts(fresh) == {"linked": 1, "none": 1}, 30, message=fresh.describe)

    assert crm.links() == Counter({deal_link: 1}), "the deal keeps its company"
    assert str(contact) in crm.keys("demo.contacts"), "the contact itself stays"
    assert fresh.dead_letters() == []


def test_a_child_moved_to_another_parent_is_linked_to_that_one_alone(
    fresh: Pipeline, crm: Crm
) -> None:
    """Moved, then cleared: the link our side made last is the one that goes."""
    first, second = _company_ids(2)
    for company in (first, second):
        _insert_company(fresh, company)
    contact = _insert_contact(fresh, first)
    contact_object, company_object = crm.objects["demo.contacts"], crm.objects["demo.companies"]
    to_first = (contact_object, str(contact), company_object, str(first))
    to_second = (contact_object, str(contact), company_object, str(second))
    wait_until(lambda: set(crm.links()) == {to_first}, 90, message=fresh.describe)
    wait_until(lambda: str(second) in crm.keys("demo.companies"), 60, message=fresh.describe)

    execute(fresh.db, "UPDATE demo.contacts SET company_id = %s WHERE id = %s", second, contact)
    wait_until(lambda: set(crm.links()) == {to_second}, 60, message=fresh.describe)
    fresh.wait_idle(60)
    wait_until(lambda: _link_counts(fresh) == {"linked": 1}, 30, message=fresh.describe)
    assert crm.links() == Counter({to_second: 1})

    execute(fresh.db, "UPDATE demo.contacts SET company_id = NULL WHERE id = %s", contact)
    wait_until(lambda: crm.links() == Counter(), 60, message=fresh.describe)
    fresh.wait_idle(60)
    wait_until(lambda: _link_counts(fresh) == {"none": 1}, 30, message=fresh.describe)
    assert fresh.dead_letters() == []


def _link_counts(p: Pipeline) -> dict[str, int]:
    return {
        r["status"]: int(r["n"])
        for r in p.db.execute(
            "SELECT status, count(*) AS n FROM syncsvc.record_link GROUP BY status"
        ).fetchall()
    }
