"""Read an account's field definitions from the CRM itself, through the provider's client."""

from __future__ import annotations

from collections.abc import Iterable

from providers.base import ConnectionInfo, HttpTimeouts
from providers.registry import get_provider
from syncsvc.errors import ConfigError, SyncError
from syncsvc.fields.model import ObjectFields
from syncsvc.scrub import error_text

READ_TIMEOUTS = HttpTimeouts(connect=5.0, read=30.0)


class FieldsUnavailable(SyncError):
    """The CRM could not be asked (unreachable, credentials refused, object unknown)."""


def read_definitions(info: ConnectionInfo, objects: Iterable[str]) -> dict[str, ObjectFields]:
    """Each object's definitions, read now; the first object that cannot be read raises."""
    client = get_provider(info.provider).client_class(info, timeouts=READ_TIMEOUTS)
    try:
        out: dict[str, ObjectFields] = {}
        for obj in objects:
            try:
                out[obj] = client.describe_fields(obj)
            except (SyncError, ConfigError) as exc:
                raise FieldsUnavailable(
                    error_text(f"cannot read {info.provider} {obj} fields for {info.name}: {exc}")
                ) from exc
        return out
    finally:
        client.close()
