"""The two read paths the simulator answers: Search API criteria and COQL ``select`` queries.

Only what a sync client needs: comparisons on fields joined with and/or and parentheses.
Search ``equals`` behaves like *contains* (as Zoho documents); COQL compares exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class QueryError(ValueError):
    pass


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# Search criteria: ((Field:operator:value)and(Field:operator:value)) ----------------------------
def _split_values(raw: str) -> list[str]:
    """Comma-separated values with ``\\,`` ``\\(`` ``\\)`` ``\\\\`` escapes."""
    values, current, chars = [], [], iter(raw)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _condition(text: str) -> Predicate:
    name, sep, rest = text.partition(":")
    operator, sep2, raw = rest.partition(":")
    if not sep or not sep2 or not name:
        raise QueryError(f"invalid criteria {text!r}")
    values = [v.lower() for v in _split_values(raw)]
    if operator == "equals":
        return lambda r: values[0] in _text(r.get(name)).lower()
    if operator == "not_equal":
        return lambda r: _text(r.get(name)).lower() != values[0]
    if operator == "starts_with":
        return lambda r: _text(r.get(name)).lower().startswith(values[0])
    if operator == "in":
        return lambda r: _text(r.get(name)).lower() in values
    raise QueryError(f"unsupported operator {operator!r}")


def parse_criteria(criteria: str) -> Predicate:
    """A predicate for ``criteria`` (recursive: groups, ``and``, ``or``)."""
    text = criteria.strip()
    position = 0

    def group() -> Predicate:
        nonlocal position
        if not text.startswith("(", position):
            raise QueryError("a criterion must be in parentheses")
        position += 1
        if text.startswith("(", position):
            predicate = expression()
        else:
            start = position
            while position < len(text) and text[position] != ")":
                position += 2 if text[position] == "\\" else 1
            predicate = _condition(text[start:position])
        if not text.startswith(")", position):
            raise QueryError("unbalanced parentheses")
        position += 1
        return predicate

    def expression() -> Predicate:
        nonlocal position
        result = group()
        while True:
            for word in ("and", "or"):
                if text.startswith(word, position) and text.startswith("(", position + len(word)):
                    position += len(word)
                    left, right = result, group()
                    result = _both(left, right) if word == "and" else _either(left, right)
                    break
            else:
                return result

    if not text.startswith("("):
        text = f"({text})"
    predicate = expression()
    if position != len(text):
        raise QueryError(f"unexpected text at {position}: {text[position:][:20]!r}")
    return predicate


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) and b(r)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda r: a(r) or b(r)


# COQL: select f1, f2 from Module where <condition> [limit n[, m]] ------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|<=|>=|=|<|>|\(|\)|,)|(?P<word>[A-Za-z_][A-Za-z0-9_.$]*))"
)


@dataclass
class Select:
    fields: list[str]
    module: str
    where: Predicate
    limit: int
    offset: int


def _tokens(query: str) -> list[tuple[str, str]]:
    out, position = [], 0
    while position < len(query.rstrip()):
        match = _TOKEN.match(query, position)
        if not match or match.end() == position:
            raise QueryError(f"unexpected character at {position}")
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        position = match.end()
    return out


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.i = 0

    def peek(self, word: str) -> bool:
        """Is the next token the keyword or symbol ``word`` (never a string literal)?"""
        if self.i >= len(self.tokens) or self.tokens[self.i][0] == "string":
            return False
        return self.tokens[self.i][1].lower() == word

    def take(self, kind: str | None = None, word: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise QueryError("query ends too early")
        got_kind, value = self.tokens[self.i]
        wrong_word = word is not None and (got_kind == "string" or value.lower() != word)
        if (kind and got_kind != kind) or wrong_word:
            raise QueryError(f"unexpected {value!r}")
        self.i += 1
        return value

    def literal(self) -> str:
        kind, value = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if kind not in ("string", "number") and value.lower() not in ("true", "false"):
            raise QueryError(f"expected a value, got {value!r}")
        self.i += 1
        return value

    def condition(self) -> Predicate:
        if self.peek("("):
            self.take(word="(")
            inner = self.expression()
            self.take(word=")")
            return inner
        name = self.take("word")
        if self.peek("is"):
            self.take(word="is")
            negate = self.peek("not") and bool(self.take(word="not"))
            self.take(word="null")
            return lambda r: (r.get(name) in (None, "")) != negate
        negate = self.peek("not") and bool(self.take(word="not"))
        if self.peek("in"):
            self.take(word="in")
            self.take(word="(")
            values = [self.literal()]
            while self.peek(","):
                self.take(word=",")
                values.append(self.literal())
            self.take(word=")")
            return lambda r: (_text(r.get(name)) in values) != negate
        operator = self.take("op")
        value = self.literal()
        if operator == "=":
            return lambda r: _text(r.get(name)) == value
        if operator == "!=":
            return lambda r: _text(r.get(name)) != value
        raise QueryError(f"unsupported comparator {operator!r}")

    def expression(self) -> Predicate:
        result = self.condition()
        while self.peek("and") or self.peek("or"):
            word = self.take("word").lower()
            right = self.condition()
            result = _both(result, right) if word == "and" else _either(result, right)
        return result

    def select(self) -> Select:
        self.take("word", "select")
        fields = [self.take("word")]
        while self.peek(","):
            self.take(word=",")
            fields.append(self.take("word"))
        self.take("word", "from")
        module = self.take("word")
        where: Predicate = lambda r: True  # noqa: E731
        if self.peek("where"):
            self.take(word="where")
            where = self.expression()
        limit, offset = 200, 0
        if self.peek("limit"):
            self.take(word="limit")
            limit = int(self.take("number"))
            if self.peek(","):
                self.take(word=",")
                offset, limit = limit, int(self.take("number"))
            elif self.peek("offset"):
                self.take(word="offset")
                offset = int(self.take("number"))
        if self.i != len(self.tokens):
            raise QueryError(f"unexpected {self.tokens[self.i][1]!r}")
        return Select(fields, module, where, limit, offset)


def parse_select(query: str) -> Select:
    return _Parser(query).select()
