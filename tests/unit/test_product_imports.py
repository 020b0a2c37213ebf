"""The product carries no tooling: a push worker's imports load no CRM simulator.

Each check imports in a fresh interpreter (this test process has long loaded the simulators
through other tests) and reads ``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

WORKER_IMPORTS = """
import importlib, pkgutil
import syncsvc.push, tasks
from providers.registry import get_provider, provider_names

for name in provider_names():
    get_provider(name)
for package in (tasks, syncsvc.push):
    for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(found.name)
"""
"""What a push worker imports: every module of the Celery app and its tasks, the push side and
every provider package, looked up the way the worker does."""

CLI_IMPORTS = """
import contextlib, io, sys
from syncsvc.cli import main

sys.argv = ["manage.py", "--help"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main()
"""
"""``manage.py worker`` runs the worker inside the command line, which loads every command."""

REPORT = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"


def is_simulator(module: str) -> bool:
    """A simulator module: ``providers.simulation…``, ``….sim`` / ``….sim.…``, or the names
    simulators had before they moved (``….simulator``, ``….sim_*``)."""
    if module == "providers.simulation" or module.startswith("providers.simulation."):
        return True
    parts = module.split(".")[1:]
    return any(p in ("sim", "simulator") or p.startswith("sim_") for p in parts)


def loaded_after(script: str) -> list[str]:
    """The modules loaded once ``script`` ran in a fresh interpreter at the repository root."""
    done = subprocess.run(
        [sys.executable, "-c", script + REPORT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def test_the_check_knows_simulator_modules() -> None:
    simulators = [
        "providers.simulation",
        "providers.simulation.guard",
        "providers.hubspot.sim",
        "providers.dynamics.sim.limits",
        "providers.zoho.simulator",
        "providers.salesforce.sim_query",
    ]
    product = ["providers.hubspot", "providers.zoho.client", "tasks.push", "syncsvc.push"]
    assert all(is_simulator(m) for m in simulators)
    assert not any(is_simulator(m) for m in product)


def test_a_push_worker_loads_no_simulator() -> None:
    modules = loaded_after(WORKER_IMPORTS)
    assert "tasks.push" in modules and "providers.hubspot.client" in modules
    assert [m for m in modules if is_simulator(m)] == []


def test_the_command_line_loads_no_simulator() -> None:
    modules = loaded_after(CLI_IMPORTS)
    assert "syncsvc.cli" in modules
    assert [m for m in modules if is_simulator(m)] == []


def test_loading_a_simulator_shows() -> None:
    """The check sees the simulators tooling loads (it is not vacuous)."""
    tooling = "\nfrom providers.simulation.registry import make_simulator\nmake_simulator('zoho')\n"
    simulators = [m for m in loaded_after(WORKER_IMPORTS + tooling) if is_simulator(m)]
    assert "providers.simulation.registry" in simulators
    assert "providers.zoho.sim.app" in simulators
