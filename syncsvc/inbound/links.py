"""Links made, changed or removed in the CRM, carried back into the child's ``via`` column
(issue 14, associations B → A).

A connection's association from an inbound object implies that its ``via`` column is written
inbound (the config may not map that column as well: ``check_links``). The child's parent is
read from the CRM with the child (a lookup field, or the CRM's association API:
``ProviderClient.parent_ids``), and its CRM id is turned into the parent's internal key through
what we know of it: the parent's outbox row (``external_id``) or its ``inbound_link``. A parent
we do not know (not synced by us) leaves the column as it is, and says so in the event's detail.

A child the CRM says has no parent (the rep cleared the lookup, removed the association) has
its column set to NULL only when our side believed the link was at the CRM: its
``record_link`` is ``linked`` to the parent the column still names. A link still waiting for
its parent to reach the CRM (``pending``), or a column changed since the link was made (a
change on its way to the CRM), is not undone by an edit of the child in the CRM.

What the inbound path writes into a ``via`` column is what the CRM holds: the child's
``record_link`` then says so (``linked`` to that parent, or ``none``), so that the push side
neither links it again nor unlinks it (a NULL the CRM's unlink wrote is no unlink of ours to
send back), nor takes a later unlink in the CRM for a link still on its way.

The other way round, a CRM that still names the parent our side linked while our change of
that link is on its way (the child moved or cleared internally: ``record_link`` ``pending`` or
``unlinking`` away from ``linked_parent_key``) reports our own older state, as an echo would:
the column is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg.types.json import Jsonb

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
LINKED_TO = """
SELECT linked_parent_key FROM syncsvc.record_link
WHERE connection_id = %(connection_id)s AND association = %(association)s
  AND child_key = %(child_key)s AND status = 'linked' AND linked_parent_key IS NOT NULL
"""
# Our side is changing the link away from the parent the CRM still holds (a move or an unlink
# on its way to the CRM).
LEAVING = """
SELECT linked_parent_key FROM syncsvc.record_link
WHERE connection_id = %(connection_id)s AND association = %(association)s
  AND child_key = %(child_key)s AND status IN ('pending', 'unlinking')
  AND linked_parent_key IS NOT NULL AND parent_key IS DISTINCT FROM linked_parent_key
"""
# The CRM's link as the inbound path wrote it into the column: linked to that parent (or
# none). The version stays: the child's next internal change notes its link as usual.
HELD_BY_CRM = """
INSERT INTO syncsvc.record_link AS l
    (connection_id, association, child_object, child_key, parent_object, parent_key, version,
     status, linked_parent_key, linked_at)
SELECT %(connection_id)s, n.association, n.child_object, %(child_key)s, n.parent_object,
       n.parent_key, 0, CASE WHEN n.parent_key IS NULL THEN 'none' ELSE 'linked' END,
       n.parent_key, CASE WHEN n.parent_key IS NULL THEN NULL ELSE now() END
FROM jsonb_to_recordset(%(links)s) AS n(association text, child_object text,
                                        parent_object text, parent_key text)
ORDER BY n.association
ON CONFLICT (connection_id, association, child_key) DO UPDATE SET
    parent_key = EXCLUDED.parent_key,
    status = EXCLUDED.status,
    linked_parent_key = EXCLUDED.linked_parent_key,
    linked_at = COALESCE(EXCLUDED.linked_at, l.linked_at),
    attempts = 0, last_error = NULL, next_attempt_at = now(), updated_at = now()
"""


@dataclass(frozen=True)
class ParentRef:
    """A child's parent as the CRM names it (``crm_id`` None: the CRM holds none)."""

    association: str
    via: str
    parent_object: str
    crm_id: str | None


@dataclass
class Resolved:
    values: dict[str, str] = field(default_factory=dict)
    """``via`` column → the parent's internal key."""
    unknown: list[ParentRef] = field(default_factory=list)
    """Parents the CRM names that we do not know: their columns are left as they are."""
    unlinked: dict[str, str] = field(default_factory=dict)
    """``via`` column → the parent key our side linked: the CRM holds no parent any more, so
    the column is cleared if it still names that parent."""


def link_fields(client: type[ProviderClient], links: Sequence[Association]) -> list[str]:
    """The child fields to read for its links (lookup fields)."""
    out: list[str] = []
    for assoc in links:
        out += client.link_fields(assoc.child_object, assoc.parent_object, assoc.link_type)
    return list(dict.fromkeys(out))


def read_parents(
    client: ProviderClient, links: Sequence[Association], records: Mapping[str, CrmRecord]
) -> dict[str, list[ParentRef]]:
    """Each child's parent by CRM id, per association (None where the CRM says it has none;
    children the CRM says nothing about left out)."""
    out: dict[str, list[ParentRef]] = {}
    if not records:
        return out
    for assoc in links:
        found = client.parent_ids(assoc.child_object, assoc.parent_object, assoc.link_type, records)
        for child_id, parent_id in found.items():
            if child_id in records:
                ref = ParentRef(assoc.name, assoc.via, assoc.parent_object, parent_id)
                out.setdefault(child_id, []).append(ref)
    return out


def resolve(
    db: psycopg.Connection[Row],
    connection_id: int,
    child_key: str | None,
    refs: Sequence[ParentRef],
) -> Resolved:
    """The parents' internal keys, the parents we do not know, and the links the CRM dropped
    that our side had made (``child_key`` None: a child we do not know has none). A parent the
    CRM names that our side is unlinking the child from is left out (our own older state)."""
    out = Resolved()
    for ref in refs:
        link = {"connection_id": connection_id, "association": ref.association}
        if ref.crm_id is None:
            if child_key is not None:
                row = db.execute(LINKED_TO, {**link, "child_key": child_key}).fetchone()
                if row is not None:
                    out.unlinked[ref.via] = str(row["linked_parent_key"])
            continue
        params = {"connection_id": connection_id, "object": ref.parent_object, "crm_id": ref.crm_id}
        found = db.execute(FIND_PARENT, params).fetchone()
        if found is None:
            out.unknown.append(ref)
            continue
        if child_key is not None:
            leaving = db.execute(LEAVING, {**link, "child_key": child_key}).fetchone()
            if leaving is not None and leaving["linked_parent_key"] == str(found["record_key"]):
                continue
        out.values[ref.via] = str(found["record_key"])
    return out


def held_by_crm(
    db: psycopg.Connection[Row],
    connection_id: int,
    links: Sequence[Association],
    child_key: str,
    written: Mapping[str, str | None],
) -> None:
    """Note the links whose ``via`` column the inbound path just wrote (``written``: column →
    parent key, None for none) as the CRM holds them."""
    held = [
        {
            "association": a.name,
            "child_object": a.child_object,
            "parent_object": a.parent_object,
            "parent_key": written[a.via],
        }
        for a in links
        if a.via in written
    ]
    if held:
        params = {"connection_id": connection_id, "child_key": child_key, "links": Jsonb(held)}
        db.execute(HELD_BY_CRM, params)


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
