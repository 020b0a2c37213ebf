"""The backfill benchmark's watchers: /proc parsing and the lock peaks they keep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.backfill_report import rss_text
from bench.monitor import (
    LockPeaks,
    PeakRss,
    cpu_seconds,
    descendants,
    parent_pid,
    vm_hwm_kb,
)

STATUS = "Name:\tcelery\nVmPeak:\t  500000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n"


def test_the_peak_resident_set_is_read_from_vmhwm_not_vmrss_or_vmpeak() -> None:
    assert vm_hwm_kb(STATUS) == 123456
    assert vm_hwm_kb("Name:\tkthreadd\nState:\tS\n") is None


def test_the_parent_pid_survives_a_command_name_with_spaces_and_parentheses() -> None:
    assert parent_pid("4242 (celery (worker) x) S 17 4242 4242 0 -1") == 17
    assert parent_pid(Path(f"/proc/{os.getpid()}/stat").read_text()) == os.getppid()


def test_descendants_are_the_whole_subtree_and_nothing_beside_it() -> None:
    parents = {10: 1, 11: 10, 12: 10, 13: 12, 20: 1, 21: 20}
    assert descendants(10, parents) == {10, 11, 12, 13}
    assert descendants(13, parents) == {13}


def test_peak_rss_samples_a_process_and_its_children() -> None:
    """A process of our own with one child (this test process may have children of its own:
    a pytest-xdist worker runs other tests' services)."""
    code = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        parents: dict[int, int] = {}
        deadline = time.monotonic() + 30
        while len(descendants(proc.pid, parents)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            parents = {
                int(d.name): parent_pid((d / "stat").read_text())
                for d in Path("/proc").iterdir()
                if d.name.isdigit() and (d / "stat").exists()
            }
        rss = PeakRss()
        rss.sample({"mine": proc.pid})
        sizes = rss.by_service()["mine"]
        assert len(sizes) == 2 and all(mb > 1 for mb in sizes), sizes
    finally:
        for pid in descendants(proc.pid, parents) - {proc.pid}:
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


def test_lock_peaks_keep_the_longest_wait_and_transaction_per_application() -> None:
    peaks = LockPeaks()
    peaks.add(
        [{"app": "a", "seconds": 0.2, "locktype": "tuple", "mode": "ShareLock"}],
        [{"app": "a", "seconds": 0.5}, {"app": "b", "seconds": 1.5}],
    )
    peaks.add(
        [{"app": "a", "seconds": 0.1, "locktype": "relation", "mode": "RowExclusiveLock"}],
        [{"app": "a", "seconds": 0.4}],
    )
    peaks.add([], [])
    assert peaks.waits == {"a": (0.2, "tuple ShareLock")}
    assert peaks.transactions == {"a": 0.5, "b": 1.5}
    assert (peaks.longest_wait, peaks.longest_transaction) == (0.2, 1.5)
    assert (peaks.samples, peaks.samples_with_waits) == (3, 2)


def test_rss_text_lists_the_largest_process_first_as_given() -> None:
    assert rss_text([212.4, 98.0]) == "212 + 98 MB"


def test_cpu_seconds_are_user_plus_system_ticks() -> None:
    stat = "7 (a b) S 1 7 7 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0"
    assert cpu_seconds(stat, 100) == 3.0


def test_cpu_is_counted_from_the_restart_on() -> None:
    rss = PeakRss()
    rss.cpu = {("w", 1): 5.0, ("w", 2): 1.0}
    rss.restart_cpu()
    rss.cpu = {("w", 1): 7.5, ("w", 2): 1.0, ("w", 3): 0.5, ("b", 4): 2.0}
    assert rss.cpu_by_service() == {"b": 2.0, "w": 3.0}
