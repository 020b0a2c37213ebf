"""Reading records back by alternate key: one ``$batch`` of ``GET {set}({key}='v')?$select=``
requests (Dataverse answers each part on its own: 200 with the record, 404 when absent)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from providers.dynamics import multipart
from providers.dynamics.multipart import HttpMessage
from providers.dynamics.odata import by_key
from providers.dynamics.operations import Table

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def selectable(fields: Sequence[str]) -> list[str]:
    """The payload's columns that ``$select`` can name (``x@odata.bind`` lookups cannot)."""
    return [f for f in dict.fromkeys(fields) if _COLUMN.match(f)]


def gets(
    table: Table, locators: Sequence[str], select: str, headers: Mapping[str, str] | None = None
) -> list[HttpMessage]:
    """One ``GET {api}/{locator}?$select=`` part per locator (``by_id``/``by_key``), with
    ``headers`` besides ``Accept``."""
    return [
        multipart.request(
            "GET",
            f"{table.api}/{locator}?$select={select}",
            headers={"Accept": "application/json", **(headers or {})},
            content_id=str(i),
        )
        for i, locator in enumerate(locators)
    ]


def get_requests(
    table: Table, id_property: str, values: Sequence[str], fields: Sequence[str]
) -> list[HttpMessage]:
    locators = [by_key(table.entity_set, id_property, value) for value in values]
    return gets(table, locators, ",".join(selectable([id_property, *fields])))


def bodies(answers: Sequence[HttpMessage]) -> list[dict[str, Any] | None]:
    """Each part's record: the JSON object of a 200 (an empty body: ``{}``), else None (404:
    no such record)."""
    return [_object(answer.body) if answer.status == 200 else None for answer in answers]


def _object(text: str) -> dict[str, Any] | None:
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def records_of(
    answers: Sequence[HttpMessage], values: Sequence[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The found records by value (the answers are in the order of ``values``)."""
    names = selectable(fields)
    return {
        value: {name: body.get(name) for name in names}
        for value, body in zip(values, bodies(answers), strict=False)
        if body is not None
    }
