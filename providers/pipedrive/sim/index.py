"""What search sees: Pipedrive's search index, which may lag behind writes.

Pipedrive documents no read-after-write guarantee for search (reads by id are current). With a
``lag`` of L seconds, each write reaches the index L seconds after it was made: a new record is
not found until then, an updated one is found by its old values, a deleted one is still found.
A lag of 0 indexes every write at once. Callers hold the simulator's lock.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.pipedrive.sim.store import Record


@dataclass
class _Pending:
    base: Record | None
    """What the index holds now (None: the record is not indexed yet)."""
    writes: list[tuple[float, Record]] = field(default_factory=list)
    """Writes not indexed yet: (when they will be, the record as that write left it)."""


def _snapshot(record: Record) -> Record:
    return copy.deepcopy(record)


class SearchIndex:
    def __init__(self, lag: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.lag = max(0.0, lag)
        self._clock = clock
        self._pending: dict[int, _Pending] = {}

    def before_write(self, record: Record) -> Record | None:
        """What the index holds of ``record`` as a write to it begins (call before changing it)."""
        if self.lag <= 0 or record.id in self._pending:
            return None
        return _snapshot(record)

    def written(self, record: Record, before: Record | None) -> None:
        """``record`` was just created, updated or deleted; ``before`` from ``before_write``
        (None for a record just created)."""
        if self.lag <= 0:
            self._pending.pop(record.id, None)
            return
        pending = self._pending.setdefault(record.id, _Pending(before))
        pending.writes.append((self._clock() + self.lag, _snapshot(record)))

    def view(self, record: Record) -> Record | None:
        """``record`` as search sees it now; None when search does not find it at all."""
        pending = self._pending.get(record.id)
        if pending is not None:
            now = self._clock()
            while pending.writes and pending.writes[0][0] <= now:
                pending.base = pending.writes.pop(0)[1]
            if not pending.writes:
                del self._pending[record.id]  # caught up: search sees the record as it is
            elif pending.base is None:
                return None
            else:
                record = pending.base
        return None if record.is_deleted else record

    def clear(self) -> None:
        self._pending.clear()
