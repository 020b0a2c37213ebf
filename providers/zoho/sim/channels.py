"""The simulated org's notification channels: ``POST /crm/v8/actions/watch`` subscribes,
``DELETE /crm/v8/actions/watch?channel_ids=`` ends them; every insert, update and delete of a
watched module (through the API or ``/_sim/edit``) is POSTed to the channel's ``notify_url``
with its token, as Zoho's instant notifications are. A channel lives until its
``channel_expiry`` (default: an hour; at most a week)."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from typing import Any

from providers.simulation.deliveries import Deliveries, Delivery
from providers.zoho.sim.schema import error

DEFAULT_LIFE = dt.timedelta(hours=1)
MAX_LIFE = dt.timedelta(days=7)
MAX_TOKEN = 50
RESOURCE_ROOT = "https://www.zohoapis.com/crm/v8"


class Refused(ValueError):
    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__(entry.get("message"))
        self.entry = entry


def _expiry(raw: Any, now: dt.datetime) -> dt.datetime:
    if raw is None:
        return now + DEFAULT_LIFE
    try:
        stamp = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise Refused(error("INVALID_DATA", "invalid data", "channel_expiry")) from None
    if stamp.tzinfo is None or stamp <= now or stamp > now + MAX_LIFE:
        raise Refused(error("INVALID_DATA", "invalid data", "channel_expiry"))
    return stamp


class Channels:
    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.deliveries = Deliveries("zoho")

    def watch(self, body: Any, modules: set[str]) -> list[dict[str, Any]]:
        """Subscribe every channel of the body; the answer's ``watch`` entries."""
        entries = body.get("watch") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise Refused(error("MANDATORY_NOT_FOUND", "required field not found", "watch"))
        now = dt.datetime.now(dt.UTC)
        answers = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise Refused(error("INVALID_DATA", "invalid data", "watch"))
            channel, url = entry.get("channel_id"), entry.get("notify_url")
            events, token = entry.get("events"), entry.get("token")
            if channel in (None, "") or not isinstance(url, str) or not url:
                missing = "channel_id" if channel in (None, "") else "notify_url"
                raise Refused(error("MANDATORY_NOT_FOUND", "required field not found", missing))
            if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
                raise Refused(error("INVALID_DATA", "invalid data", "token"))
            if not isinstance(events, list) or not events:
                raise Refused(error("MANDATORY_NOT_FOUND", "required field not found", "events"))
            watched: dict[str, set[str]] = {}
            for event in events:
                module, _, operation = str(event).partition(".")
                if module not in modules or operation not in ("all", "create", "edit", "delete"):
                    raise Refused(error("INVALID_DATA", "invalid data", "events"))
                watched.setdefault(module, set()).add(operation)
            expiry = _expiry(entry.get("channel_expiry"), now)
            self.channels[str(channel)] = {
                "channel_id": str(channel),
                "notify_url": url,
                "token": token,
                "watched": watched,
                "expiry": expiry,
            }
            details = [
                {
                    "channel_expiry": expiry.replace(microsecond=0).isoformat(),
                    "resource_uri": f"{RESOURCE_ROOT}/{module}",
                    "resource_id": str(5725767 * 10**12 + zlib.crc32(module.encode())),
                    "resource_name": module,
                    "channel_id": str(channel),
                }
                for module in watched
            ]
            answers.append({"code": "SUCCESS", "details": {"events": details},
                            "message": "Successfully subscribed for actions-watch of the given "
                            "module", "status": "success"})  # fmt: skip
        return answers

    def stop(self, channel_ids: list[str]) -> None:
        for channel in channel_ids:
            self.channels.pop(channel, None)

    def clear(self) -> None:
        self.channels.clear()

    def changed(self, module: str, record_id: str, operation: str) -> None:
        now = dt.datetime.now(dt.UTC)
        wanted = {"insert": "create", "update": "edit", "delete": "delete"}[operation]
        for channel in list(self.channels.values()):
            if channel["expiry"] <= now:
                continue
            operations = channel["watched"].get(module, set())
            if "all" not in operations and wanted not in operations:
                continue
            body = {
                "server_time": int(time.time() * 1000),
                "query_params": {},
                "module": module,
                "resource_uri": f"{RESOURCE_ROOT}/{module}",
                "ids": [record_id],
                "affected_fields": [],
                "operation": operation,
                "channel_id": channel["channel_id"],
                "token": channel["token"],
            }
            self.deliveries.send(Delivery(channel["notify_url"], body, {}))
