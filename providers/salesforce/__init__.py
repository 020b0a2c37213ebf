"""Salesforce REST: Contact, Account and Opportunity through sObject Collections."""

from providers.base import Provider
from providers.salesforce.client import SalesforceClient
from providers.salesforce.defaults import DEFAULTS
from providers.salesforce.transformer import SalesforceTransformer

PROVIDER = Provider(
    name="salesforce",
    defaults=DEFAULTS,
    client_class=SalesforceClient,
    transformer=SalesforceTransformer(),
)

__all__ = ["PROVIDER", "SalesforceClient", "SalesforceTransformer"]
