"""Field mappings: internal row → CRM properties."""
