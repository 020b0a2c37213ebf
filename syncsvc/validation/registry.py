"""Find and cache compiled field specs: internal tables and CRM destination objects."""

from __future__ import annotations

import threading
from pathlib import Path

from syncsvc.errors import ConfigError
from syncsvc.validation.fieldspec import CompiledSpec, load_spec_file

_lock = threading.Lock()
_cache: dict[Path, tuple[float, CompiledSpec]] = {}


def _load_cached(path: Path) -> CompiledSpec:
    mtime = path.stat().st_mtime
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    spec = load_spec_file(path)
    with _lock:
        _cache[path] = (mtime, spec)
    return spec


def internal_spec_path(table: str, dirs: tuple[Path, ...]) -> Path | None:
    for directory in dirs:
        candidate = directory / f"{table}.json"
        if candidate.is_file():
            return candidate
    return None


def internal_spec(table: str, dirs: tuple[Path, ...]) -> CompiledSpec:
    """The spec of internal table ``schema.table`` (re-read when the file changes)."""
    path = internal_spec_path(table, dirs)
    if path is None:
        searched = ", ".join(str(d) for d in dirs)
        raise ConfigError(f"no field spec for table {table}: expected {table}.json in {searched}")
    return _load_cached(path)


def destination_spec(path: Path) -> CompiledSpec | None:
    return _load_cached(path) if path.is_file() else None
