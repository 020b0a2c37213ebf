"""``--where``: an operator's SQL predicate on the source table, checked before it is used.

Trust boundary: the predicate is SQL written by whoever runs ``manage.py backfill``, a person
who already holds the service's ``DATABASE_URL`` and could run any statement with it; it never
comes from the HTTP API or a config file. The checks below are there to catch mistakes and to
keep the text one expression inside the parentheses it is placed in, not to sandbox a hostile
user: at most ``MAX_LENGTH`` characters; no ``;``, comments, backslashes, dollar quoting or
parameter markers; parentheses balanced outside quotes. It is then tried on the table in a
read-only transaction under a statement timeout (``check``), so a predicate that does not
parse, names a missing column, is not boolean, or calls something that writes fails before the
backfill starts. Every page runs it again under the same statement timeout.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.scrub import error_text

MAX_LENGTH = 2000
STATEMENT_TIMEOUT_MS = 30_000
_FORBIDDEN = {";": "';' (one expression only)", "$": "'$' (dollar quoting or parameters)"}


def scan(text: str) -> str:
    """The predicate, stripped, if its text is one balanced expression; else ``ConfigError``."""
    predicate = text.strip()
    if not predicate:
        raise ConfigError("--where is empty")
    if len(predicate) > MAX_LENGTH:
        raise ConfigError(f"--where is {len(predicate)} characters long; at most {MAX_LENGTH}")
    depth = 0
    quote: str | None = None
    previous = ""
    for char in predicate:
        if char in "\\\x00":  # E'...' strings escape quotes with a backslash: none anywhere
            raise ConfigError("--where may not contain backslashes or NUL characters")
        if quote is not None:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char in _FORBIDDEN:
            raise ConfigError(f"--where may not contain {_FORBIDDEN[char]}")
        elif (previous, char) in (("-", "-"), ("/", "*")):
            raise ConfigError("--where may not contain comments")
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ConfigError("--where has a ')' without its '('")
        previous = char if quote is None else ""
    if quote is not None:
        raise ConfigError(f"--where has an unclosed {quote}")
    if depth:
        raise ConfigError("--where has a '(' without its ')'")
    return predicate


def as_sql(predicate: str) -> sql.Composable:
    """The scanned predicate in parentheses, to be joined with the page's own conditions; its
    ``%`` doubled, since the query it joins is run with parameters."""
    return sql.SQL("({})").format(sql.SQL(predicate.replace("%", "%%")))


def check(db: psycopg.Connection[Row], table: sql.Identifier, predicate: str) -> None:
    """Evaluate ``predicate`` on up to 100 rows of ``table`` in a read-only transaction.

    ``db`` must not be in a transaction; the check's own is rolled back.
    """
    query = sql.SQL(
        "SELECT count(*) FROM (SELECT 1 FROM {table} AS t WHERE {predicate} LIMIT %(probe)s) AS p"
    ).format(table=table, predicate=as_sql(predicate))
    try:
        with db.transaction(force_rollback=True):
            db.execute("SET TRANSACTION READ ONLY")
            db.execute(
                "SELECT set_config('statement_timeout', %s, true)", (str(STATEMENT_TIMEOUT_MS),)
            )
            db.execute(query, {"probe": 100})
    except psycopg.Error as exc:
        raise ConfigError(f"--where does not work on the table: {error_text(exc)}") from None
