"""Alembic environment: runs migrations on the engine the application hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from monitor.models import Base

config = context.config
engine = config.attributes["engine"]

#: one lock per schema, so replicas that start together migrate one after the other
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('socmon.migrate.' || current_schema()))"

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Replicas starting on an empty schema all tried to create alembic_version and the
        # tables at once, and all but one failed. The lock is held to the end of this
        # transaction, in which the migrations run (alembic joins a transaction already
        # begun), so the next replica reads the version the first one committed.
        connection.execute(text(MIGRATION_LOCK))
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
