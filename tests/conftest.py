"""Shared fixtures: the shared samples folder, an isolated EDOSSIER_HOME, and the `edossier` command."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared import SAMPLES, missing

os.environ.setdefault("OMP_THREAD_LIMIT", "1")    # before tesseract's OpenMP runtime loads, as a worker does

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def samples() -> Path:
    if not SAMPLES.is_dir():
        missing(str(SAMPLES))
    return SAMPLES


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def edossier(home: Path):
    """Run the installed command line with an isolated data folder."""
    def run(*args: str, env: dict | None = None, timeout: float = 900) -> Result:
        environment = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": "200", **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                              env=environment, timeout=timeout, cwd=ROOT)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    run.home = home
    return run


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL for the tests that run over every catalogue implementation (missing: fails under CI)."""
    from servers import Postgres
    if Postgres.binaries() is None or not shutil.which("runuser"):
        missing("PostgreSQL", "scripts/setup.sh --test installs Debian's postgresql")
    server = Postgres(tmp_path_factory.mktemp("postgres")).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request, tmp_path):
    """Each implementation of the catalogue in turn: SQLite in a file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    return request.getfixturevalue("postgres").database()

