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
from shared import SAMPLES, SHOTS, launch_chromium, missing

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


def _redis():
    """A real Redis (Debian's redis-server, no persistence), started (missing: fails under CI)."""
    from servers import Redis
    if Redis.binary() is None:
        missing("redis-server", "scripts/setup.sh --test installs Debian's redis-server")
    return Redis().start()


@pytest.fixture(scope="session")
def redis_server():
    """The Redis the tests that run over every queue share."""
    server = _redis()
    yield server
    server.stop()


@pytest.fixture
def redis_private():
    """A Redis of this test's own, for a test that restarts it."""
    server = _redis()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request, tmp_path):
    """Each implementation of the catalogue in turn: SQLite in a file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    return request.getfixturevalue("postgres").database()


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A real S3 server (moto's) for the tests that run over every blob store (missing: fails under CI)."""
    from servers import MotoS3
    if MotoS3.binary() is None:
        missing("moto_server", "scripts/setup.sh --test installs moto[server] into the virtualenv")
    server = MotoS3(tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture
def s3_credentials(monkeypatch) -> None:
    """moto accepts any credentials; the store insists on having some, as against a real server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture(params=["local", "s3"])
def blob_store(request, tmp_path):
    """Each implementation of the blob store in turn, opened from the settings as the product opens it: files under
    HOME/blobs, and a bucket of its own on moto's S3 server (EDOSSIER_BLOBS; the store makes the bucket)."""
    from config.settings import load_settings
    from servers import fresh_bucket
    from storage.blobs import open_blob_store
    env = {"EDOSSIER_HOME": str(tmp_path / "home")}
    if request.param == "s3":
        request.getfixturevalue("s3_credentials")
        env["EDOSSIER_BLOBS"] = request.getfixturevalue("moto").url(fresh_bucket())
    return open_blob_store(load_settings(env=env))


@pytest.fixture(scope="module")
def chromium():
    """One headless chromium for the browser tests; their screenshots go to tests/output/screenshots."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python", "pip install -e '.[test]' installs it")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()
