"""The SOQL the simulated org understands: ``SELECT f, ... FROM Obj [WHERE condition]
[ORDER BY f [ASC|DESC], ...] [LIMIT n]``. A condition is comparisons (``=``, ``!=``, ``<``,
``<=``, ``>``, ``>=`` with a string, number, ``true``/``false``/``null`` or date-time literal
such as ``2024-05-01T12:30:00Z``; ``f IN ('a', ...)``) joined by ``AND``/``OR``, with
parentheses. Anything else is a ``MALFORMED_QUERY``, as an unsupported query would be to a
parser that does not know it.

``query`` answers the live records, ``queryAll`` the recycle bin's too (``IsDeleted`` true). At
most ``BATCH`` records come in one answer; the rest are behind ``nextRecordsUrl``
(``/query/{locator}-{offset}``), as Salesforce pages a query.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from providers.salesforce.sim.store import ObjectStore, Record
from providers.salesforce.sim.writes import BadRequest

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<datetime>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d))"
    r"|(?P<number>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op><=|>=|!=|<|>|=)|(?P<punct>[(),]))"
)
UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
NO_COLUMN = (
    "No such column '{field}' on entity '{object}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
BATCH = 2000
"""Records in one query answer (Salesforce's default batch size)."""
LITERALS: dict[str, Any] = {"TRUE": True, "FALSE": False, "NULL": None}


@dataclass
class Condition:
    """``kind`` is ``in`` (column, values), ``cmp`` (column, op, value), ``and``/``or`` (parts)."""

    kind: str
    column: str = ""
    op: str = "="
    values: list[Any] = field(default_factory=list)
    parts: list[Condition] = field(default_factory=list)

    def names(self) -> list[str]:
        if self.kind in ("and", "or"):
            return [n for p in self.parts for n in p.names()]
        return [self.column]


@dataclass
class Query:
    fields: list[str]
    object: str
    where: Condition | None
    order: list[tuple[str, bool]]
    """``(field, descending)``."""
    limit: int | None


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: UNESCAPE.get(m.group(1), m.group(1)), body)


def parse_datetime(raw: Any) -> dt.datetime | None:
    """A date-time as SOQL literals and REST answers write it (``Z``, ``+00:00`` or ``+0000``)."""
    if not isinstance(raw, str):
        return None
    text = raw.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


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
        where = self.condition() if self.keyword("WHERE") else None
        order: list[tuple[str, bool]] = []
        if self.keyword("ORDER"):
            self.take("word", "BY")
            order.append(self.order_item())
            while self.peek() == ("punct", ","):
                self.pos += 1
                order.append(self.order_item())
        limit = int(self.take("number")) if self.keyword("LIMIT") else None
        if self.peek()[0] != "eof":
            raise malformed(self.peek()[1])
        return Query(fields, obj, where, order, limit)

    def order_item(self) -> tuple[str, bool]:
        name = self.take("word")
        if self.keyword("DESC"):
            return name, True
        self.keyword("ASC")
        return name, False

    def condition(self) -> Condition:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Condition("or", parts=parts)

    def conjunction(self) -> Condition:
        parts = [self.comparison()]
        while self.keyword("AND"):
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else Condition("and", parts=parts)

    def comparison(self) -> Condition:
        if self.peek() == ("punct", "("):
            self.pos += 1
            inner = self.condition()
            self.take("punct", ")")
            return inner
        name = self.take("word")
        if self.keyword("IN"):
            self.take("punct", "(")
            values = [_unquote(self.take("string"))]
            while self.peek() == ("punct", ","):
                self.pos += 1
                values.append(_unquote(self.take("string")))
            self.take("punct", ")")
            return Condition("in", name, values=values)
        op = self.take("op")
        return Condition("cmp", name, op, [self.value()])

    def value(self) -> Any:
        kind, got = self.peek()
        self.pos += 1
        if kind == "string":
            return _unquote(got)
        if kind == "datetime":
            return parse_datetime(got)
        if kind == "number":
            return int(got)
        if kind == "word" and got.upper() in LITERALS:
            return LITERALS[got.upper()]
        raise malformed(got)


def parse(text: str) -> Query:
    return _Parser(text).parse()


