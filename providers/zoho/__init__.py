"""Zoho CRM v8: Contacts, Accounts and Deals through the record API (upsert by a unique field)."""

from providers.base import Provider
from providers.zoho.client import ZohoClient
from providers.zoho.defaults import DEFAULTS
from providers.zoho.notifications import ZohoNotifications
from providers.zoho.transformer import ZohoTransformer

PROVIDER = Provider(
    name="zoho",
    defaults=DEFAULTS,
    client_class=ZohoClient,
    transformer=ZohoTransformer(),
    webhooks=ZohoNotifications(),
)

__all__ = ["PROVIDER", "ZohoClient", "ZohoTransformer"]
