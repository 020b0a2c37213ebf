"""Regular expressions that run in time linear in their input (RE2, the ``google-re2`` package).

Patterns come from configuration (a rule's ``matches``, a field spec's ``pattern``) and run on row
data, including rows posted to ``/v1/events``. Python's ``re`` backtracks: with
``^([a-z0-9]+)+@example\\.com$`` each added character doubles the time (0.56 s at 25 characters),
so one posted row could hold a worker for hours. RE2 never backtracks; the price is that it has
no backreferences and no lookahead or lookbehind, and such patterns are refused when the
configuration is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import re2

from syncsvc.errors import ConfigError

MAX_PATTERN = 200
"""Longest pattern a configuration may hold (characters)."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would also print every rejected pattern to stderr


class Regex:
    """A compiled RE2 pattern with the few operations syncsvc uses."""

    def __init__(self, pattern: str) -> None:
        """Raises ``ValueError`` with RE2's reason when ``pattern`` is not valid RE2 syntax."""
        try:
            self._compiled: Any = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else "invalid pattern"
            if isinstance(reason, bytes):
                reason = reason.decode(errors="replace")
            raise ValueError(str(reason)) from None
        self.pattern = pattern

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text`` (``re.search``)."""
        return self._compiled.search(_encodable(text)) is not None

    def match(self, text: str) -> bool:
        """Whether the pattern matches at the start of ``text`` (``re.match``)."""
        return self._compiled.match(_encodable(text)) is not None

    def sub(self, repl: Callable[[Any], str], text: str) -> str:
        """``text`` with every match replaced by ``repl(match)``."""
        return str(self._compiled.sub(repl, _encodable(text)))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _encodable(text: str) -> str:
    """RE2 works on UTF-8: a lone surrogate (JSON allows ``"\\ud800"``) becomes ``?``."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode(errors="replace").decode()
    return text


def compile_config_pattern(pattern: Any, where: str) -> Regex:
    """Compile a pattern from configuration; errors name ``where`` and say what RE2 lacks."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN:
        raise ConfigError(f"{where}: needs a regex of at most {MAX_PATTERN} characters")
    try:
        return Regex(pattern)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: invalid regex {pattern!r}: {exc} (patterns run on RE2, which has no "
            "backreferences, lookahead or lookbehind)"
        ) from None
