"""Talk to a simulator's /_sim control endpoints over HTTP, as the tests' eyes on the CRM."""

from __future__ import annotations

from typing import Any

import requests


class SimControl:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def records(self, obj: str) -> list[dict[str, Any]]:
        resp = self.http.get(f"{self.base_url}/_sim/records", params={"object": obj}, timeout=10)
        resp.raise_for_status()
        records: list[dict[str, Any]] = resp.json()["records"]
        return records

    def view(self, obj: str) -> list[dict[str, Any]]:
        """``/_sim/view``: the CRM's records of ``obj`` in the simulators' common shape
        (``key``, ``fields``)."""
        resp = self.http.get(f"{self.base_url}/_sim/view", params={"object": obj}, timeout=10)
        resp.raise_for_status()
        records: list[dict[str, Any]] = resp.json()["records"]
        return records

    def stats(self) -> dict[str, Any]:
        resp = self.http.get(f"{self.base_url}/_sim/stats", timeout=10)
        resp.raise_for_status()
        stats: dict[str, Any] = resp.json()
        return stats

    def acks(self, since: int = 0) -> list[dict[str, Any]]:
        resp = self.http.get(f"{self.base_url}/_sim/acks", params={"since": since}, timeout=30)
        resp.raise_for_status()
        acks: list[dict[str, Any]] = resp.json()["acks"]
        return acks

    def fault(self, mode: str, seconds: float = 0, **extra: Any) -> None:
        resp = self.http.post(
            f"{self.base_url}/_sim/faults",
            json={"mode": mode, "seconds": seconds, **extra},
            timeout=10,
        )
        resp.raise_for_status()

    def configure(self, **options: Any) -> None:
        self.http.post(f"{self.base_url}/_sim/config", json=options, timeout=10).raise_for_status()

    def reset(self) -> None:
        self.http.post(f"{self.base_url}/_sim/reset", timeout=10).raise_for_status()
