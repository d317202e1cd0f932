"""Shared fixtures: the shared samples folder, an isolated EDOSSIER_HOME, and the `edossier` command."""
from __future__ import annotations

import json
import os
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
