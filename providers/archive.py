"""Which CRM records an archive deletes: the id the outbox holds, else the record found by our
key. An item with neither, or whose record is not found, is already archived."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from providers.base import PushItem, PushResult

Target = tuple[PushItem, str]
"""An item and the CRM id of the record to delete."""
Resolve = Callable[[Sequence[PushItem]], dict[int, str]]
"""CRM ids by outbox id for items known only by key (absent records left out)."""


def delete_targets(
    items: Sequence[PushItem], resolve: Resolve
) -> tuple[list[Target], list[PushResult]]:
    """The records to delete, and the results of the items with nothing to delete."""
    targets: list[Target] = []
    done: list[PushResult] = []
    lookup: list[PushItem] = []
    for item in items:
        if item.external_id:
            targets.append((item, str(item.external_id)))
        elif item.id_property and item.id_value:
            lookup.append(item)
        else:
            done.append(PushResult(item.outbox_id))
    found = resolve(lookup)
    for item in lookup:
        if item.outbox_id in found:
            targets.append((item, found[item.outbox_id]))
        else:
            done.append(PushResult(item.outbox_id))
    return targets, done
