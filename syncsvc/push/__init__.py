"""Stage 4: lease outbox rows, send them to the CRM, record per-record results."""
