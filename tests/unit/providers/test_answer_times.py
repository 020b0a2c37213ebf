"""The times CRMs answer, read by one function (``providers.answers.parse_time``) with each
CRM's own spelling normalised first (Salesforce's ``+0000``, Pipedrive v1's space)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from providers.answers import parse_time
from providers.dynamics.changes import parse_time as dynamics_time
from providers.pipedrive.changes import parse_time as pipedrive_time
from providers.salesforce.changes import parse_time as salesforce_time
from providers.zoho.changes import parse_time as zoho_time

NOON = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def test_iso_times_with_z_an_offset_or_no_zone() -> None:
    for read in (parse_time, dynamics_time, zoho_time, pipedrive_time, salesforce_time):
        assert read("2024-05-01T12:30:00Z") == NOON
        assert read("2024-05-01T12:30:00") == NOON, "no zone: UTC"
        assert read("2024-05-01T14:30:00+02:00") == NOON
        assert read("2024-05-01T14:30:00+02:00").tzinfo == timezone(timedelta(hours=2))  # type: ignore[union-attr]
        for bad in ("", "yesterday", None, 1714566600, ["2024-05-01"]):
            assert read(bad) is None


def test_each_crms_own_spelling() -> None:
    assert salesforce_time("2024-05-01T12:30:00.000+0000") == NOON
    assert salesforce_time("2024-05-01T14:30:00.000+0200") == NOON
    assert pipedrive_time("2024-05-01 12:30:00") == NOON
