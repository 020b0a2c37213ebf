"""``config apply`` as one function: check a config document completely (source fields, the
CRM's own field definitions), then store it and the definitions in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from syncsvc.config.check import RemoteFields, read_remote_fields
from syncsvc.config.loader import check_source_fields
from syncsvc.config.model import ConfigDocument
from syncsvc.config.store import ApplyResult, apply_config
from syncsvc.db import connect
from syncsvc.errors import ConfigError
from syncsvc.fields.store import save_for_connection
from syncsvc.inbound import tables as inbound_tables
from syncsvc.settings import Settings


class ConfigRefused(ConfigError):
    """The document has problems; nothing was written."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: {len(problems)} problem(s); nothing was applied")
        self.problems = problems


@dataclass
class ApplyOutcome:
    remote: RemoteFields
    result: ApplyResult | None = None
    warnings: list[str] = field(default_factory=list)


def check_document(doc: ConfigDocument, settings: Settings, strict: bool) -> ApplyOutcome:
    """Everything ``apply`` checks; raises ``ConfigRefused`` listing every problem found.

    ``strict``: a CRM whose fields cannot be read is a problem, not a warning."""
    problems = check_source_fields(doc, settings.internal_schema_dirs)
    remote = read_remote_fields(doc, settings)
    problems += remote.problems
    outcome = ApplyOutcome(remote)
    if any(conn.inbound is not None for conn in doc.connections):
        with connect(settings.db_url) as db:
            found = inbound_tables.check_document(db, doc)
        problems += found.problems
        outcome.warnings += found.warnings
    for unreachable in remote.unreachable:
        if strict:
            problems.append(unreachable)
        else:
            outcome.warnings.append(f"{unreachable}; its cached field definitions stay in use")
    if problems:
        raise ConfigRefused(doc.source, problems)
    return outcome


def apply_document(doc: ConfigDocument, settings: Settings, strict: bool = False) -> ApplyOutcome:
    """Check ``doc`` (see ``check_document``), then store it with the definitions read."""
    outcome = check_document(doc, settings, strict)
    with connect(settings.db_url) as db, db.transaction():
        outcome.result = apply_config(db, settings, doc)
        for name, definitions in outcome.remote.definitions.items():
            save_for_connection(db, name, definitions)
    return outcome
