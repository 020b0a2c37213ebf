"""OData pieces both sides need: key segments (``contacts(new_externalid='42')``) and ids."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_ENTITY_ID_RE = re.compile(r"\(([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})\)\s*$")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

KeyValue = str | int
Key = str | dict[str, KeyValue]
"""A parsed key segment: a GUID (primary key) or alternate-key values by column."""


def key_literal(value: KeyValue) -> str:
    """An OData key literal for a URL: a string in single quotes (a quote doubled), encoded.

    Integers go bare. Everything but the quotes is percent-encoded, so ``/``, ``?``, ``#``,
    ``%`` or spaces in a value cannot change the URL's meaning.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"an alternate key value must be a string or an integer, not {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + quote(value.replace("'", "''"), safe="'") + "'"


def by_key(entity_set: str, attribute: str, value: KeyValue) -> str:
    """``contacts(new_externalid='42')``: a record addressed by an alternate key."""
    return f"{entity_set}({attribute}={key_literal(value)})"


def by_id(entity_set: str, record_id: str) -> str:
    """``contacts(00000000-…)``: a record addressed by its primary key."""
    if not GUID_RE.match(record_id):
        raise ValueError(f"not a GUID: {record_id!r}")
    return f"{entity_set}({record_id})"


def entity_id(odata_entity_id: str | None) -> str | None:
    """The GUID at the end of an ``OData-EntityId`` header (None for key-form URLs)."""
    match = _ENTITY_ID_RE.search(odata_entity_id or "")
    return match.group(1).lower() if match else None


def _literal(text: str, at: int) -> tuple[KeyValue, int]:
    """Read the literal starting at ``text[at]``; return it and the index after it."""
    if text.startswith("'", at):
        out: list[str] = []
        i = at + 1
        while i < len(text):
            if text[i] == "'":
                if text.startswith("''", i):
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise ValueError(f"unterminated string literal in key {text!r}")
    end = text.find(",", at)
    end = len(text) if end < 0 else end
    raw = text[at:end].strip()
    try:
        return int(raw), end
    except ValueError:
        raise ValueError(f"bad key value {raw!r} in {text!r}") from None


def parse_key(segment: str) -> Key:
    """The inverse of ``by_id``/``by_key`` for the text between the parentheses."""
    text = unquote(segment).strip()
    if GUID_RE.match(text):
        return text.lower()
    values: dict[str, KeyValue] = {}
    at = 0
    while at < len(text):
        name = _NAME_RE.match(text, at)
        if name is None or not text.startswith("=", name.end()):
            raise ValueError(f"bad key segment {segment!r}")
        value, at = _literal(text, name.end() + 1)
        values[name.group(0)] = value
        if at < len(text):
            if text[at] != ",":
                raise ValueError(f"bad key segment {segment!r}")
            at += 1
    if not values:
        raise ValueError(f"empty key segment {segment!r}")
    return values
