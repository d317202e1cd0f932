"""Alembic's entry point for the catalogue's migrations; storage.migrate runs it with a connection in hand."""
from __future__ import annotations

from alembic import context

from storage.catalogue import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
