"""Reading records back by alternate key: one ``$batch`` of ``GET {set}({key}='v')?$select=``
requests (Dataverse answers each part on its own: 200 with the record, 404 when absent)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from providers.dynamics import multipart
from providers.dynamics.multipart import HttpMessage
from providers.dynamics.odata import by_key
from providers.dynamics.operations import Table

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def selectable(fields: Sequence[str]) -> list[str]:
    """The payload's columns that ``$select`` can name (``x@odata.bind`` lookups cannot)."""
    return [f for f in dict.fromkeys(fields) if _COLUMN.match(f)]


def get_requests(
    table: Table, id_property: str, values: Sequence[str], fields: Sequence[str]
) -> list[HttpMessage]:
    columns = ",".join(selectable([id_property, *fields]))
    return [
        multipart.request(
            "GET",
            f"{table.api}/{by_key(table.entity_set, id_property, value)}?$select={columns}",
            headers={"Accept": "application/json"},
            content_id=str(i),
        )
        for i, value in enumerate(values)
    ]


def records_of(
    answers: Sequence[HttpMessage], values: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The found records by value (the answers are in the order of ``values``)."""
    names = selectable(fields)
    found: dict[str, dict[str, Any]] = {}
    for value, answer in zip(values, answers, strict=False):
        if answer.status != 200:
            continue
        try:
            body = json.loads(answer.body) if answer.body.strip() else {}
        except ValueError:
            continue
        if isinstance(body, dict):
            found[value] = {name: body.get(name) for name in names}
    return found
