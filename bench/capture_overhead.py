"""What capture costs writers: 8 concurrent single-row UPDATE committers, with and without it."""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from syncsvc import capture
from syncsvc.db import connect

WRITERS = 8
ROWS = 10_000
TABLE = "public.bench_capture"


def _writer(url: str, seconds: float, counter: Any) -> None:
    rng = random.Random()
    done = 0
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            conn.execute(
                "UPDATE public.bench_capture SET v = v + 1 WHERE id = %s", (rng.randrange(ROWS),)
            )
            done += 1
    with counter.get_lock():
        counter.value += done


@dataclass(frozen=True)
class OverheadFigure:
    mode: str
    commits_per_second: float
    ratio: float


def _round(url: str, seconds: float) -> float:
    counter = mp.Value("q", 0)
    procs = [mp.Process(target=_writer, args=(url, seconds, counter)) for _ in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return float(counter.value) / seconds


def measure(url: str, seconds: float = 3.0) -> list[OverheadFigure]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.bench_capture")
        conn.execute(
            "CREATE TABLE public.bench_capture (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)"
        )
        conn.execute(
            "INSERT INTO public.bench_capture (id) SELECT g FROM generate_series(0, %s) g", (ROWS,)
        )
    results: list[tuple[str, float]] = []
    for mode in ("none", "off", "throttled", "always"):
        with connect(url, autocommit=True) as conn:
            if mode == "none":
                capture.remove_capture(conn, TABLE)
            else:
                capture.add_capture(conn, TABLE, notify=mode)
            conn.execute("TRUNCATE syncsvc.sync_event")
        results.append((mode, _round(url, seconds)))
    with connect(url, autocommit=True) as conn:
        capture.remove_capture(conn, TABLE)
        conn.execute("DROP TABLE public.bench_capture")
        conn.execute("TRUNCATE syncsvc.sync_event")
    base = results[0][1] or 1.0
    return [OverheadFigure(mode, rate, rate / base) for mode, rate in results]
