"""The SOQL the simulated org understands: ``SELECT f, ... FROM Obj [WHERE f IN ('a', ...) |
WHERE f = 'a'] [LIMIT n]``. Anything else is a ``MALFORMED_QUERY``, as an unsupported query
would be to a parser that does not know it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.salesforce.sim.store import ObjectStore
from providers.salesforce.sim.writes import BadRequest

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<punct>[(),=]))"
)
UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
NO_COLUMN = (
    "No such column '{field}' on entity '{object}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


@dataclass
class Query:
    fields: list[str]
    object: str
    where: tuple[str, list[str]] | None
    limit: int | None


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: UNESCAPE.get(m.group(1), m.group(1)), body)


def tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise malformed(text[pos:].strip()[:20] or "EOF")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def malformed(near: str) -> BadRequest:
    return BadRequest(400, "MALFORMED_QUERY", f"unexpected token: '{near}'")


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.items[self.pos] if self.pos < len(self.items) else ("eof", "EOF")

    def take(self, kind: str, value: str | None = None) -> str:
        got_kind, got = self.peek()
        if got_kind != kind or (value is not None and got.upper() != value):
            raise malformed(got)
        self.pos += 1
        return got

    def keyword(self, word: str) -> bool:
        kind, got = self.peek()
        if kind == "word" and got.upper() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Query:
        self.take("word", "SELECT")
        fields = [self.take("word")]
        while self.peek() == ("punct", ","):
            self.pos += 1
            fields.append(self.take("word"))
        self.take("word", "FROM")
        obj = self.take("word")
        where = None
        if self.keyword("WHERE"):
            name = self.take("word")
            if self.keyword("IN"):
                self.take("punct", "(")
                values = [_unquote(self.take("string"))]
                while self.peek() == ("punct", ","):
                    self.pos += 1
                    values.append(_unquote(self.take("string")))
                self.take("punct", ")")
            else:
                self.take("punct", "=")
                values = [_unquote(self.take("string"))]
            where = (name, values)
        limit = int(self.take("number")) if self.keyword("LIMIT") else None
        if self.peek()[0] != "eof":
            raise malformed(self.peek()[1])
        return Query(fields, obj, where, limit)


def parse(text: str) -> Query:
    return _Parser(text).parse()


def run_query(text: str, stores: Mapping[str, ObjectStore], version: str) -> dict[str, Any]:
    """The ``GET /query?q=`` answer: ``{"totalSize", "done", "records"}``."""
    query = parse(text)
    store = next((s for n, s in stores.items() if n.lower() == query.object.lower()), None)
    if store is None:
        message = (
            f"sObject type '{query.object}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names."
        )
        raise BadRequest(400, "INVALID_TYPE", message)
    by_lower = {n.lower(): n for n in store.definitions}
    names = [*query.fields, *([query.where[0]] if query.where else [])]
    for name in names:
        if name.lower() not in by_lower:
            raise BadRequest(400, "INVALID_FIELD", NO_COLUMN.format(field=name, object=store.name))
    selected = [by_lower[n.lower()] for n in query.fields]
    if query.where is None:
        records = list(store.records.values())
    else:
        field = by_lower[query.where[0].lower()]
        seen: dict[str, Any] = {}
        for value in query.where[1]:
            for record in store.matching(field, value):
                seen.setdefault(record.id, record)
        records = sorted(seen.values(), key=lambda r: r.id)
    if query.limit is not None:
        records = records[: query.limit]
    rows = [store.native(r, version, selected) for r in records]
    return {"totalSize": len(rows), "done": True, "records": rows}
