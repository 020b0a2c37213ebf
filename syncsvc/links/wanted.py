"""Which parent a child row names, per association: computed by the chain's transform from the
row it read, written by persist with the child's outbox row (``syncsvc.links.store``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncsvc.links.model import Association
from syncsvc.links.store import NotedLink
from syncsvc.pipeline.batch import OutboxItem, ParentRef, record_key

MAX_KEY_CHARS = 500
"""A parent key longer than this cannot be a record key the outbox holds: no parent."""


def parent_keys(
    associations: Sequence[Association], child_object: str, row: Mapping[str, Any]
) -> list[ParentRef]:
    """The parent the row names for each association whose child is ``child_object``: its
    record key as the bridge writes record keys (the value itself for a one-column key), None
    when the row's column is empty."""
    out: list[ParentRef] = []
    for assoc in associations:
        if assoc.child_object != child_object:
            continue
        value = row.get(assoc.via)
        key = None if value is None or value == "" else record_key({assoc.via: value})
        if key is not None and len(key) > MAX_KEY_CHARS:
            key = None
        out.append(
            ParentRef(association=assoc.name, parent_object=assoc.parent_object, parent_key=key)
        )
    return out


def wanted_links(items: Sequence[OutboxItem]) -> list[NotedLink]:
    """The links ``items`` name, for ``syncsvc.links.store.note``; of several items of one
    child the newest version wins (as in the outbox)."""
    latest: dict[tuple[str, str], NotedLink] = {}
    for item in items:
        for ref in item.get("links", []):
            link = NotedLink(
                association=ref["association"],
                child_object=item["object"],
                child_key=item["record_key"],
                parent_object=ref["parent_object"],
                parent_key=ref["parent_key"],
                version=item["version"],
            )
            key = (link["association"], link["child_key"])
            if key not in latest or latest[key]["version"] < link["version"]:
                latest[key] = link
    return list(latest.values())
