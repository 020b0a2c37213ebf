"""Give a simulator a real CRM host name inside one ``requests`` session: requests to that
origin go to the simulator's URL instead (no DNS, no proxy, nothing outside the session)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class Reroute(HTTPAdapter):
    """Sends every request it gets to ``target`` (scheme, host and port), path and query kept."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = urlsplit(target)

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(str(request.url))
        request.url = urlunsplit((self.target.scheme, self.target.netloc, *parts[2:]))
        return super().send(request, *args, **kwargs)


def rerouted(session: requests.Session, origin: str, target: str) -> requests.Session:
    """``session`` with requests to ``origin`` (e.g. ``https://login.salesforce.com``) sent to
    ``target``."""
    session.mount(origin.rstrip("/") + "/", Reroute(target))
    return session
