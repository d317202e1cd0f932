"""Job queues: one small interface; the in-process default runs jobs in a pool of worker processes on this machine."""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Protocol

from pebble import ProcessExpired, ProcessPool

from config.settings import Settings
from ingest.context import init_worker


@dataclass(frozen=True)
class Outcome:
    """How one job ended: `value` is the job's return value, or `error` says why there is none."""
    job: str
    args: tuple
    value: dict | None = None
    error: str | None = None
    timed_out: bool = False
    died: bool = False           # the worker process ended under the job (killed, crashed, out of memory)


class JobQueue(Protocol):
    def enqueue(self, job: str, *args: object, timeout: float) -> None: ...
    def results(self) -> Iterator[Outcome]: ...
    def close(self) -> None: ...


def resolve(job: str):
    """A job named like 'ingest.jobs.process_page' → the function (jobs are looked up in an explicit table)."""
    if job not in JOBS:
        raise KeyError(f"unknown job {job!r}")
    module, _, name = job.rpartition(".")
    return getattr(importlib.import_module(module), name)


JOBS = frozenset({"ingest.jobs.inspect_received", "ingest.jobs.process_page"})


class InProcessQueue:
    """Jobs run in `workers` processes; a job over its time limit has its process killed and is reported."""

    def __init__(self, settings: Settings):
        self.pool = ProcessPool(max_workers=settings.queue.worker_count, initializer=init_worker,
                                initargs=(settings,))
        self.pending: dict = {}

    def enqueue(self, job: str, *args: object, timeout: float) -> None:
        future = self.pool.schedule(resolve(job), args=args, timeout=timeout)
        self.pending[future] = (job, args)

    def results(self) -> Iterator[Outcome]:
        while self.pending:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                job, args = self.pending.pop(future)
                yield _outcome(job, args, future)

    def close(self) -> None:
        self.pool.stop()
        self.pool.join(timeout=10)


def _outcome(job: str, args: tuple, future) -> Outcome:
    try:
        return Outcome(job, args, value=future.result())
    except FutureTimeout:
        return Outcome(job, args, error="stopped: took longer than its time limit", timed_out=True)
    except ProcessExpired as exc:
        return Outcome(job, args, error=f"worker process died (exit code {exc.exitcode}): killed, out of memory "
                                        f"or crashed", died=True)
    except MemoryError:
        return Outcome(job, args, error="ran out of memory (worker memory limit)")
    except Exception as exc:  # a defect in a job must not stop the batch; it is reported with the page
        return Outcome(job, args, error=f"internal error: {type(exc).__name__}: {exc}")


BACKENDS = {"inprocess": InProcessQueue}


def open_queue(settings: Settings) -> JobQueue:
    return BACKENDS[settings.queue.backend](settings)
