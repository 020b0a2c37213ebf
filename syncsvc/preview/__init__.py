"""What a backfill or a config would do, evaluated in process: nothing is written.

``counts.count_backfill`` counts a backfill's creates, updates, archives, skips and rejects;
``report.preview_rows`` shows a sample row by row, with the CRM's current record where it can be
read; ``changes.changed_rules`` finds the rules a config file changes (``config apply --dry-run``).
"""
