"""Salesforce inbound without a server: the ``queryAll`` each poll page sends, the tie rule
that pages by ``(SystemModstamp, Id)``, deletions read from the recycle bin, and the config
refusing webhooks (Salesforce sends none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from providers.salesforce import changes
from providers.salesforce.lookup import key_query
from providers.salesforce.sim.app import SalesforceSim
from providers.salesforce.sim.query import run_query
from syncsvc.config.loader import load_config_file
from syncsvc.errors import ConfigError, PermanentError

NOW = datetime(2026, 12, 4, 12, 0, 0, 750_000, tzinfo=UTC)
STAMP = "2026-12-04T12:00:00.000+0000"
FIELDS = ["Email", "FirstName"]


def test_the_first_page_starts_at_since_cut_to_the_second() -> None:
    query = changes.changes_query("Contact", FIELDS, NOW, None)
    assert query == (
        "SELECT Id, IsDeleted, Email, FirstName, SystemModstamp FROM Contact "
        "WHERE SystemModstamp >= 2026-12-04T12:00:00Z ORDER BY SystemModstamp, Id LIMIT 200"
    )


def test_a_following_page_starts_after_the_last_stamp_and_id() -> None:
    query = changes.changes_query("Contact", FIELDS, NOW, "2026-12-04T12:00:01Z 003000000000001AAA")
    assert (
        "WHERE SystemModstamp > 2026-12-04T12:00:01Z OR "
        "(SystemModstamp = 2026-12-04T12:00:01Z AND Id > '003000000000001AAA')"
    ) in query


@pytest.mark.parametrize(
    "after", ["nonsense 003000000000001AAA", "2026-12-04T12:00:01Z x' OR Id != '", "2026-12-04"]
)
def test_a_position_that_is_not_a_stamp_and_an_id_is_refused(after: str) -> None:
    with pytest.raises(PermanentError):
        changes.changes_query("Contact", FIELDS, NOW, after)


def test_names_that_are_not_api_names_are_refused() -> None:
    with pytest.raises(PermanentError):
        changes.changes_query("Contact", ["Email FROM User --"], NOW, None)


def row(record_id: str, stamp: str = STAMP, deleted: bool = False, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, "Id": record_id, "IsDeleted": deleted,
            "SystemModstamp": stamp, **fields}  # fmt: skip


def test_a_page_splits_changes_from_deletions() -> None:
    answer = {
        "totalSize": 2,
        "done": True,
        "records": [row("003A", Email="a@x.org"), row("003B", deleted=True)],
    }
    page = changes.page_of(answer, FIELDS)
    assert [(r.id, dict(r.fields)) for r in page.records] == [
        ("003A", {"Email": "a@x.org", "FirstName": None})
    ]
    assert page.records[0].modified_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert page.deleted == ["003B"]
    assert page.after is None and page.resume is None  # fewer rows than the LIMIT: the last


def test_a_full_page_continues_after_its_last_row() -> None:
    rows = [row(f"003{i:015d}") for i in range(changes.PAGE)]
    page = changes.page_of({"records": rows, "done": True}, FIELDS)
    assert page.after == f"2026-12-04T12:00:00Z 003{changes.PAGE - 1:015d}"
    assert page.resume == page.after  # a poll cut short is continued there, not from the mark


def sim_with_contacts(count: int) -> SalesforceSim:
    sim = SalesforceSim()
    store = sim.stores["Contact"]
    for i in range(count):
        record = store.create({"LastName": f"L{i}", "Email": f"c{i}@example.com"})
        record.fields["SystemModstamp"] = STAMP  # one bulk update: every row stamped alike
    return sim


def poll_all(sim: SalesforceSim, since: datetime) -> tuple[list[str], list[str], int]:
    """Every page of one poll, as ``syncsvc.inbound.run.poll`` reads them."""
    seen: list[str] = []
    gone: list[str] = []
    after: str | None = None
    for pages in range(1, 20):
        query = changes.changes_query("Contact", FIELDS, since, after)
        answer = run_query(query, sim.stores, "v62.0", include_deleted=True)
        page = changes.page_of(answer, FIELDS)
        seen += [r.id for r in page.records]
        gone += page.deleted
        after = page.after
        if after is None:
            return seen, gone, pages
    raise AssertionError("the poll never ended")


def test_rows_sharing_one_stamp_are_all_read_once_across_pages() -> None:
    """450 rows with one SystemModstamp: a time-only cursor would loop on the first 200 (>=) or
    lose 250 (>); the (stamp, Id) pair reads each exactly once in three pages."""
    sim = sim_with_contacts(450)
    seen, gone, pages = poll_all(sim, datetime(2026, 12, 4, 11, 59, 55, tzinfo=UTC))
    assert pages == 3
    assert len(seen) == len(set(seen)) == 450
    assert set(seen) == set(sim.stores["Contact"].records)
    assert gone == []


def test_query_all_reports_deleted_records_and_query_does_not() -> None:
    sim = sim_with_contacts(3)
    store = sim.stores["Contact"]
    first = sorted(store.records)[0]
    store.delete(store.records[first])
    seen, gone, _ = poll_all(sim, datetime(2026, 12, 4, 11, 0, tzinfo=UTC))
    assert gone == [first] and first not in seen and len(seen) == 2
    live = run_query(key_query("Contact", "Id", [first]), sim.stores, "v62.0")
    assert live["records"] == []


def test_records_older_than_since_are_not_answered() -> None:
    sim = sim_with_contacts(2)
    seen, gone, _ = poll_all(sim, datetime(2026, 12, 4, 12, 0, 1, tzinfo=UTC))
    assert (seen, gone) == ([], [])


def test_a_long_answer_is_paged_behind_next_records_url() -> None:
    sim = sim_with_contacts(2_100)
    first = run_query("SELECT Id FROM Contact", sim.stores, "v62.0", locators=sim.locators)
    assert (first["totalSize"], first["done"], len(first["records"])) == (2_100, False, 2_000)
    locator = urlparse(first["nextRecordsUrl"]).path.rsplit("/", 1)[1]
    rest = sim.locators.more(locator, "v62.0")
    assert (rest["done"], len(rest["records"])) == (True, 100)
    assert "nextRecordsUrl" not in rest
    assert not parse_qs(urlparse(first["nextRecordsUrl"]).query)


def test_inbound_webhooks_for_salesforce_are_refused(tmp_path: Path) -> None:
    doc = {
        "version": 1,
        "connections": [
            {
                "name": "sf",
                "provider": "salesforce",
                "base_url": "https://acme.my.salesforce.com",
                "credentials": {"client_id": "a", "client_secret": "b", "refresh_token": "c"},
                "objects": {"Contact": {"mappings": [{"source": "email", "target": "Email"}]}},
                "rules": [{"name": "r", "source": "demo.contacts", "operations": ["insert"],
                           "action": "upsert", "object": "Contact", "id_property": "Email"}],
                "inbound": {"webhooks": True, "poll_seconds": 30, "objects": {"Contact": {
                    "table": "demo.contacts", "key": {"column": "email", "field": "Email"},
                    "mappings": [{"source": "FirstName", "target": "first_name"}]}}},
            }
        ],
    }  # fmt: skip
    path = tmp_path / "sf.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="salesforce sends no webhooks"):
        load_config_file(path)
    doc["connections"][0]["inbound"]["webhooks"] = False  # type: ignore[index]
    path.write_text(yaml.safe_dump(doc))
    load_config_file(path)  # polling alone is accepted


def test_a_poll_overlap_is_kept_by_the_literal() -> None:
    """``since`` is cut, never rounded up, so the query can only read more than asked."""
    since = NOW + timedelta(milliseconds=999)
    assert changes.soql_datetime(since) == "2026-12-04T12:00:01Z"
    assert changes.soql_datetime(NOW) == "2026-12-04T12:00:00Z"
