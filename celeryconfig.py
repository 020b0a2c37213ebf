"""Celery settings that do not depend on the environment (URLs are set by ``tasks.app.configure``).

Sized for batch tasks: one message carries hundreds of records, so prefetch stays at 1 and a
task is acknowledged only after it ran (a killed worker's task is redelivered).
"""

# Task messages are signed (tasks/signing.py, registered by tasks.app.configure): a worker
# accepts nothing else.
task_serializer = "syncsvc-signed-json"
accept_content = ["syncsvc-signed-json"]
result_serializer = "syncsvc-signed-json"
task_ignore_result = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_send_task_events = True
task_send_sent_event = True
task_time_limit = 600
task_soft_time_limit = 540
broker_connection_retry_on_startup = True
broker_connection_max_retries = None
broker_heartbeat = 0
# True crashes the worker on reconnection (celery/celery#9250); the outbox leases and the
# bridge's re-dispatch cover tasks whose acknowledgement is lost with the connection.
worker_cancel_long_running_tasks_on_connection_loss = False
worker_lost_wait = 20
enable_utc = True
timezone = "UTC"

# Redis redelivers an unacknowledged message after the visibility timeout, so it must exceed the
# longest task (task_time_limit) plus the longest countdown we ever schedule (60 s).
VISIBILITY_TIMEOUT = 3600
broker_transport_options = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "socket_timeout": 30,
    "socket_connect_timeout": 10,
    "retry_on_timeout": True,
}
