"""What a full backfill would cost the connection's CRM quota: API calls and time at its rate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from syncsvc.config.runtime import RuntimeConnection
from syncsvc.preview.counts import BackfillCounts

DAY = 86_400


@dataclass(frozen=True)
class QuotaEstimate:
    """``calls``: write calls for ``records`` outbox items at ``records_per_call`` each (per
    object and op, rounded up); ``seconds``: the time those calls take at the connection's rate
    limit, all of it; ``share_of_day``: the part of a day's calls at that rate they use."""

    records: int
    records_per_call: int
    calls: int
    rate_limit_requests: int
    rate_limit_seconds: int
    seconds: float
    share_of_day: float
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def records_per_call(conn: RuntimeConnection) -> int:
    """Records one write call carries: the connection's ``batch_size`` (already at most the
    CRM's maximum), or the CRM's own limit when it has no batch writes."""
    own = conn.provider.defaults.records_per_call
    return max(1, own if own is not None else conn.batch_size)


def estimate_quota(conn: RuntimeConnection, counts: BackfillCounts) -> QuotaEstimate:
    per_call = records_per_call(conn)
    calls = sum(math.ceil(n / per_call) for n in counts.sends.values())
    records = counts.create + counts.update + counts.archive
    per_second = conn.rate_limit_requests / conn.rate_limit_seconds
    note = ""
    if conn.provider.defaults.records_per_call == 1:
        note = (
            "one call per record; a record without a known CRM id costs a search first "
            f"(up to {counts.create + counts.update} more calls)"
        )
    return QuotaEstimate(
        records=records,
        records_per_call=per_call,
        calls=calls,
        rate_limit_requests=conn.rate_limit_requests,
        rate_limit_seconds=conn.rate_limit_seconds,
        seconds=calls / per_second if per_second else 0.0,
        share_of_day=calls / (per_second * DAY) if per_second else 0.0,
        note=note,
    )
