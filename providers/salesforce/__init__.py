"""Salesforce REST: Contact, Account and Opportunity through sObject Collections."""

from providers.base import Provider
from providers.salesforce.client import SalesforceClient
from providers.salesforce.defaults import DEFAULTS
from providers.salesforce.simulator import SalesforceSim, make_simulator
from providers.salesforce.transformer import SalesforceTransformer

PROVIDER = Provider(
    name="salesforce",
    defaults=DEFAULTS,
    client_class=SalesforceClient,
    transformer=SalesforceTransformer(),
    make_simulator=make_simulator,
)

__all__ = [
    "PROVIDER",
    "SalesforceClient",
    "SalesforceSim",
    "SalesforceTransformer",
    "make_simulator",
]