def _comparable(stored: Any, literal: Any) -> tuple[Any, Any]:
    """Both sides in one type: date-times parsed, text case-folded (SOQL's ``=`` on text
    ignores case), ids and other text as they are for ordering."""
    if isinstance(literal, dt.datetime):
        return parse_datetime(stored), literal
    if isinstance(literal, str) and stored is not None:
        return str(stored), literal
    return stored, literal


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def matches(condition: Condition, record: Record) -> bool:
    if condition.kind == "and":
        return all(matches(p, record) for p in condition.parts)
    if condition.kind == "or":
        return any(matches(p, record) for p in condition.parts)
    stored = record.fields.get(condition.column)
    if condition.kind == "in":
        return ObjectStore.fold(stored) in {ObjectStore.fold(v) for v in condition.values}
    literal = condition.values[0]
    if condition.op in ("=", "!="):
        if isinstance(literal, str) and stored is not None:
            same = ObjectStore.fold(stored) == ObjectStore.fold(literal)
        else:
            same = _comparable(stored, literal)[0] == _comparable(stored, literal)[1]
        return same if condition.op == "=" else not same
    left, right = _comparable(stored, literal)
    if left is None or right is None:
        return False  # null is neither less nor greater than anything
    return COMPARE[condition.op](left, right)


def _sort_key(record: Record, name: str) -> tuple[int, Any]:
    value = record.fields.get(name)
    stamp = parse_datetime(value)
    if value is None:
        return (0, "")  # nulls first, as SOQL sorts ascending by default
    return (1, stamp) if stamp is not None else (1, value)


@dataclass
class Locators:
    """Query answers waiting behind ``nextRecordsUrl``: locator → the remaining rows."""

    pending: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, rows: list[dict[str, Any]], version: str, start: int = 0) -> dict[str, Any]:
        """The answer from ``start`` on: at most ``BATCH`` rows, and the next page's URL."""
        page = rows[start : start + BATCH]
        body: dict[str, Any] = {"totalSize": len(rows), "done": True, "records": page}
        if start + BATCH < len(rows):
            locator = f"01gSIM{next(self.ids):012d}"
            self.pending[locator] = rows
            body["done"] = False
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{start + BATCH}"
        return body

    def more(self, locator: str, version: str) -> dict[str, Any]:
        name, _, offset = locator.partition("-")
        rows = self.pending.pop(name, None)
        if rows is None or not offset.isdigit():
            raise BadRequest(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self.answer(rows, version, int(offset))


def run_query(
    text: str,
    stores: Mapping[str, ObjectStore],
    version: str,
    include_deleted: bool = False,
    locators: Locators | None = None,
) -> dict[str, Any]:
    """The ``GET /query?q=`` (``/queryAll?q=``) answer: ``{"totalSize", "done", "records"}``
    (and ``nextRecordsUrl`` while ``done`` is false)."""
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
    names = [*query.fields, *(query.where.names() if query.where else [])]
    names += [name for name, _ in query.order]
    for name in names:
        if name.lower() not in by_lower:
            raise BadRequest(400, "INVALID_FIELD", NO_COLUMN.format(field=name, object=store.name))
    _canonical(query.where, by_lower)
    selected = [by_lower[n.lower()] for n in query.fields]
    records = _candidates(store, query.where, include_deleted)
    for name, descending in reversed(query.order):
        column = by_lower[name.lower()]
        records.sort(key=partial(_sort_key, name=column), reverse=descending)
    if query.limit is not None:
        records = records[: query.limit]
    rows = [store.native(r, version, selected) for r in records]
    return (locators or Locators()).answer(rows, version)


def _canonical(condition: Condition | None, by_lower: Mapping[str, str]) -> None:
    if condition is None:
        return
    if condition.column:
        condition.column = by_lower[condition.column.lower()]
    for part in condition.parts:
        _canonical(part, by_lower)


def _candidates(store: ObjectStore, where: Condition | None, include_deleted: bool) -> list[Record]:
    """The records ``where`` selects, by id; an ``IN``/``=`` on one field goes by the index."""
    by_index = where is not None and (
        where.kind == "in" or (where.kind == "cmp" and where.op == "=")
    )
    if where is not None and by_index and isinstance(where.values[0], str) and not include_deleted:
        seen: dict[str, Record] = {}
        for value in where.values:
            for record in store.matching(where.column, value):
                seen.setdefault(record.id, record)
        return sorted(seen.values(), key=lambda r: r.id)
    pool = list(store.records.values())
    if include_deleted:
        pool += list(store.deleted.values())
    found = [r for r in pool if where is None or matches(where, r)]
    return sorted(found, key=lambda r: r.id) if where is not None else found
