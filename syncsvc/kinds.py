"""The service's small vocabularies, one type each, so that mypy tells a captured change's op
(``I``/``U``/``D``) from what an outbox row asks of the CRM (``upsert``/``archive``…)."""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

Operation = Literal["insert", "update", "delete"]
"""A change as a rule's ``operations`` names it."""
ChangeOp = Literal["I", "U", "D"]
"""A captured change (``sync_event.op``)."""
Action = Literal["upsert", "update", "create", "archive", "skip"]
"""What a rule does with a matching change."""
PushOp = Literal["upsert", "update", "create", "archive"]
"""What an outbox row asks of the CRM (``outbox.op``): an action that sends something."""
Mode = Literal["push", "poll", "both"]
"""How a connection's CRM gets its records: syncsvc pushes, the CRM polls the feed, or both."""
Stage = Literal["validate", "transform", "persist", "push"]
"""Where a record was rejected (``dead_letter.stage``)."""
DecisionKind = Literal["wait", "retry", "dead", "pause"]
"""What a failed push means for a row: wait (not an attempt), retry later, dead-letter, or pause
the connection (its credentials were refused; not an attempt, the row waits for a resume)."""

OPERATIONS: tuple[Operation, ...] = get_args(Operation)
OP_CODES: dict[Operation, ChangeOp] = {"insert": "I", "update": "U", "delete": "D"}
ACTIONS: tuple[Action, ...] = get_args(Action)
PUSH_OPS: tuple[PushOp, ...] = get_args(PushOp)
MODES: tuple[Mode, ...] = get_args(Mode)


T = TypeVar("T", bound=str)


def member(value: object, choices: tuple[T, ...]) -> T | None:
    """``value`` as one of ``choices`` (typed), or None when it is none of them."""
    for choice in choices:
        if value == choice:
            return choice
    return None


def parse(value: object, choices: tuple[T, ...], what: str) -> T:
    """``value`` as one of ``choices``; anything else is a bug or a corrupt row: ValueError."""
    found = member(value, choices)
    if found is None:
        raise ValueError(f"{value!r} is not a {what} ({', '.join(choices)})")
    return found
