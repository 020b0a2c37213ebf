"""The ``strict`` simulator option: every documented failure behaviour of a CRM at once.

A behaviour that is not the CRM's default observable one, or that would slow every test, has an
option of its own (off by default); ``strict: true`` turns each of them on unless the options
name it explicitly. The contract suite runs against strict simulators.

A simulator reads ``strict`` one of two ways: once, when it starts (``strict_options``: the
behaviours become options like any other), or where it uses the behaviours
(``strict_behaviours``: ``strict`` stays an option ``/_sim/config`` can change). Each CRM's
behaviours and their values stay in its own package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STRICT = "strict"


def strict_options(options: Mapping[str, Any], behaviours: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` without ``strict``; with ``strict: true``, ``behaviours`` (option → the value
    that turns the failure on) filled in where ``options`` does not set them."""
    out = {k: v for k, v in options.items() if k != STRICT}
    strict = options.get(STRICT, False)
    if not isinstance(strict, bool):
        raise ValueError(f"strict must be true or false, got {strict!r}")
    if strict:
        for name, value in behaviours.items():
            out.setdefault(name, value)
    return out


def strict_behaviours(
    options: Mapping[str, Any], behaviours: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """Each option of ``defaults`` as ``options`` ask for it: as given, else its value in
    ``behaviours`` under ``strict: true``, else its default."""
    given = strict_options(options, behaviours)
    return {name: given.get(name, default) for name, default in defaults.items()}
