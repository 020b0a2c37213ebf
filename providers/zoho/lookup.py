"""Finding Zoho record ids by our key with COQL (``POST /crm/v8/coql``).

COQL rather than the Search API: search results come from an index that lags behind writes
(Zoho documents a ``204`` right after a create or edit), and its ``equals`` behaves like
*contains*. COQL reads the records themselves and compares exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import requests

from providers.answers import body_of
from providers.zoho.defaults import API_VERSION, MAX_COQL_IN
from providers.zoho.responses import raise_for_call
from syncsvc.errors import PermanentError

COQL_PATH = f"/crm/{API_VERSION}/coql"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")

Call = Callable[[str, str, object], requests.Response]
"""``call(method, path, json_body)``: one authenticated request that raises for 401/429/5xx."""


def quote(value: str) -> str:
    """A COQL string literal: backslashes and single quotes escaped with a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def select_by_key(module: str, field: str, values: Iterable[str], also: Iterable[str] = ()) -> str:
    """``select id, field[, also…] from module where field in (values) limit 200``."""
    selected = list(dict.fromkeys(["id", field, *also]))
    for name in (module, *selected):
        if not _NAME.match(name):
            raise PermanentError(f"zoho: {name!r} is not an API name", field=name, code="BAD_NAME")
    listed = ", ".join(quote(v) for v in values)
    columns = ", ".join(selected)
    # Names are checked against _NAME above and every value is a quoted literal.
    return f"select {columns} from {module} where {field} in ({listed}) limit 200"  # noqa: S608


def find_ids(
    call: Call, module: str, field: str, values: Iterable[str], window: float
) -> dict[str, str]:
    """Zoho ids of the records whose ``field`` equals one of ``values`` (absent ones left out)."""
    found = find_records(call, module, field, values, (), window)
    return {key: str(row["id"]) for key, row in found.items()}


def find_records(
    call: Call,
    module: str,
    field: str,
    values: Iterable[str],
    fields: Iterable[str],
    window: float,
) -> dict[str, dict[str, Any]]:
    """The records (``id``, ``field`` and ``fields``) whose ``field`` equals one of ``values``,
    by value, the first one per value (absent ones left out); 50 values a COQL query."""
    wanted = list(dict.fromkeys(str(v) for v in values))
    also = list(fields)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), MAX_COQL_IN):
        chunk = wanted[start : start + MAX_COQL_IN]
        query = select_by_key(module, field, chunk, also)
        response = call("POST", COQL_PATH, {"select_query": query})
        if response.status_code == 204:
            continue
        raise_for_call(response, window)
        for row in body_of(response).get("data") or []:
            if not isinstance(row, dict) or row.get("id") is None:
                continue
            key = row.get(field)
            if key is not None and str(key) in chunk:
                found.setdefault(str(key), row)
    return found
