"""``strict`` means one thing in every simulator (``providers.simulation.strict``): each
documented failure behaviour on unless an option names it, and only true or false."""

from __future__ import annotations

from typing import Any

import pytest

from providers.dynamics.sim.app import STRICT_OP_SECONDS
from providers.hubspot.sim.fidelity import Fidelity, fidelity
from providers.simulation.registry import make_simulator
from providers.simulation.strict import strict_behaviours, strict_options
from syncsvc.errors import ConfigError

ON = {"a": 1, "b": 2}
OFF = {"a": 0, "b": 0}


def test_strict_fills_in_what_the_options_do_not_set() -> None:
    assert strict_options({"strict": True, "a": 5, "c": 3}, ON) == {"a": 5, "b": 2, "c": 3}
    assert strict_options({"strict": False, "c": 3}, ON) == {"c": 3}
    assert strict_behaviours({"strict": True, "a": 5, "c": 3}, ON, OFF) == {"a": 5, "b": 2}
    assert strict_behaviours({"b": 7}, ON, OFF) == {"a": 0, "b": 7}
    assert strict_behaviours({"strict": False}, ON, OFF) == OFF
    with pytest.raises(ValueError, match="strict must be true or false, got 'yes'"):
        strict_options({"strict": "yes"}, ON)
    with pytest.raises(ValueError, match="strict must be true or false, got 'yes'"):
        strict_behaviours({"strict": "yes"}, ON, OFF)


def test_hubspot_and_dynamics_read_strict_the_shared_way() -> None:
    assert fidelity({"strict": True}) == Fidelity(False, False)
    assert fidelity({"strict": True, "echo_trace_ids": True}) == Fidelity(False, True)
    assert fidelity({}) == Fidelity(True, True)
    dynamics: Any = make_simulator("dynamics", {"strict": True})
    assert dynamics.batches.op_seconds == STRICT_OP_SECONDS
    dynamics.configure({"strict": False})
    assert dynamics.batches.op_seconds == 0
    dynamics.configure({"strict": True, "batch_op_seconds": 0.5})
    assert dynamics.batches.op_seconds == 0.5


@pytest.mark.parametrize("crm", ["hubspot", "salesforce", "pipedrive", "zoho", "dynamics"])
def test_every_simulator_refuses_a_strict_that_is_not_true_or_false(crm: str) -> None:
    with pytest.raises((ConfigError, ValueError), match="strict must be true or false"):
        make_simulator(crm, {"strict": "yes"})


def test_hubspot_refuses_a_bad_strict_at_run_time_and_keeps_its_options() -> None:
    sim = make_simulator("hubspot", {"strict": True})
    with pytest.raises(ValueError, match="strict must be true or false"):
        sim.configure({"strict": "no"})
    assert sim.options["strict"] is True
