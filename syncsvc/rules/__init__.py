"""Sync rules: which change becomes which CRM action."""
