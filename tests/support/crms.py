"""Every CRM's simulator serving its example config (``examples/connections/<name>.yaml``), seen
through the simulators' provider-neutral ``/_sim/view``: what the suites run against each CRM
(the contract, associations) share."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from providers.simulation import SimServer
from providers.simulation.registry import make_simulator
from syncsvc.demo.system import example_pointed_at, example_sim_options
from tests.support.sim import SimControl


class Applies(Protocol):
    """A running system a config is applied to (the integration tests' ``Pipeline``)."""

    def apply(self, config: dict[str, Any]) -> None: ...


@dataclass
class Crm:
    name: str
    sim: SimControl
    config: dict[str, Any]
    objects: dict[str, str]
    """Demo table → the CRM object its upsert rule writes."""

    def view(self, table: str) -> dict[str, dict[str, Any]]:
        """The CRM's records of ``table``'s object by their key (our row id)."""
        return {str(r["key"]): r for r in self.sim.view(self.objects[table])}

    def keys(self, table: str) -> set[str]:
        return set(self.view(table))

    def holds(self, table: str, key: object, text: str) -> bool:
        record = self.view(table).get(str(key))
        return record is not None and text.lower() in json.dumps(record["fields"]).lower()

    def links(self) -> Counter[tuple[str, str, str, str]]:
        """(child object, child key, parent object, parent key) → how often the CRM holds it."""
        resp = self.sim.http.get(f"{self.sim.base_url}/_sim/associations", timeout=10)
        resp.raise_for_status()
        return Counter(
            (a["from"], str(a["from_key"]), a["to"], str(a["to_key"]))
            for a in resp.json()["associations"]
        )

    def fresh(self, stack: Applies) -> None:
        """The simulator emptied and the example config applied (a test's start)."""
        self.sim.reset()
        stack.apply(self.config)


def running_crm(name: str, strict: bool = False) -> Iterator[Crm]:
    """A module fixture's body: ``name``'s simulator with the demo options (and every
    documented failure behaviour with ``strict``), its example config pointed at it."""
    options = {**example_sim_options(name), **({"strict": True} if strict else {})}
    server = SimServer(make_simulator(name, options), port=0).start()
    config = example_pointed_at(name, server.url)
    objects = {
        r["source"]: r["object"]
        for r in config["connections"][0]["rules"]
        if r["action"] in ("upsert", "create")
    }
    yield Crm(name, SimControl(server.url), config, objects)
    server.stop()
