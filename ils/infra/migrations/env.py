"""Alembic environment: runs migrations on the connection ils hands it (never from an ini file)."""

from alembic import context

from ils.infra.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("ils migrations run through ils.infra.db.upgrade, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
