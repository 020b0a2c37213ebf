"""What makes a push look at the CRM record first (``syncsvc.push.guard``): a policy that can let
the CRM win, and a field the push would overwrite holding a value we neither send nor delivered."""

from __future__ import annotations

from typing import Any

import pytest

from syncsvc.inbound.conflict import crm_may_win
from syncsvc.inbound.echo import unseen_crm_change
from syncsvc.inbound.model import InboundObject, Policy

MAPPINGS = (
    {"source": "firstname", "target": "first_name"},
    {"source": "lastname", "target": "last_name"},
    {"source": "phone", "target": "phone"},
)


def spec(
    conflict: Policy = "crm_wins",
    fields: dict[str, Policy] | None = None,
    writable: tuple[str, ...] = ("first_name", "last_name", "phone"),
) -> InboundObject:
    return InboundObject(
        object="contacts",
        table="demo.contacts",
        key_column="id",
        key_field="syncsvc_id",
        mappings=MAPPINGS,
        writable=writable,
        conflict=conflict,
        field_policies=fields or {},
    )


@pytest.mark.parametrize(
    ("conflict", "fields", "reads"),
    [
        ("internal_wins", {}, False),
        ("crm_wins", {}, True),
        ("last_write_wins", {}, True),
        ("internal_wins", {"first_name": "crm_wins"}, True),  # ownership: crm
        ("internal_wins", {"first_name": "internal_owns"}, False),
        (
            "crm_wins",
            {"first_name": "internal_owns", "last_name": "internal_wins", "phone": "internal_wins"},
            False,
        ),
    ],
)
def test_a_push_reads_first_only_where_the_crm_can_win(
    conflict: Policy, fields: dict[str, Policy], reads: bool
) -> None:
    assert crm_may_win(spec(conflict, fields)) is reads


def test_a_column_the_crm_may_not_write_does_not_count() -> None:
    assert not crm_may_win(spec("internal_wins", {"phone": "crm_wins"}, ("first_name",)))


DELIVERED = {"syncsvc_id": "1", "firstname": "Ada", "lastname": "L"}


@pytest.mark.parametrize(
    ("crm", "payload", "unseen"),
    [
        # the CRM holds what we delivered: our push overwrites nothing of the CRM's
        ({"firstname": "Ada", "lastname": "L"}, {"firstname": "Bea", "lastname": "L"}, False),
        # the CRM holds what we send already
        ({"firstname": "Bea", "lastname": "L"}, {"firstname": "Bea", "lastname": "L"}, False),
        # a rep changed the first name: the push would overwrite it
        ({"firstname": "Cy", "lastname": "L"}, {"firstname": "Bea", "lastname": "L"}, True),
        # ... even when the push does not change it (the payload still holds our older value)
        ({"firstname": "Cy", "lastname": "L"}, {"firstname": "Ada", "lastname": "M"}, True),
        # a field the push does not send is not overwritten
        ({"firstname": "Ada", "lastname": "L", "phone": "5"}, {"firstname": "Bea"}, False),
        # a field never delivered before holds the CRM's own value
        ({"firstname": "Ada", "phone": "5"}, {"firstname": "Ada", "phone": "6"}, True),
        # a rep cleared the last name (missing in the answer, as HubSpot leaves empty ones out)
        ({"firstname": "Ada"}, {"firstname": "Ada", "lastname": "M"}, True),
        # ... which is what we send: empty and missing are alike
        ({"firstname": "Ada"}, {"firstname": "Ada", "lastname": ""}, False),
        # a typed value against the CRM's text
        ({"firstname": "Ada", "phone": "5"}, {"phone": 5}, False),
    ],
)
def test_an_unseen_crm_change_is_a_value_neither_sent_nor_delivered(
    crm: dict[str, Any], payload: dict[str, Any], unseen: bool
) -> None:
    assert unseen_crm_change(spec(), crm, payload, DELIVERED) is unseen


@pytest.mark.parametrize(
    ("crm", "delivered", "ours"),
    [
        ("10.5", "10.50", True),  # HubSpot keeps numbers without trailing zeros
        ("10", "10.0", True),
        ("0", "-0.00", True),
        ("2026-12-03T10:15:00.000+0000", "2026-12-03T10:15:00.000Z", True),  # Salesforce
        ("2026-12-03T11:15:00+01:00", "2026-12-03T10:15:00.000Z", True),
        ("2026-12-03", "2026-12-03", True),
        ("123", "0123", False),  # a code, not a number
        ("10.51", "10.50", False),
        ("2026-12-03T10:15:01.000Z", "2026-12-03T10:15:00.000Z", False),
        ("2026-12-03T10:15:00", "2026-12-03T10:15:00Z", False),  # naive is not UTC
    ],
)
def test_a_value_the_crm_only_respelled_is_still_the_one_delivered(
    crm: str, delivered: str, ours: bool
) -> None:
    """The push sends "20"; the CRM holds the delivered value in its own spelling: no change
    of the CRM's (or one, where the value differs)."""
    fields = {"firstname": "Ada", "phone": crm}
    sent = {**DELIVERED, "phone": delivered}
    assert unseen_crm_change(spec(), fields, {"phone": "20"}, sent) is not ours


def test_a_field_the_crm_may_not_write_is_no_unseen_change() -> None:
    only_first = spec(writable=("first_name",))
    crm = {"firstname": "Ada", "lastname": "Rep"}
    assert not unseen_crm_change(only_first, crm, {"firstname": "Ada", "lastname": "L"}, DELIVERED)
