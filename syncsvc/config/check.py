"""``config apply --check``: ask each CRM which fields it has before any record is rejected."""

from __future__ import annotations

from providers.base import ConnectionInfo, HttpTimeouts
from providers.registry import get_provider
from syncsvc.config.model import ConfigDocument
from syncsvc.errors import ConfigError, SyncError
from syncsvc.secrets import decrypt_json
from syncsvc.settings import Settings


def check_remote_fields(doc: ConfigDocument, settings: Settings) -> list[str]:
    errors: list[str] = []
    for ci, conn in enumerate(doc.connections):
        provider = get_provider(conn.provider)
        credentials = conn.credentials
        if credentials is None and conn.credentials_encrypted:
            credentials = decrypt_json(settings, conn.credentials_encrypted.encode())
        info = ConnectionInfo(
            id=0,
            name=conn.name,
            provider=conn.provider,
            base_url=conn.base_url,
            credentials=credentials or {},
            options=conn.options,
            batch_size=conn.batch_size,
            rate_limit_requests=conn.rate_limit_requests,
            rate_limit_seconds=conn.rate_limit_seconds,
        )
        client = provider.client_class(info, timeouts=HttpTimeouts(5.0, 30.0))
        try:
            for obj, mappings in conn.objects.items():
                try:
                    known = client.list_fields(obj)
                except (SyncError, ConfigError) as exc:
                    errors.append(
                        f"{doc.source}: connections[{ci}]: cannot list {obj} fields: {exc}"
                    )
                    continue
                for mi, mapping in enumerate(mappings):
                    if mapping["target"] not in known:
                        errors.append(
                            f"{doc.source}: connections[{ci}].objects.{obj}.mappings[{mi}].target: "
                            f"{conn.provider} ({conn.base_url}) has no {obj} field "
                            f"{mapping['target']!r}"
                        )
        finally:
            client.close()
    return errors
