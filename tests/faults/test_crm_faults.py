"""I-1, I-2, I-3, I-5 when the CRMs fail: every CRM answers 500, throttles everything, refuses
connections, or answers after the client's timeout, while the change stream runs.

Each test: the change stream runs, the fault happens, the stream goes on a little, stops; then
every record in every CRM simulator must equal the database (none lost, none stale, no
duplicate), nothing may stay pending, and no dead letter may appear.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import FaultWorld, all_sims, run_fault

pytestmark = pytest.mark.faults


def test_crm_answers_500_for_30_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        all_sims(world, "http_error", 30, status=500)
        time.sleep(30)

    run_fault(world, "every CRM answers 500 for 30 s", inject)


def test_crm_throttles_everything_for_20_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        all_sims(world, "rate_limit", 20)
        time.sleep(20)

    run_fault(world, "every CRM throttles everything for 20 s", inject)


def test_crm_unreachable_for_30_seconds(world: FaultWorld) -> None:
    def inject() -> None:
        all_sims(world, "refuse", 30)
        time.sleep(30)

    run_fault(world, "every CRM refuses connections for 30 s", inject)


def test_crm_slower_than_the_client_timeout(world: FaultWorld) -> None:
    def inject() -> None:
        all_sims(world, "slow", 20, delay=6)  # applied, then answered after the 4 s timeout
        time.sleep(20)

    run_fault(world, "every CRM answers after the client's timeout for 20 s", inject)
