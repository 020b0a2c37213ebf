"""syncsvc: record-to-record sync from PostgreSQL to CRMs."""
