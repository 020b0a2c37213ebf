"""How many ``batch/upsert`` calls of 100 records the HubSpot simulator answers per second.

The simulator runs in its own process (as under ``manage.py simulate``) with the rate limit
raised; client threads send upserts of distinct records, so the first round creates and the
rest update. Run: ``.venv/bin/python -m bench.sim_hubspot [--seconds 5] [--threads 4]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import threading
import time
from typing import Any

import requests

from providers.hubspot.sim import make_simulator
from providers.simulation import SimServer
from syncsvc.demo.system import example_sim_options

AUTH = {"Authorization": "Bearer demo-token"}


def _serve(port: int, ready: Any) -> None:
    options = {**example_sim_options("hubspot"), "rate_limit_requests": 10**9}
    server = SimServer(make_simulator(options), port=port).start()
    ready.put(server.port)
    threading.Event().wait()


def _inputs(thread: int, call: int, batch: int, records: int) -> list[dict[str, Any]]:
    first = (call * batch) % records
    inputs = []
    for n in range(first, first + batch):
        key = f"{thread}-{n % records}"
        properties = {"email": f"bench{key}@example.com", "firstname": "Bench", "syncsvc_id": key}
        inputs.append(
            {
                "id": key,
                "idProperty": "syncsvc_id",
                "properties": properties,
                "objectWriteTraceId": key,
            }
        )
    return inputs


def _client(url: str, thread: int, args: argparse.Namespace, stop: float, out: list[float]) -> None:
    with requests.Session() as session:
        call = 0
        while time.monotonic() < stop:
            body = {"inputs": _inputs(thread, call, args.batch, args.records)}
            started = time.perf_counter()
            response = session.post(url, json=body, headers=AUTH, timeout=30)
            out.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"unexpected {response.status_code}: {response.text[:200]}")
            call += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--records", type=int, default=5_000, help="distinct records per thread")
    args = parser.parse_args()

    ready: Any = mp.Queue()
    sim = mp.Process(target=_serve, args=(0, ready), daemon=True)
    sim.start()
    try:
        url = f"http://127.0.0.1:{ready.get(timeout=30)}/crm/v3/objects/contacts/batch/upsert"
        _client(
            url,
            0,
            argparse.Namespace(**{**vars(args), "records": args.batch}),
            time.monotonic() + 0.5,
            [],
        )
        latencies: list[list[float]] = [[] for _ in range(args.threads)]
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=_client, args=(url, i + 1, args, stop, latencies[i]))
            for i in range(args.threads)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        sim.terminate()
        sim.join()
    all_latencies = sorted(x for part in latencies for x in part)
    calls = len(all_latencies)
    p99 = all_latencies[int(calls * 0.99) - 1] if calls >= 100 else max(all_latencies)
    print(
        f"{calls / elapsed:,.0f} batch/upsert requests/s ({calls * args.batch / elapsed:,.0f} "
        f"records/s) with {args.threads} client threads over {elapsed:.1f}s; latency "
        f"p50 {statistics.median(all_latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
