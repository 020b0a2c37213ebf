"""The declarative YAML config: load, check, apply into the database, export."""
