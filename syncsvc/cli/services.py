"""The commands that run the service's long-running processes: bridge, worker, beat, flower and
the CRM simulators."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from functools import partial
from pathlib import Path
from types import FrameType

import click

from providers.registry import get_provider, provider_names
from syncsvc.cli import cli
from syncsvc.cli.context import AppContext, pass_app
from syncsvc.errors import ConfigError
from syncsvc.flower_auth import flower_credentials, use_basic_auth
from syncsvc.push.deliver import release_leases_of
from syncsvc.redisconn import eviction_warning
from syncsvc.settings import REPO_ROOT, env_float
from syncsvc.supervise import is_child, supervise

log = logging.getLogger("syncsvc.cli")

FAULT_PAUSE_BEFORE_MARK = "FAULT_PAUSE_BEFORE_MARK"
"""``SYNCSVC_FAULT_PAUSE_BEFORE_MARK``: a fault-injection hook for the test suite, the seconds the
bridge sleeps between enqueueing a claim's chains and marking its events. Never set it in
production."""


def warn_about_eviction(url: str) -> None:
    warning = eviction_warning(url)
    if warning:
        log.warning(warning)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@cli.command()
@pass_app
def bridge(app: AppContext) -> None:
    """Run the trigger receiver: LISTEN/NOTIFY + poll → batched Celery chains (restarted if it
    dies of an error; a database or broker outage it rides out by itself)."""
    from tasks.app import configure
    from tasks.enqueue import celery_bridge

    settings = app.service_settings("bridge")
    pause_before_mark = env_float(os.environ, FAULT_PAUSE_BEFORE_MARK, 0.0, 0.0)
    if not is_child():
        raise SystemExit(supervise([str(REPO_ROOT / "manage.py"), *sys.argv[1:]]))
    configure(settings)
    warn_about_eviction(settings.broker_url)
    stop = threading.Event()
    _stop_on_signals(stop)
    celery_bridge(settings, stop, pause_before_mark).run_forever()


def _queues(sync: bool, push: tuple[str, ...], queues: str | None) -> list[str]:
    from tasks.queues import INBOUND, MAINTENANCE, push_queue, sync_queue

    chosen: list[str] = []
    if queues:
        chosen += [q.strip() for q in queues.split(",") if q.strip()]
    if sync:
        chosen += [sync_queue(p) for p in provider_names()] + [MAINTENANCE, INBOUND]
    for name in push:
        if name == "all":
            chosen += [push_queue(p) for p in provider_names()]
        else:
            try:
                get_provider(name)
            except ConfigError as exc:
                raise click.BadParameter(str(exc), param_hint="--push") from None
            chosen.append(push_queue(name))
    return chosen


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--sync", is_flag=True, help="Consume every provider's validate/transform/persist queue."
)
@click.option(
    "--push",
    multiple=True,
    metavar="PROVIDER",
    help="Consume PROVIDER's push queue (repeatable, or 'all'). Uses a thread pool.",
)
@click.option("--queues", help="Comma-separated queue names, for anything else.")
@click.option(
    "--concurrency", "-c", type=click.IntRange(1, 256), help="Default: CPUs (sync) / 8 (push)."
)
@click.option("--name", help="Worker node name (default derives from the queues).")
@pass_app
def worker(
    app: AppContext,
    sync: bool,
    push: tuple[str, ...],
    queues: str | None,
    concurrency: int | None,
    name: str | None,
) -> None:
    """Run a Celery worker (restarted if it dies of an error). Without options: --sync."""
    from tasks import redelivery
    from tasks.app import configure

    settings = app.service_settings("worker")
    if not is_child():
        raise SystemExit(supervise([str(REPO_ROOT / "manage.py"), *sys.argv[1:]]))
    warn_about_eviction(settings.broker_url)
    if not (sync or push or queues):
        sync = True
    chosen = _queues(sync, push, queues)
    threads = bool(push) and not sync
    pool = "threads" if threads else "prefork"
    workers = concurrency or (8 if threads else (os.cpu_count() or 2))
    node = name or ("push-" + "-".join(push) if threads else "sync") + "@%h"
    celery_app = configure(settings)
    redelivery.install(
        celery_app,
        settings.broker_url,
        settings.redis_prefix,
        node,
        release_leases=partial(release_leases_of, settings.db_url),
    )
    celery_app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(chosen),
            "--pool",
            pool,
            "--concurrency",
            str(workers),
            "--hostname",
            node,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            logging.getLevelName(logging.getLogger().level),
            "--events",
        ]
    )


@cli.command()
@pass_app
def beat(app: AppContext) -> None:
    """Run the scheduler (the outbox sweeper), restarted if it dies of an error."""
    from tasks.app import configure

    settings = app.service_settings("beat")
    if not is_child():
        raise SystemExit(supervise([str(REPO_ROOT / "manage.py"), *sys.argv[1:]]))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure(settings).start(
        ["beat", "--schedule", str(settings.data_dir / "celerybeat-schedule"), "--loglevel", "INFO"]
    )


@cli.command()
@click.option("--port", default=5555, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", default="127.0.0.1", show_default=True)
@pass_app
def flower(app: AppContext, port: int, address: str) -> None:
    """Run Flower, the Celery monitor, behind basic auth (SYNCSVC_FLOWER_USER / _PASSWORD, or
    generated into the data folder). Task history is bounded: at full rate watch /metrics."""
    from tasks.app import configure

    use_basic_auth(*flower_credentials(app.settings))
    argv = ["flower", f"--port={port}", f"--address={address}", "--max_tasks=10000"]
    configure(app.settings).start(argv)


@cli.command()
@click.argument("provider")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--rate-limit", help="REQUESTS/SECONDS, e.g. 100/10 (default: the CRM's).")
@click.option("--token-ttl", type=click.IntRange(1, 86400 * 30), help="OAuth token lifetime (s).")
@click.option(
    "--options-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON object of simulator options (e.g. the custom fields the CRM account has; "
    "see examples/connections/<crm>.sim.json).",
)
def simulate(
    provider: str,
    port: int,
    host: str,
    rate_limit: str | None,
    token_ttl: int | None,
    options_file: Path | None,
) -> None:
    """Run PROVIDER's CRM simulator (a local HTTP server speaking the CRM's API)."""
    from providers.simulation import SimServer  # tooling: a worker never loads a simulator
    from providers.simulation.registry import make_simulator
    from syncsvc.demo.system import read_sim_options

    try:
        get_provider(provider)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="PROVIDER") from None
    options: dict[str, object] = read_sim_options(options_file) if options_file else {}
    if rate_limit:
        try:
            requests_, seconds = (int(x) for x in rate_limit.split("/"))
        except ValueError:
            raise click.BadParameter(
                "use REQUESTS/SECONDS, e.g. 100/10", param_hint="--rate-limit"
            ) from None
        options.update(rate_limit_requests=requests_, rate_limit_seconds=seconds)
    if token_ttl:
        options["token_ttl"] = token_ttl
    server = SimServer(make_simulator(provider, options), host=host, port=port)
    click.echo(f"{provider} simulator listening on {server.url}", err=True)
    for name, url in server.app.host_urls.items():
        if url != server.url:
            click.echo(f"{provider} simulator's {name} host on {url}", err=True)
    stop = threading.Event()
    _stop_on_signals(stop)
    server.start()
    stop.wait()
    server.stop()
