"""The in-process workers: claim jobs from the job table and run them in a pool of worker processes on this machine.

A runner is not a coordinator: it knows nothing of stacks or cases. It runs whatever job is due (assembly and
classification before inspection and OCR), and when a job's worker dies or the job runs out of time it either
queues it again or, its tries used up, calls the job's failure handler. A job's result is recorded by the job.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessExpired, ProcessPool

from ingest import forkserver
from ingest import jobs
from ingest.context import Context, init_worker, worker_context
from ingest.jobs import JOBS
from ingest.pipeline import Failure
from ingest.queue import QUEUES, TableQueue
from ingest.reconciler import Reconciler

log = logging.getLogger("edossier.runner")

HEARTBEAT_S = 2.0
SILENT_AFTER_S = 15.0       # a runner that has not beaten for this long is gone; its running jobs are queued again
IDLE_WAIT_S = 0.1


def execute(job: str, args: list) -> dict:
    """In a worker process of the pool: run one job."""
    return jobs.execute(worker_context(), job, args)


class Runner:
    """Runs due jobs of `queues` in `workers` processes until stopped (or, with burst, until none is left)."""

    def __init__(self, ctx: Context, queues: tuple[str, ...] = QUEUES, workers: int | None = None):
        if not isinstance(ctx.queue, TableQueue):
            raise TypeError("the in-process runner works on the in-process job table")
        self.ctx, self.table, self.queues = ctx, ctx.queue, queues
        self.size = workers or ctx.settings.queue.worker_count
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ProcessPool(max_workers=self.size, initializer=init_worker, initargs=(ctx.settings,),
                                context=forkserver.context())
        self.running: dict = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_beat = self.last_reclaim = 0.0
        self.reconciler = Reconciler(ctx)

    # lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "Runner":
        """Run in a thread of this process; the worker processes start there, while the command accepts files."""
        self.table.heartbeat(self.id, socket.gethostname(), os.getpid())
        self.thread = threading.Thread(target=self.loop, name="edossier-runner", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop claiming, stop the workers, hand back what was started and not finished."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.pool.stop()
        self.pool.join(timeout=10)
        self.table.retire(self.id)

    def run_burst(self) -> None:
        """Run until no job is due or running (here or anywhere), then return."""
        self.table.heartbeat(self.id, socket.gethostname(), os.getpid())
        idle_since = None
        while not self.stopping.is_set():
            busy = self.step()
            if busy or self.running or self.table.running() or self._due_soon():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 1.0:
                return
            if not busy:
                self.idle()

    def loop(self) -> None:
        self.pool.schedule(_warm)             # the pool starts its worker processes now
        while not self.stopping.is_set():
            try:
                busy = self.step()
            except Exception:  # the catalogue unreachable for a moment: keep going, say so
                log.exception("runner step failed; trying again")
                busy = False
                self.stopping.wait(1.0)
            if not busy:
                self.idle()

    def idle(self) -> None:
        """Wait a moment for a job to finish or a new one to come due."""
        if len(self.running) >= self.size:          # nothing could be claimed anyway: wait for a job to finish
            wait(list(self.running), timeout=HEARTBEAT_S / 2, return_when=FIRST_COMPLETED)
        elif self.running:
            wait(list(self.running), timeout=IDLE_WAIT_S, return_when=FIRST_COMPLETED)
        else:
            self.stopping.wait(IDLE_WAIT_S)

    def step(self) -> bool:
        now = time.monotonic()
        if now - self.last_beat > HEARTBEAT_S:
            self.table.heartbeat(self.id, socket.gethostname(), os.getpid())
            self.last_beat = now
        if now - self.last_reclaim > SILENT_AFTER_S / 3:
            self.reclaim()
            self.last_reclaim = now
        self.reconciler.tick()
        return self.collect() | self.fill()

    def _due_soon(self) -> bool:
        depths = self.table.depths()
        return any(depths.get(q) for q in self.queues)

    # claiming and collecting -------------------------------------------------------------------------------
    def fill(self) -> bool:
        claimed = False
        while len(self.running) < self.size and not self.stopping.is_set():
            job = self.table.claim(self.id, self.queues)
            if job is None:
                break
            timeout = JOBS[job["job"]].timeout(self.ctx.settings.queue)
            future = self.pool.schedule(execute, args=(job["job"], job["args"]), timeout=timeout)
            self.running[future] = job
            claimed = True
        return claimed

    def collect(self) -> bool:
        finished = [f for f in self.running if f.done()]
        for future in finished:
            job = self.running.pop(future)
            self.settle(job, _result(future))
        return bool(finished)

    def settle(self, job: dict, result: dict) -> None:
        if result.get("ok"):
            self.table.finish(job["id"])
            return
        failure = jobs.failure_of(result)
        pause = jobs.next_try(job["job"], failure, job["attempts"], self.ctx.settings.queue)
        if pause is not None:
            self.table.retry_later(job["id"], pause, failure.message, counted=jobs.counts(failure))
            return
        self.give_up(job, failure)

    def give_up(self, job: dict, failure: Failure) -> None:
        try:
            jobs.give_up(self.ctx, job["job"], job["args"], failure, job["attempts"])
        except Exception:  # the catalogue down: the job stays, to be settled later
            log.exception("could not record the failure of job %s %s; kept for later", job["job"], job["args"][:1])
            self.table.retry_later(job["id"], 5.0, failure.message)
            return
        self.table.finish(job["id"])

    def reclaim(self) -> None:
        """Jobs started by a runner that is gone (killed, its machine down) are run again or, tries used, failed."""
        for job in self.table.orphans(SILENT_AFTER_S):
            if job["owner"] == self.id:
                continue
            if job["attempts"] >= JOBS[job["job"]].tries(self.ctx.settings.queue):
                if self.table.take_over(job["id"], job["owner"], self.id):
                    self.give_up(job, Failure("died", "its worker stopped while running it (killed or crashed)"))
            elif self.table.requeue(job["id"], job["owner"]):
                log.warning("job %s %s was left running by %s; queued again", job["job"], job["args"][:1],
                            job["owner"])


def _warm() -> None:
    """Nothing: scheduling it makes the pool start its worker processes."""


def _result(future) -> dict:
    try:
        return future.result()
    except FutureTimeout:
        return {"ok": False, "kind": "timeout", "error": "stopped: took longer than its time limit "
                                                         "(queue.page_timeout_s / file_timeout_s)"}
    except ProcessExpired as exc:
        return {"ok": False, "kind": "died", "error": f"worker process died (exit code {exc.exitcode}): killed, "
                                                      f"out of memory or crashed"}
    except MemoryError:
        return {"ok": False, "kind": "memory", "error": "ran out of memory (worker memory limit)"}
    except Exception as exc:  # pebble could not run the job at all (it could not be sent to the worker)
        return {"ok": False, "kind": "error", "error": f"internal error: {type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc))}


def local_runner(ctx: Context, queues: tuple[str, ...] = QUEUES, workers: int | None = None) -> Runner | None:
    """The runner a command starts beside itself when jobs run on this machine (the in-process default)."""
    return Runner(ctx, queues, workers) if isinstance(ctx.queue, TableQueue) else None
