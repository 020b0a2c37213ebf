"""``--since`` (backfill, dlq) and ``--before`` (dlq purge) read a time one way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
import pytest

from syncsvc.cli.context import iso_time


def test_an_iso_date_or_datetime_utc_when_it_names_no_zone() -> None:
    assert iso_time(None) is None
    assert iso_time("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert iso_time("2024-05-01T12:30") == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    two = iso_time("2024-05-01T14:30:00+02:00")
    assert two is not None and two.tzinfo == timezone(timedelta(hours=2))
    with pytest.raises(click.BadParameter, match="not an ISO date or datetime: 'last week'"):
        iso_time("last week")
