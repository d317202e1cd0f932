"""Where captured pages go, one stack per scan session or hot-folder batch: the local catalogue through the pipeline's
one door (`pipeline.accept`), or a remote `edossier serve` through its HTTP API with a device token.

Both sinks have the same three calls. The remote one writes every page to a local spool (fsynced) before sending it,
and a background thread delivers the spool in order; while the server cannot be reached the pages wait there and
go, once each, when it is back (a page is sent with its stack position, and the server answers a position it
already holds with the same record). A session's spool left behind by a crash is delivered by the next session.
"""
from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

log = logging.getLogger("edossier.capture")

_delivering: set[Path] = set()        # spool folders a delivery thread of this process is working on
_delivering_lock = threading.Lock()


@dataclass(frozen=True)
class StackSpec:
    """What a stack is opened with: a key of the client's own (so reopening finds it again), the case when known,
    the device, a volume hint."""
    key: str
    case_no: str | None = None
    device: str | None = None
    volume: str | None = None


class Sink(Protocol):
    def open(self, spec: StackSpec) -> None:
        """Open (or find again) the stack for this session."""

    def put(self, data: bytes, *, name: str, seq: int | None = None, source: str | None = None,
            provenance: dict | None = None) -> None:
        """Hand one page (or file) over at its position in the stack (None: the next free one); durable when this
        returns. `source` names where it was (a hot folder's file), so offering it again is recognised."""

    def close(self) -> None:
        """No more pages: the stack is closed (for the remote sink, once the spool is delivered)."""

    def where(self) -> str:
        """Where the pages go, for the operator: a stack ID, or a server and what still waits in the spool."""


class LocalSink:
    """Into the catalogue of this data folder."""

    def __init__(self, ctx, client: str):
        self.ctx, self.client, self.stack = ctx, client, None

    def open(self, spec: StackSpec) -> None:
        from ingest import pipeline
        self.stack = pipeline.open_stack(self.ctx, key=f"capture:{spec.key}", kind="scan", client=self.client,
                                         case_no=spec.case_no, device=spec.device, volume_hint=spec.volume)
        self.spec = spec

    def put(self, data: bytes, *, name: str, seq: int | None = None, source: str | None = None,
            provenance: dict | None = None) -> None:
        from ingest import pipeline
        pipeline.accept(self.ctx, self.stack, io.BytesIO(data), name=name, client=self.client, seq=seq,
                        source_path=source or f"{self.spec.device or 'capture'}:{self.spec.key}/{seq}",
                        provenance=provenance)

    def close(self) -> None:
        from ingest import pipeline
        pipeline.close_stack(self.ctx, self.stack.id)
        pipeline.resume(self.ctx, self.stack.id)

    def where(self) -> str:
        return f"stack {self.stack.id}" if self.stack else "no stack"


class RemoteSink:
    """Into a remote `edossier serve`, through a spool folder on this machine."""

    RETRY_S = 2.0

    def __init__(self, server: str, token: str, spool: Path, *, timeout_s: float = 30.0):
        import httpx
        self.server = server.rstrip("/")
        self.spool = spool
        self.http = httpx.Client(base_url=f"{self.server}/api/v1", timeout=timeout_s,
                                 headers={"Authorization": f"Bearer {token}"})
        self.folder: Path | None = None
        self.error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # the session's side ----------------------------------------------------------------------------------------
    def open(self, spec: StackSpec) -> None:
        self.folder = self.spool / spec.key
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "stack.json"
        if not meta.exists():
            _write_durably(meta, json.dumps({"key": spec.key, "case_no": spec.case_no, "device": spec.device,
                                             "volume": spec.volume}).encode())
        self._thread = threading.Thread(target=self._deliver_all, name="spool-delivery", daemon=True)
        self._thread.start()

    def put(self, data: bytes, *, name: str, seq: int | None = None, source: str | None = None,
            provenance: dict | None = None) -> None:
        stem = self.folder / f"{time.time_ns():020d}"      # delivered in the order handed over
        _write_durably(stem.with_suffix(".page"), data)
        _write_durably(stem.with_suffix(".json"), json.dumps({"name": name, "seq": seq,
                                                              "provenance": provenance}).encode())
        self._wake.set()

    def close(self) -> None:
        _write_durably(self.folder / "closed", b"")
        self._wake.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the spool is delivered (True) or the time is up (False)."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def waiting(self) -> int:
        return len(list(self.folder.glob("*.page"))) if self.folder else 0

    def where(self) -> str:
        left = self.waiting()
        return f"{self.server}" + (f" ({left} page(s) in the local spool, {self.error})" if left else "")

    # the delivery thread ---------------------------------------------------------------------------------------
    def _deliver_all(self) -> None:
        """Deliver this session's spool in order until it is closed and empty; then any spool a crash left."""
        self._deliver(self.folder)
        for other in sorted(p for p in self.spool.iterdir() if p.is_dir() and p != self.folder):
            if (other / "closed").exists() and not self._stop.is_set():
                self._deliver(other)

    def _deliver(self, folder: Path) -> None:
        """Deliver one spool folder, unless another delivery thread of this process already does."""
        with _delivering_lock:
            if folder in _delivering:
                return
            _delivering.add(folder)
        try:
            self._deliver_folder(folder)
        finally:
            with _delivering_lock:
                _delivering.discard(folder)

    def _deliver_folder(self, folder: Path) -> None:
        stack_id = None
        while not self._stop.is_set():
            try:
                stack_id = stack_id or self._open_remote(folder)
                for meta in sorted(folder.glob("*.json")):
                    if meta.name != "stack.json":
                        self._send(stack_id, meta)
                if (folder / "closed").exists() and not list(folder.glob("*.page")):
                    self._post(f"/stacks/{stack_id}/close")
                    _remove(folder)
                    return
                self.error = None
                self._wake.wait(self.RETRY_S)
                self._wake.clear()
            except RemoteRefused as exc:     # waiting will not help: the pages stay in the spool for a person
                self.error = f"refused by the server: {exc}"
                log.error("server %s refused the pages in %s; they stay there: %s", self.server, folder, exc)
                return
            except _Unreachable as exc:
                self.error = str(exc)
                log.warning("server %s unreachable, %d page(s) wait in %s: %s", self.server,
                            len(list(folder.glob("*.page"))), folder, exc)
                self._stop.wait(self.RETRY_S)

    def _open_remote(self, folder: Path) -> int:
        spec = json.loads((folder / "stack.json").read_text())
        return self._post("/stacks", json={k: spec[k] for k in ("key", "case_no", "device", "volume")})["id"]

    def _send(self, stack_id: int, meta: Path) -> None:
        info = json.loads(meta.read_text())
        page = meta.with_suffix(".page")
        form = {} if info["seq"] is None else {"seq": str(info["seq"])}
        if info.get("provenance"):
            form["provenance"] = json.dumps(info["provenance"], ensure_ascii=False)
        with page.open("rb") as handle:
            self._post(f"/stacks/{stack_id}/files", data=form, files={"file": (info["name"], handle)})
        page.unlink()
        meta.unlink()

    def _post(self, path: str, **kwargs) -> dict:
        import httpx
        try:
            response = self.http.post(path, **kwargs)
        except httpx.TransportError as exc:
            raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise _Unreachable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise RemoteRefused(response.status_code, response.text)
        return response.json()


class _Unreachable(Exception):
    pass


class RemoteRefused(Exception):
    """The server refused a request for a reason that waiting will not change (a bad token, a closed stack)."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def session_key(device: str) -> str:
    """A scan session's own key: the device and when it started, unique on this machine."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in device)
    return f"{safe}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
