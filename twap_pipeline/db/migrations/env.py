"""Alembic's entry point: run the SQL revisions on the connection ``schema.upgrade`` passes,
holding the writers' lock so a migration never interleaves with a load or another migration."""

from alembic import context

from twap_pipeline.db.schema import WRITE_LOCK_KEY

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
    context.run_migrations()
