"""Servers the tests start on 127.0.0.1 and stop afterwards: `edossier serve` (and, later, Redis, PostgreSQL, S3)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(home: Path, *args: str, config: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """`edossier ARGS` on `home`; `input` is written to its standard input (a password with --password-stdin)."""
    env = {**os.environ, "EDOSSIER_HOME": str(home), **({"EDOSSIER_CONFIG": str(config)} if config else {})}
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, input=input)


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

    def stop(self, crash: bool = False) -> None:
        """A clean stop, or with `crash` an immediate one: no checkpoint, as a power cut leaves it."""
        self._as_postgres(str(self.binaries() / "pg_ctl"), "-D", str(self.data), "-m",
                          "immediate" if crash else "fast", "-w", "stop")

    def restart(self, crash: bool = False, down_s: float = 0.0) -> None:
        """Stop (a crash: the postmaster killed) and start again after `down_s` seconds away."""
        self.stop(crash)
        time.sleep(down_s)
        self._as_postgres(str(self.binaries() / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w",
                          "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200",
                          "start")


class Redis:
    """Debian's redis-server on 127.0.0.1 without persistence: `restart()` is a restart that loses the queue."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def binary() -> str | None:
        import shutil
        return shutil.which("redis-server")

    def start(self) -> "Redis":
        self.proc = subprocess.Popen([self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not come up")

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


def fresh_bucket() -> str:
    """A bucket name no test has used: each test starts with an empty store."""
    return f"edossier-{uuid.uuid4().hex[:12]}"


class MotoS3:
    """moto's S3 server (`moto_server`, installed with moto[server]) on 127.0.0.1. It keeps objects in memory only, so
    an outage is made by freezing it (SIGSTOP: S3 hangs) or by a Relay in front of it, never by a restart."""

    def __init__(self, log: Path):
        self.port, self.log = free_port(), log
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def binary() -> Path | None:
        found = Path(sys.executable).with_name("moto_server")
        return found if found.exists() else None

    def start(self) -> "MotoS3":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.binary()), "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"moto_server exited: {self.log.read_text()[-3000:]}")
            try:
                httpx.get(self.endpoint, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("moto_server did not come up")

    def url(self, bucket: str, endpoint: str | None = None) -> str:
        """The EDOSSIER_BLOBS value for `bucket` on this server (or on `endpoint`, a relay in front of it)."""
        return f"s3://{bucket}?endpoint={endpoint or self.endpoint}"

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)        # wakes a thread blocked in accept() or recv() on it
    except OSError:
        pass
    sock.close()


class Relay:
    """A TCP relay from its own port on 127.0.0.1 to `target_port`. Switched off, it refuses new connections and cuts
    the open ones; switched on, it relays again: a server unreachable for a while that keeps what it holds."""

    def __init__(self, target_port: int):
        self.target, self.port = target_port, free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def on(self) -> "Relay":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def off(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:                         # switched off
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            if self._listener is not listener:      # switched off meanwhile
                for sock in (client, upstream):
                    _close(sock)
                return
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, sink}
            _close(source)
            _close(sink)
