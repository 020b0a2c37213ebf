"""Keep a child process alive: restart it when it dies of an error, stop it on SIGTERM/SIGINT.

Celery's worker exits on some broker reconnection errors ("Unrecoverable error"); a service that
syncs around the clock restarts it instead of waiting for an operator. Work the dead child held
is not lost: outbox leases expire and the bridge re-dispatches unpersisted events.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger("syncsvc.supervise")
CHILD_ENV = "SYNCSVC_SUPERVISED_CHILD"
MAX_BACKOFF = 30.0


def is_child() -> bool:
    return os.environ.get(CHILD_ENV) == "1"


def supervise(argv: Sequence[str]) -> int:
    """Run ``argv`` (with ``SYNCSVC_SUPERVISED_CHILD=1``) until it exits cleanly or we are told
    to stop; returns its last exit code."""
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    env = {**os.environ, CHILD_ENV: "1"}
    backoff = 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, *argv], env=env)
        code = child.wait()
        if stopping.is_set() or code == 0:
            return code
        if time.monotonic() - started > 60:
            backoff = 1.0
        log.error("%s exited with code %s; restarting in %.0fs", argv[-1], code, backoff)
        if stopping.wait(backoff):
            return code
        backoff = min(backoff * 2, MAX_BACKOFF)
