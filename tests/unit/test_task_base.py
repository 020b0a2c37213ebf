from __future__ import annotations

import psycopg
import pytest

from providers.oauth import resolve_options
from syncsvc.errors import ConfigError
from syncsvc.settings import load_settings
from tasks.base import SyncTask
from tasks.maintenance import prune, sweep
from tasks.push import push
from tasks.stages import persist, transform, validate


@pytest.mark.parametrize("step", [validate, transform, persist])
def test_chain_steps_retry_database_errors_soon(step: SyncTask) -> None:
    assert isinstance(step, SyncTask)
    assert tuple(step.autoretry_for) == (
        psycopg.OperationalError,
        psycopg.errors.SerializationFailure,
    )
    assert (step.retry_backoff, step.retry_backoff_max, step.retry_jitter) == (1, 20, True)
    assert step.max_retries == 8


@pytest.mark.parametrize("task", [push, sweep, prune])
def test_push_and_sweep_leave_failures_to_the_next_sweep(task: SyncTask) -> None:
    assert isinstance(task, SyncTask)
    assert not getattr(task, "autoretry_for", ())


def test_task_names_are_the_wire_contract() -> None:
    names = [t.name for t in (validate, transform, persist, push, sweep, prune)]
    expected = ("validate", "transform", "persist", "push", "sweep", "prune")
    assert names == [f"syncsvc.{n}" for n in expected]


def test_options_resolve_against_the_callers_environment() -> None:
    options = {"token_url": "${TOKEN_HOST:-http://a}/token", "scope": "${KEPT}"}
    assert resolve_options(options, {"TOKEN_HOST": "http://b"}) == {
        "token_url": "http://b/token",
        "scope": "${KEPT}",
    }
    assert resolve_options(options, {})["token_url"] == "http://a/token"
    with pytest.raises(ConfigError, match=r"zoho: options\.token_url: environment variable X"):
        resolve_options({"token_url": "${X}/t"}, {}, "zoho: options")


def test_api_options_are_read_with_the_settings() -> None:
    settings = load_settings({"SYNCSVC_API_MAX_PAGE": "50", "SYNCSVC_API_DEFAULT_PAGE": "80"})
    assert (settings.api.max_page, settings.api.default_page) == (50, 50)
    with pytest.raises(ConfigError, match="unknown API setting"):
        load_settings({"SYNCSVC_API_MAX_PAEG": "50"})
    with pytest.raises(ConfigError, match="SYNCSVC_API_MAX_EVENTS must be from 1 to 100000"):
        load_settings({"SYNCSVC_API_MAX_EVENTS": "0"})
    with pytest.raises(ConfigError, match="SYNCSVC_API_RATE_LIMIT must be a rate"):
        load_settings({"SYNCSVC_API_RATE_LIMIT": "fast"})
