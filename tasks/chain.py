"""Build the validate → transform → persist → push chain for one batch."""

from __future__ import annotations

from celery import chain
from celery.canvas import Signature

from syncsvc.pipeline.batch import Batch
from tasks.pipeline import persist, transform, validate
from tasks.push import push
from tasks.queues import push_queue, sync_queue


def sync_chain(batch: Batch, provider: str) -> Signature:
    work = sync_queue(provider)
    return chain(
        validate.si(batch).set(queue=work),
        transform.s().set(queue=work),
        persist.s().set(queue=work),
        push.s().set(queue=push_queue(provider)),
    )
