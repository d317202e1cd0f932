"""The catalogue's layout comes from migrations only: a new catalogue gets the newest layout, identical to what the
code declares; one at an older layout is refused (exit 5, naming the command) until `edossier db upgrade` has run,
which keeps what it holds."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

import ingest.queue  # noqa: F401  (the job tables live in the catalogue too)
from conftest import ROOT
from storage import migrate
from storage.catalogue import Catalogue, OutdatedCatalogue, metadata


def test_migrations_make_exactly_the_layout_the_code_declares(catalogue_url):
    url = catalogue_url
    Catalogue(url).dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert migrate.current(engine) == migrate.head()


def test_two_processes_opening_a_new_catalogue_at_once_both_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    code = f"from storage.catalogue import Catalogue; Catalogue({url!r}).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()


@pytest.fixture
def old_catalogue(tmp_path):
    """A catalogue at the first layout, holding a stack."""
    home = tmp_path / "home"
    home.mkdir()
    engine = create_engine(f"sqlite:///{home / 'catalogue.sqlite3'}")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("insert into stacks (key, kind, state, client, created_at, version, classified_version) "
                          "values ('kept', 'upload', 'open', 'test', 0, 0, 0)"))
    engine.dispose()
    return home


def _edossier(home, *args):
    env = {**os.environ, "EDOSSIER_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_an_older_layout_is_refused_until_upgraded_and_keeps_its_data(old_catalogue):
    with pytest.raises(OutdatedCatalogue, match="edossier db upgrade"):
        Catalogue(f"sqlite:///{old_catalogue / 'catalogue.sqlite3'}")
    refused = _edossier(old_catalogue, "status")
    assert refused.returncode == 5 and "edossier db upgrade" in refused.stderr.replace("\n", " ")
    upgraded = _edossier(old_catalogue, "db", "upgrade")
    assert upgraded.returncode == 0 and "from layout 0001 to 0010" in upgraded.stdout
    catalogue = Catalogue(f"sqlite:///{old_catalogue / 'catalogue.sqlite3'}")
    assert catalogue.stack_by_key("kept") is not None
    assert catalogue.take_lease("assemble:x", "a", 30) and not catalogue.take_lease("assemble:x", "b", 30)
    assert catalogue.release_lease("assemble:x", "a") is True
    again = _edossier(old_catalogue, "db", "upgrade")
    assert again.returncode == 0 and "already at layout 0010" in again.stdout
