"""Alembic migrations of the store's schema; run by ``storage.schema.upgrade_schema``."""
