"""Pipedrive API v2: persons, organizations and deals, one record per request."""

from providers.base import Provider
from providers.pipedrive.client import PipedriveClient
from providers.pipedrive.defaults import DEFAULTS
from providers.pipedrive.transformer import PipedriveTransformer
from providers.pipedrive.webhooks import PipedriveWebhooks

PROVIDER = Provider(
    name="pipedrive",
    defaults=DEFAULTS,
    client_class=PipedriveClient,
    transformer=PipedriveTransformer(),
    webhooks=PipedriveWebhooks(),
)

__all__ = ["PROVIDER", "PipedriveClient", "PipedriveTransformer"]
