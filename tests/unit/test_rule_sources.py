"""One answer to "which tables does a connection's backfill read": the preview's list and the
backfill plan's tables with their ops come from ``syncsvc.rules.sources``."""

from __future__ import annotations

import pytest

from syncsvc.backfill.plan import Request, _tables_and_ops
from syncsvc.config.runtime import CompiledRule
from syncsvc.errors import ConfigError
from syncsvc.kinds import Action, ChangeOp
from syncsvc.rules.sources import source_tables

CHANGE_OPS: tuple[ChangeOp, ...] = ("I", "U", "D")


def _rule(name: str, table: str, ops: str, action: Action = "upsert") -> CompiledRule:
    codes = frozenset(o for o in CHANGE_OPS if o in ops)
    return CompiledRule(1, name, table, codes, None, action, "contacts", "syncsvc_id")


RULES = (
    _rule("people", "s.people", "IU"),
    _rule("people-deleted", "s.people", "D", "archive"),
    _rule("ignored", "s.ignored", "IU", "skip"),
    _rule("gone", "s.gone", "D", "archive"),
    _rule("orders-new", "s.orders", "I", "create"),
    _rule("orders", "s.orders", "U", "update"),
)


def test_every_table_a_rule_reads_in_rule_order_with_its_sending_ops() -> None:
    tables = source_tables(RULES, "c")
    assert list(tables) == ["s.people", "s.ignored", "s.gone", "s.orders"]
    assert tables == {
        "s.people": {"I", "U"},
        "s.ignored": set(),
        "s.gone": set(),
        "s.orders": {"I", "U"},
    }
    assert source_tables(RULES, "c", "orders-new") == {"s.orders": {"I"}}
    assert source_tables(RULES, "c", "ignored") == {"s.ignored": set()}
    with pytest.raises(ConfigError, match=r"connection c has no enabled rule 'nope' \(its rules: "):
        source_tables(RULES, "c", "nope")
    with pytest.raises(ConfigError, match=r"\(its rules: none\)"):
        source_tables((), "c", "nope")


def test_a_backfill_plans_only_tables_a_rule_sends_on_insert_or_update() -> None:
    assert _tables_and_ops(RULES, Request("c")) == {"s.people": {"I", "U"}, "s.orders": {"I", "U"}}
    assert _tables_and_ops(RULES, Request("c", rule="orders")) == {"s.orders": {"U"}}
    assert _tables_and_ops(RULES, Request("c", table="s.orders")) == {"s.orders": {"I", "U"}}
    with pytest.raises(ConfigError, match="rule ignored skips records"):
        _tables_and_ops(RULES, Request("c", rule="ignored"))
    with pytest.raises(ConfigError, match="rule gone has no rule that sends rows on insert"):
        _tables_and_ops(RULES, Request("c", rule="gone"))
    with pytest.raises(ConfigError, match=r"sends rows of s.gone .*\(its tables: s.orders, s.peo"):
        _tables_and_ops(RULES, Request("c", table="s.gone"))
    with pytest.raises(ConfigError, match="has no enabled rule 'nope'"):
        _tables_and_ops(RULES, Request("c", rule="nope"))
    with pytest.raises(ConfigError, match="connection c has no rule that sends rows"):
        _tables_and_ops(RULES[2:4], Request("c"))
