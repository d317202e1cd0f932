"""Servers the tests start on 127.0.0.1 and stop afterwards: `edossier serve` (and, later, Redis, PostgreSQL, S3)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(home: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDOSSIER_HOME": str(home), **({"EDOSSIER_CONFIG": str(config)} if config else {})}
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


class Service:
    def __init__(self, home: Path, config: Path):
        self.home, self.config, self.port = home, config, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        env = {**os.environ, "EDOSSIER_HOME": str(self.home), "EDOSSIER_CONFIG": str(self.config)}
        self.proc = subprocess.Popen([sys.executable, "-m", "ingest", "serve", "--port", str(self.port)], env=env,
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.proc.stderr.read().decode()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("serve did not come up")

    def kill(self) -> None:
        os.killpg(self.proc.pid, 9)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()




def page_png(page) -> bytes:
    """A synthetic page rendered as a 300-dpi PNG file's bytes."""
    import io
    from PIL import Image
    from synth.render import render_page
    buffer = io.BytesIO()
    Image.fromarray(render_page(page).image).save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()


class Postgres:
    """A private PostgreSQL cluster (Debian's `postgresql`) on 127.0.0.1, run as the postgres user from a temporary
    data directory; `database()` makes a fresh database and answers its URL."""

    def __init__(self, base: Path):
        self.base, self.port, self.count = base, free_port(), 0
        self.data = base / "data"

    @staticmethod
    def binaries() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def start(self) -> "Postgres":
        bin_dir = self.binaries()
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o777)
        for parent in self.base.parents:            # the postgres user must be able to reach its directory
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o755)
        self._as_postgres(str(bin_dir / "initdb"), "-D", str(self.data), "--auth=trust", "-U", "postgres")
        self._as_postgres(str(bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w", "-o",
                          f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200",
                          "start")
        return self

    def database(self) -> str:
        import psycopg
        self.count += 1
        name = f"edossier_{self.count}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"create database {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._as_postgres(str(self.binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
