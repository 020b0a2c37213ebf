"""``${VAR}`` and ``${VAR:-default}`` references inside config values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from syncsvc.errors import ConfigError

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return _REF.search(value) is not None
    if isinstance(value, Mapping):
        return any(has_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(has_reference(v) for v in value)
    return False


def resolve(value: Any, env: Mapping[str, str], path: str) -> Any:
    """Replace every reference in ``value`` (recursively); unset variables are an error."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{path}: environment variable {name} is not set")

        return _REF.sub(sub, value)
    if isinstance(value, Mapping):
        return {k: resolve(v, env, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
