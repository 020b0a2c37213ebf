"""Scrub secrets out of text before it is shown, logged or stored (error messages above all).

One function, :func:`scrub`, for every message that may quote a URL or a credential: a database
or Redis URL in a settings error, a CRM's error body. What it removes:

- in any ``scheme://`` URL, the password of its userinfo (``user:***@``; a userinfo without a
  colon, often a bare token, becomes ``***@``), its query string (``?***``) and its fragment;
- the value of a ``key=value`` pair or a JSON ``"key": "value"`` member whose key names a
  secret (password, secret, token, api key), as in a libpq connection string, a form body or a
  JSON error body;
- every known secret value passed in ``secrets``, wherever it appears (longest first).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

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


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without URL passwords, query strings and the given ``secrets`` (see module doc)."""
    known = sorted({s for s in secrets if s}, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    text = _URL.sub(lambda m: _scrub_url(m.group(0)), text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)
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
