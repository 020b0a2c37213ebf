"""The HTTP API (falcon on gunicorn): the poll feed, event ingest, health, metrics, OpenAPI."""
