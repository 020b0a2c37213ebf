"""Scrub secrets out of text before it is shown, logged or stored (error messages above all).

One function, :func:`scrub`, for every message that may quote a URL or a credential: a database
or Redis URL in a settings error, a CRM's error body. What it removes:

- in any ``scheme://`` URL, the password of its userinfo (``user:***@``; a userinfo without a
  colon, often a bare token, becomes ``***@``), its query string (``?***``) and its fragment;
- the value of a ``key=value`` pair or a JSON ``"key": "value"`` member whose key names a
  secret (password, secret, token, api key), as in a libpq connection string, a form body or a
  JSON error body;
- every known secret value passed in ``secrets``, wherever it appears (longest first), and
  every secret this process has learnt (``remember_secrets``: the credentials it decrypted or
  read from a config file), so a CRM error that quotes a token or a client secret in its body,
  in a header or in a URL path is hidden wherever it ends up: a table, a log line, a terminal.

``ScrubFilter`` applies it to every log record a handler emits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote

from syncsvc.saferegex import Regex

MASK = "***"

# RE2, linear in the text: scrub sees whole CRM error bodies.
_URL = Regex(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://[^\s'\"<>`]+")
_WORD = r"[A-Za-z0-9_.\-]{0,32}"
_SECRET_KEY = rf"{_WORD}(?:password|passwd|secret|token|api[_\-]?key){_WORD}"
_SECRET_PAIR = Regex(
    rf"(?i)\b({_SECRET_KEY}\s*=\s*)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&;,'\"]+)"
)
_SECRET_JSON = Regex(rf'(?i)("{_SECRET_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"')
_BEARER = Regex(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{8,}")


MIN_REMEMBERED = 6
"""Shorter values are not remembered: masking every "abc" would mangle messages."""
_remembered: set[str] = set()
_lock = threading.Lock()


def remember_secrets(values: Any) -> None:
    """Remember every string in ``values`` (a credentials mapping, nested or not, or a list) as
    a secret of this process: ``scrub`` hides it from then on, as written and URL-encoded."""
    found: list[str] = []
    _collect(values, found)
    with _lock:
        for value in found:
            if len(value) >= MIN_REMEMBERED:
                _remembered.update({value, quote(value, safe=""), quote(value)})


def _collect(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect(v, into)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, into)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without URL passwords, query strings and secrets (see the module doc)."""
    with _lock:
        remembered = set(_remembered)
    known = sorted({s for s in secrets if s} | remembered, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    text = _URL.sub(lambda m: _scrub_url(m.group(0)), text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _SECRET_JSON.sub(lambda m: m.group(1) + f'"{MASK}"', text)


def url_password(url: str) -> str | None:
    """The password in ``url``'s userinfo (as written and decoded), for ``scrub(secrets=...)``
    when the URL itself may be malformed (a password with a space or a quote in it)."""
    rest = url.partition("://")[2]
    userinfo = _userinfo(rest)
    if userinfo is None or ":" not in userinfo:
        return userinfo or None
    password = userinfo.partition(":")[2]
    return password or None


def url_secrets(url: str) -> tuple[str, ...]:
    """What :func:`scrub` should also hide when a message quotes ``url``: its password, raw and
    percent-decoded."""
    password = url_password(url)
    if not password:
        return ()
    return (password, unquote(password))


def _userinfo(rest: str) -> str | None:
    """The userinfo of a URL's part after ``scheme://``, or None.

    Normally it ends at the last ``@`` before the first ``/``, ``?`` or ``#``. A password holding
    one of those (unencoded, so strictly a malformed URL, but common) is taken to run to the
    last ``@`` when what precedes the delimiter looks like ``user:password`` rather than
    ``host:port``, so that a malformed URL hides too much rather than too little.
    """
    if "@" not in rest:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" in authority:
        return authority[: authority.rfind("@")]
    _, colon, after = authority.partition(":")
    is_port = after == "" or (after.isascii() and after.isdigit())
    if colon and not is_port:
        return rest[: rest.rfind("@")]
    return None


def _scrub_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    userinfo = _userinfo(rest)
    prefix = ""
    if userinfo is not None:
        rest = rest[len(userinfo) + 1 :]
        user, colon, _ = userinfo.partition(":")
        prefix = f"{user}:{MASK}@" if colon else f"{MASK}@"
    for mark in ("?", "#"):
        head, found, _ = rest.partition(mark)
        if found:
            rest = head + mark + MASK
            break
    return f"{scheme}://{prefix}{rest}"


MAX_ERROR_TEXT = 2000


def error_text(error: BaseException | str, limit: int = MAX_ERROR_TEXT) -> str:
    """An error as the text a table, a log or a terminal may hold: scrubbed, then cut."""
    return scrub(str(error))[:limit]


class ScrubFilter(logging.Filter):
    """Scrubs each record's message and exception text before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = scrub(message), None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def scrub_log_handlers(logger: logging.Logger | None = None) -> None:
    """Put a ``ScrubFilter`` on every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
