"""The catalogue's layout is made and changed only by migrations (Alembic): a new catalogue is brought to the
newest layout when first opened; one written by an earlier version is refused until `edossier db upgrade` has run,
so a service and its workers never run against a layout they do not know."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

FOLDER = Path(__file__).with_name("migrations")


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the catalogue to `revision` (the newest by default), in one transaction where the database allows."""
    with engine.begin() as conn:
        if revision == "head" and MigrationContext.configure(conn).get_current_revision() == head():
            return                          # another process made it meanwhile (the transaction holds the lock)
        command.upgrade(_config(conn), revision)
