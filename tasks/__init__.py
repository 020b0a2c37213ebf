"""Celery tasks: the sync chain (validate → transform → persist → push) and maintenance."""
