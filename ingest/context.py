"""What a command or a worker process needs to work: settings, the storage adapters and the queue they name."""
from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass

from config.settings import Settings
from ingest import logs
from ingest.inspect import Limits
from ingest.queue import JobQueue, open_queue
from storage.blobs import BlobStore, open_blob_store
from storage.catalogue import Catalogue, open_catalogue


@dataclass(frozen=True)
class Context:
    settings: Settings
    blobs: BlobStore
    catalogue: Catalogue
    queue: JobQueue

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings.limits)


def build_context(settings: Settings) -> Context:
    settings.home.mkdir(parents=True, exist_ok=True)
    catalogue = open_catalogue(settings)
    return Context(settings, open_blob_store(settings), catalogue, open_queue(settings, catalogue))


_worker: Context | None = None


def init_worker(settings: Settings) -> None:
    """Run once in each worker process: one OCR thread, a memory ceiling, its own storage connections."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is for the command; it stops its workers itself
    os.environ["OMP_THREAD_LIMIT"] = str(settings.ocr.omp_thread_limit)
    ceiling = settings.queue.worker_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    logs.configure(settings.home)
    from ingest.checks import use_configured_fonts
    use_configured_fonts(settings)
    _worker = build_context(settings)


def worker_context() -> Context:
    if _worker is None:
        raise RuntimeError("worker context used before init_worker()")
    return _worker
