"""Which source tables a connection's rules read: one answer for ``backfill`` (its plan, which
``--dry-run`` counts through) and for ``preview``."""

from __future__ import annotations

from collections.abc import Sequence

from syncsvc.config.runtime import CompiledRule
from syncsvc.errors import ConfigError
from syncsvc.kinds import ChangeOp

SENT_OPS: frozenset[ChangeOp] = frozenset({"I", "U"})
"""The ops a row that is already there can be sent as (a backfill or a preview reads rows)."""


def source_tables(
    rules: Sequence[CompiledRule], connection: str, rule: str | None = None
) -> dict[str, set[ChangeOp]]:
    """Source table → the insert/update ops its sending rules fire on, in rule order: the
    named ``rule``'s table only, or every rule's. A table that only ``skip`` rules or
    delete-only rules read maps to no ops: a preview still shows its rows (as skipped), a
    backfill has nothing to send from it.

    ``rules``: the connection's enabled rules; a ``rule`` not among them is a ConfigError
    naming them."""
    if rule is not None:
        named = [r for r in rules if r.name == rule]
        if not named:
            known = ", ".join(r.name for r in rules) or "none"
            raise ConfigError(
                f"connection {connection} has no enabled rule {rule!r} (its rules: {known})"
            )
        rules = named
    tables: dict[str, set[ChangeOp]] = {}
    for r in rules:
        ops = tables.setdefault(r.source_table, set())
        if r.action != "skip":
            ops.update(r.op_codes & SENT_OPS)
    return tables
