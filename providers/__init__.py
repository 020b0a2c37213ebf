"""CRM provider packages: one per CRM, each behind ``providers.base.Provider``."""
