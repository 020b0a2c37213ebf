"""Backfill: send the rows a table already holds through the same path as captured changes.

A backfill reads its source table in primary-key order, a page per transaction, and writes each
page as ``sync_event`` rows tagged with its id (``page``), in the transaction that advances its
progress row (``store``): a killed backfill resumes after its last committed page and never
writes a page twice. The bridge, the chain and the pusher then treat the events as captured
changes, so rules, conditions, mappings, dead letters and rate limits apply (``runner``).
"""
