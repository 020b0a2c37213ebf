"""Instance annotations a request asked for (``Prefer: odata.include-annotations="…"``): a
comma-separated list of terms, ``*`` for all or ``Namespace.*`` for a namespace's; a term not
asked for is left out of the answer, as Dataverse leaves it out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_INCLUDE = re.compile(r'odata\.include-annotations=(?:"([^"]*)"|([^,;\s]+))')

Wanted = Callable[[str], bool]


def wanted(headers: Mapping[str, str]) -> Wanted:
    prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
    found = _INCLUDE.search(prefer)
    listed = (found.group(1) or found.group(2) or "") if found else ""
    patterns = [p.strip() for p in listed.split(",") if p.strip()]

    def asked(term: str) -> bool:
        return any(
            p == "*" or p == term or (p.endswith(".*") and term.startswith(p[:-1]))
            for p in patterns
        )

    return asked


def none(term: str) -> bool:
    return False
