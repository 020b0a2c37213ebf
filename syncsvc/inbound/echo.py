"""Our own pushes coming back through the CRM, told apart from the CRM's own changes.

``outbox.delivered_payload`` is what the CRM holds as far as we know: what we last delivered to
it, and (``took``) the CRM's values of the fields whose change the inbound path has just handed
on. A field that still holds that value is no CRM change: an echo of our own push arriving
late, after the row moved on. Without ``took`` a sales rep who sets a field back to the value we
once pushed (or clears one we pushed empty) would be taken for an echo, and the row would keep
the rep's earlier value for good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.inbound.model import InboundObject

OUTBOX_STATE = """
SELECT delivered_payload, (status = 'pending' AND lease_until > now()) AS in_flight
FROM syncsvc.outbox
WHERE connection_id = %(connection_id)s AND object = %(object)s AND record_key = %(record_key)s
"""
TOOK = """
UPDATE syncsvc.outbox SET delivered_payload = delivered_payload || %(fields)s
WHERE connection_id = %(connection_id)s AND object = %(object)s AND record_key = %(record_key)s
  AND delivered_payload IS NOT NULL
"""


@dataclass(frozen=True)
class PushState:
    delivered: Any
    """``outbox.delivered_payload``: CRM field → the value the CRM holds as far as we know."""
    in_flight: bool
    """A push of the record is under way: what it delivers decides what is an echo."""


def push_state(
    db: psycopg.Connection[Row], connection_id: int, obj: str, record_key: str
) -> PushState | None:
    params = {"connection_id": connection_id, "object": obj, "record_key": record_key}
    row = db.execute(OUTBOX_STATE, params).fetchone()
    if row is None:
        return None
    return PushState(row["delivered_payload"], bool(row["in_flight"]))


def sources(spec: InboundObject, column: str) -> list[str]:
    """The CRM fields mapped to ``column``."""
    return [str(m["source"]) for m in spec.mappings if m["target"] == column]


def ours(spec: InboundObject, column: str, fields: Mapping[str, Any], delivered: Any) -> bool:
    """Whether the CRM still holds, in every field mapped to ``column``, the value we know it
    holds: then the difference is our own older push (an echo), not a CRM change."""
    if not isinstance(delivered, dict):
        return False
    mapped = sources(spec, column)
    return bool(mapped) and all(
        s in delivered and same(fields.get(s), delivered[s]) for s in mapped
    )


def took(
    db: psycopg.Connection[Row],
    connection_id: int,
    spec: InboundObject,
    record_key: str,
    fields: Mapping[str, Any],
    columns: Iterable[str],
) -> None:
    """The CRM's values of the fields behind ``columns`` were handed on (written to the row or
    the inbox): they are what the CRM holds now, and coming back they are no change."""
    taken = {s: fields.get(s) for c in columns for s in sources(spec, c)}
    if not taken:
        return
    params = {
        "connection_id": connection_id,
        "object": spec.object,
        "record_key": record_key,
        "fields": Jsonb(taken),
    }
    db.execute(TOOK, params)


def unseen_crm_change(
    spec: InboundObject, fields: Mapping[str, Any], payload: Mapping[str, Any], delivered: Any
) -> bool:
    """Whether a push of ``payload`` would overwrite, in a field mapped back to a column the
    CRM may write, a value the CRM holds that is neither the one sent nor the one the CRM is
    known to hold (``delivered``): a change made in the CRM since, unseen
    (``syncsvc.push.guard``)."""
    known = delivered if isinstance(delivered, dict) else {}
    for mapping in spec.mappings:
        source = str(mapping["source"])
        if str(mapping["target"]) not in spec.writable or source not in payload:
            continue
        crm = fields.get(source)
        if same(crm, payload[source]):
            continue
        if source not in known or not same(crm, known[source]):
            return True
    return False


def same(crm: Any, sent: Any) -> bool:
    """CRM values come back as text (HubSpot) or typed (JSON APIs): compared as text, with
    empty and missing alike, and in the spelling a CRM may give back a value we sent in another
    (``_canonical``): a value the CRM only respelled is still ours."""
    if crm in (None, "") or sent in (None, ""):
        return crm in (None, "") and sent in (None, "")
    crm_text, sent_text = _text(crm), _text(sent)
    return crm_text == sent_text or _canonical(crm_text) == _canonical(sent_text)


_DECIMAL = re.compile(r"-?\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _canonical(text: str) -> str | datetime:
    """A decimal without trailing zeros (HubSpot keeps ``10.50`` as ``10.5``), a date-time as
    its instant (Salesforce answers ``…000+0000`` for ``…000Z``); other text as it is. Leading
    zeros are kept: ``0123`` is a code, not the number 123."""
    if _DECIMAL.fullmatch(text):
        number = text.rstrip("0").rstrip(".")
        return "0" if number == "-0" else number
    if _DATE.match(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
