"""The trigger receiver: LISTEN/NOTIFY (with a poll fallback) → batched Celery chains."""
