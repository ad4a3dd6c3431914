"""Alembic migrations of the ils schema; `ils init` and `ils db upgrade` run them."""
