"""Links made or changed in the CRM, carried back into the child's ``via`` column (issue 14,
associations B → A).

A connection's association from an inbound object implies that its ``via`` column is written
inbound (the config may not map that column as well: ``check_links``). The child's parent is
read from the CRM with the child (a lookup field, or the CRM's association API:
``ProviderClient.parent_ids``), and its CRM id is turned into the parent's internal key through
what we know of it: the parent's outbox row (``external_id``) or its ``inbound_link``. A parent
we do not know (not synced by us) leaves the column as it is, and says so in the event's detail;
a child without a parent in the CRM leaves it too (a link still waiting for its parent to reach
the CRM is not undone by an edit of the child's other fields).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg

from providers.base import CrmRecord, ProviderClient
from syncsvc.db import Row
from syncsvc.inbound.model import InboundSpec
from syncsvc.links.model import Association

FIND_PARENT = """
SELECT record_key FROM syncsvc.inbound_link
WHERE connection_id = %(connection_id)s AND object = %(object)s AND crm_id = %(crm_id)s
UNION ALL
SELECT record_key FROM syncsvc.outbox
WHERE connection_id = %(connection_id)s AND object = %(object)s AND external_id = %(crm_id)s
LIMIT 1
"""


@dataclass(frozen=True)
class ParentRef:
    """A child's parent as the CRM names it: written to ``via`` once translated."""

    via: str
    parent_object: str
    crm_id: str


def link_fields(client: type[ProviderClient], links: Sequence[Association]) -> list[str]:
    """The child fields to read for its links (lookup fields)."""
    out: list[str] = []
    for assoc in links:
        out += client.link_fields(assoc.child_object, assoc.parent_object, assoc.link_type)
    return list(dict.fromkeys(out))


def read_parents(
    client: ProviderClient, links: Sequence[Association], records: Mapping[str, CrmRecord]
) -> dict[str, list[ParentRef]]:
    """Each child's parents by CRM id, per association (children without one left out)."""
    out: dict[str, list[ParentRef]] = {}
    if not records:
        return out
    for assoc in links:
        found = client.parent_ids(assoc.child_object, assoc.parent_object, assoc.link_type, records)
        for child_id, parent_id in found.items():
            if parent_id is not None and child_id in records:
                ref = ParentRef(assoc.via, assoc.parent_object, parent_id)
                out.setdefault(child_id, []).append(ref)
    return out


def resolve(
    db: psycopg.Connection[Row], connection_id: int, refs: Sequence[ParentRef]
) -> tuple[dict[str, str], list[ParentRef]]:
    """``via`` column → the parent's internal key, and the parents we do not know."""
    values: dict[str, str] = {}
    unknown: list[ParentRef] = []
    for ref in refs:
        params = {"connection_id": connection_id, "object": ref.parent_object, "crm_id": ref.crm_id}
        row = db.execute(FIND_PARENT, params).fetchone()
        if row is None:
            unknown.append(ref)
        else:
            values[ref.via] = str(row["record_key"])
    return values, unknown


def link_problem(
    inbound: InboundSpec | None, associations: Sequence[Association]
) -> tuple[int, str] | None:
    """An association whose ``via`` column the inbound object also maps or keys by (two
    sources for one column): (its index, why)."""
    if inbound is None:
        return None
    for i, assoc in enumerate(associations):
        spec = inbound.objects.get(assoc.child_object)
        if spec is None:
            continue
        if assoc.via == spec.key_column:
            return i, f"{assoc.via!r} is the key column of inbound {assoc.child_object!r}"
        if any(m["target"] == assoc.via for m in spec.mappings):
            return i, (
                f"inbound {assoc.child_object!r} maps {assoc.via!r} as well: the association "
                "writes it from the CRM's link, drop that mapping"
            )
    return None
