"""Start the service's real processes (bridge, workers, beat) as children: tests, benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from syncsvc.settings import REPO_ROOT


@dataclass
class Proc:
    name: str
    args: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path


class ProcessSet:
    """Processes started with ``manage.py``; every one is stopped at ``stop_all``."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, Proc] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> Proc:
        if name in self.procs and self.procs[name].popen.poll() is None:
            raise RuntimeError(f"{name} is already running")
        log_path = self.log_dir / f"{name}.log"
        env = {**self.env, **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                [sys.executable, str(REPO_ROOT / "manage.py"), *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, list(args), popen, log_path)
        self.procs[name] = proc
        return proc

    def restart(self, name: str) -> Proc:
        old = self.procs[name]
        self.stop(name)
        return self.start(name, *old.args)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker's children die with it)."""
        proc = self.procs[name]
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, sig)
            if sig == signal.SIGKILL:
                proc.popen.wait(10)

    def stop(self, name: str, timeout: float = 15.0) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.popen.poll() is not None:
            return
        self.kill(name, signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(name, signal.SIGKILL)

    def discard(self, name: str) -> None:
        """Stop ``name`` and forget it."""
        self.stop(name)
        self.procs.pop(name, None)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def alive(self, name: str) -> bool:
        return self.procs[name].popen.poll() is None

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.procs[name].log_path
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
