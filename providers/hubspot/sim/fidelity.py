"""Which of HubSpot's documented ways of failing a batch write the simulator shows.

``multi_status_create``: a batch *create* whose every input carries an ``objectWriteTraceId``
answers 207 with one error per refused input, as HubSpot documents for its batch create
endpoints (https://developers.hubspot.com/docs/api-reference/error-handling, "Multi-status
errors"). Off, or for an input without a trace id, or for update and upsert (no multi-status
is documented for them), a unique value another record holds refuses the **whole call** with
409 CONFLICT naming only the first conflict and nothing is written
(https://github.com/HubSpot/hubspot-api-python/issues/51; for upsert, HubSpot community thread
"Contacts API Batch Upsert return 409 instead of 207").

``echo_trace_ids``: results and per-input errors carry the input's ``objectWriteTraceId``.
HubSpot documents that correlation only for multi-status create; the OpenAPI files make the
field optional everywhere, so a client must not depend on it.

``strict: true`` turns every documented failure behaviour on at once (multi-status off, no
trace ids); an option given explicitly still wins (``providers.simulation.strict``; read per
call, so ``/_sim/config`` can change it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.simulation import strict
from providers.simulation.strict import strict_behaviours

DEFAULTS = {"multi_status_create": True, "echo_trace_ids": True}
STRICT = {"multi_status_create": False, "echo_trace_ids": False}
FIDELITY_OPTIONS = frozenset({strict.STRICT, *DEFAULTS})


@dataclass(frozen=True)
class Fidelity:
    multi_status_create: bool = True
    echo_trace_ids: bool = True


def fidelity(options: Mapping[str, Any]) -> Fidelity:
    """The behaviours ``options`` ask for (``strict`` changes the defaults, not explicit ones);
    a ``strict`` that is not true or false is a ValueError."""
    chosen = strict_behaviours(options, STRICT, DEFAULTS)
    return Fidelity(**{name: bool(value) for name, value in chosen.items()})
