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
