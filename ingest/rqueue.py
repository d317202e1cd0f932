"""The distributed queue: the same jobs on rq and Redis, run by `edossier worker` on any machine.

Both sides live here, and rq and redis are imported nowhere else:
- `RedisQueue`, the enqueue side every command and the HTTP service use: one rq queue per kind of work, a job
  waiting under a key absorbs a second request for the same key (and runs at the earlier of the two times);
- `run_job`, what rq runs: the job of `ingest.jobs`, through the same `execute` and retry rules as the in-process
  runner, with its tries counted in the job's meta;
- `PipelineWorker`, rq's worker running jobs in its own process (no fork per job: a worker's OCR engine stays
  loaded), saying it is alive every `queue.heartbeat_s` while a job runs, so a killed or frozen worker's job is
  abandoned within `queue.presumed_dead_s` and run again by whichever worker next does maintenance;
- `work`, the `edossier worker` process: N such workers, restarted when they die, and the reconciler.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

import redis
from rq import Callback, Queue, SimpleWorker, get_current_job
from rq.exceptions import AbandonedJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.timeouts import BaseDeathPenalty, UnixSignalDeathPenalty

from config.errors import MissingDependency, QueueUnavailable
from config.settings import QueueSettings, Settings
from ingest import jobs, pipeline
from ingest.jobs import JOBS
from ingest.pipeline import Failure
from ingest.queue import QUEUES

log = logging.getLogger("edossier.rq")

PREFIX = "edossier"
FAILED_KEPT_S = 7 * 24 * 3600          # rq's record of a job that raised (a defect of ours), for an engineer
RECORD_LATER_S = 5.0                   # a failure that could not be recorded (the catalogue down) is tried again
STUCK_GRACE_S = 10                     # past its time limit, a job is stuck in native code: its process ends

# A key is "waiting" while its job is queued or scheduled, "running" while a worker has it.
_STARTED = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
redis.call('set', KEYS[2], ARGV[1], 'EX', ARGV[2])
"""
_FINISHED = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def queue_name(kind: str) -> str:
    return f"{PREFIX}-{kind}"


def connect(url: str) -> redis.Redis:
    """Short timeouts, so a Redis that went away is noticed in seconds, and commands retried over a reconnect."""
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=15,
                                retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
                                retry_on_error=[redis.ConnectionError, redis.TimeoutError])


class RedisQueue:
    """Jobs on rq queues in Redis, one per kind of work; any machine's `edossier worker` runs them."""

    def __init__(self, settings: QueueSettings):
        self.settings = settings
        self.redis = connect(settings.url)
        self.queues = {kind: Queue(queue_name(kind), connection=self.redis) for kind in QUEUES}
        self._started = self.redis.register_script(_STARTED)
        self._finished = self.redis.register_script(_FINISHED)
        try:
            self.redis.ping()
        except redis.RedisError as exc:
            raise MissingDependency(f"the queue's Redis at {settings.url} cannot be reached ({exc}); start it "
                                    "(Debian: apt install redis-server) or point EDOSSIER_QUEUE / queue.url at it"
                                    ) from exc

    # the JobQueue interface ----------------------------------------------------------------------------------
    def enqueue(self, job: str, *args: object, key: str | None = None, delay: float = 0.0) -> None:
        try:
            self.submit(job, list(args), key=key, delay=delay, attempts=0)
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the queue's Redis cannot be reached: {exc}") from exc

    def enqueue_missing(self, job: str, *args: object, key: str) -> bool:
        try:
            if self.redis.exists(_waiting(key), _running(key)):
                return False
            self.submit(job, list(args), key=key, delay=0.0, attempts=0)
        except redis.RedisError as exc:
            raise QueueUnavailable(f"the queue's Redis cannot be reached: {exc}") from exc
        return True

    def forgot(self) -> bool:
        """The marker is set once in a Redis's life: a Redis started afresh (no persistence) has none."""
        return bool(self.redis.set(f"{PREFIX}:epoch", str(time.time()), nx=True))

    def depths(self) -> dict[str, int]:
        with self.redis.pipeline() as pipe:
            for kind in QUEUES:
                pipe.llen(self.queues[kind].key)
                pipe.zcard(ScheduledJobRegistry(queue=self.queues[kind]).key)
            counts = pipe.execute()
        return {kind: counts[2 * i] + counts[2 * i + 1] for i, kind in enumerate(QUEUES)}

    def workers_alive(self) -> int:
        """rq's registered workers whose own record has not expired (a dead worker's lapses within worker_ttl)."""
        names = set()
        for queue in self.queues.values():
            names |= {w.name for w in SimpleWorker.all(queue=queue)}
        return len(names)

    def close(self) -> None:
        self.redis.close()

    # used by workers ---------------------------------------------------------------------------------------
    def submit(self, job: str, args: list, *, key: str | None, delay: float, attempts: int) -> None:
        spec = JOBS[job]           # an unknown job name fails here, in the process that asked for it
        if key is not None and self._absorbed(key, delay):
            return
        job_id = uuid.uuid4().hex
        queue = self.queues[spec.queue]
        if key is not None:
            self.redis.set(_waiting(key), job_id)
        options = dict(job_id=job_id, meta={"job": job, "key": key, "attempts": attempts},
                       job_timeout=int(spec.timeout(self.settings)) + 1, result_ttl=0, failure_ttl=FAILED_KEPT_S,
                       on_failure=Callback(job_failed), description=f"{job} {args[:1]}")
        if delay > 0:
            queue.enqueue_at(datetime.fromtimestamp(time.time() + delay, tz=timezone.utc), run_job, job, args,
                             **options)
        else:
            queue.enqueue(run_job, job, args, **options)

    def _absorbed(self, key: str, delay: float) -> bool:
        """A job waiting under `key` takes this request: it reads the newest state when it runs. Scheduled for
        later, it is brought forward to the earlier time. A race makes two jobs at worst, never none."""
        waiting = self.redis.get(_waiting(key))
        if waiting is None:
            return False
        try:
            found = Job.fetch(waiting.decode(), connection=self.redis)
        except NoSuchJobError:
            return False
        status = found.get_status(refresh=False)
        if status == JobStatus.QUEUED:
            return True
        if status == JobStatus.SCHEDULED:
            self._bring_forward(found, delay)
            return True
        return False

    def _bring_forward(self, job: Job, delay: float) -> None:
        """A scheduled job asked for sooner. Wanted now, it goes on its queue at once — rq's scheduler moves due
        jobs only once a second, and a dossier waiting on its last classification should not — unless the scheduler
        is about to move it anyway (then taking it from the registry could put it on the queue twice)."""
        queue = self.queues[JOBS[job.meta["job"]].queue]
        registry = ScheduledJobRegistry(queue=queue)
        wanted = time.time() + delay
        if delay <= 0:
            due = self.redis.zscore(registry.key, job.id)
            if due is not None and due > wanted + 1 and self.redis.zrem(registry.key, job.id):
                queue.enqueue_job(job)
                return
        self.redis.zadd(registry.key, {job.id: int(wanted)}, xx=True, lt=True)

    def started(self, key: str, job_id: str, seconds: float) -> None:
        self._started(keys=[_waiting(key), _running(key)], args=[job_id, int(seconds) + 60])

    def finished(self, key: str, job_id: str) -> None:
        self._finished(keys=[_running(key)], args=[job_id])

    def busy(self, kinds: tuple[str, ...] = QUEUES) -> bool:
        """Anything queued, scheduled or running on these queues, anywhere."""
        with self.redis.pipeline() as pipe:
            for kind in kinds:
                queue = self.queues[kind]
                pipe.llen(queue.key)
                pipe.zcard(ScheduledJobRegistry(queue=queue).key)
                pipe.zcard(StartedJobRegistry(queue=queue).key)
            return any(pipe.execute())


def _waiting(key: str) -> str:
    return f"{PREFIX}:waiting:{key}"


def _running(key: str) -> str:
    return f"{PREFIX}:running:{key}"


# what rq runs ------------------------------------------------------------------------------------------------
def run_job(job: str, args: list) -> None:
    """One job of the pipeline, in a worker. Its outcome is recorded by the job itself; a failed try is tried again
    or handed to the job's failure handler here, by the same rules as everywhere (`ingest.jobs.next_try`)."""
    from ingest.context import worker_context
    ctx = worker_context()
    current = get_current_job()
    key, attempts = current.meta.get("key"), current.meta.get("attempts", 0) + 1
    if key is not None:
        ctx.queue.started(key, current.id, JOBS[job].timeout(ctx.settings.queue))
    try:
        try:
            result = jobs.execute(ctx, job, args)
        except OutOfTime as exc:
            result = {"ok": False, "kind": "timeout", "error": str(exc)}
        if not result["ok"]:
            after_failure(ctx, job, args, key, attempts, jobs.failure_of(result))
    finally:
        if key is not None:
            ctx.queue.finished(key, current.id)


def job_failed(job: Job, connection, kind, value, traceback) -> None:
    """rq's failure callback: the job's worker died or froze (abandoned), or `run_job` itself raised."""
    from ingest.context import worker_context
    if job.meta.get("out_of_time"):
        failure = Failure("timeout", f"stopped: took longer than its time limit of {job.timeout} s "
                                     "(queue.page_timeout_s / file_timeout_s / assemble_timeout_s)")
    elif kind is AbandonedJobError or isinstance(value, AbandonedJobError):
        failure = Failure("died", "its worker stopped while running it (killed, crashed or its machine gone)")
    else:
        failure = Failure("error", f"internal error: {kind.__name__}: {value}")
    name, args = job.meta["job"], job.args[1]
    log.warning("job %s %s %s", name, args[:1], failure.message)
    after_failure(worker_context(), name, args, job.meta.get("key"), job.meta.get("attempts", 0) + 1, failure)


def after_failure(ctx, job: str, args: list, key: str | None, attempts: int, failure: Failure) -> None:
    pause = jobs.next_try(job, failure, attempts, ctx.settings.queue)
    if pause is not None:
        ctx.queue.submit(job, args, key=key, delay=pause, attempts=attempts if jobs.counts(failure) else attempts - 1)
        return
    try:
        jobs.give_up(ctx, job, args, failure, attempts)
    except Exception:  # the catalogue down: the outcome is recorded when it is back
        log.exception("could not record the failure of job %s %s; kept for later", job, args[:1])
        ctx.queue.submit(job, args, key=key, delay=RECORD_LATER_S, attempts=attempts - 1)


# the worker ----------------------------------------------------------------------------------------------------
class OutOfTime(BaseException):
    """Raised by rq's alarm in a job past its time limit: not an Exception, so no handler inside the job that
    catches errors to carry on can swallow it; `run_job` reports it as the job's timeout."""


class TimeLimit(UnixSignalDeathPenalty):
    def handle_death_penalty(self, signum, frame):
        raise OutOfTime(f"stopped: took longer than its time limit of {self._timeout} s "
                        "(queue.page_timeout_s / file_timeout_s / assemble_timeout_s)")


class PipelineWorker(SimpleWorker):
    """rq's worker running each job in its own process, beating while it works (see the module's docstring)."""
    death_penalty_class: type[BaseDeathPenalty] = TimeLimit
    presumed_dead_s = 20

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.presumed_dead_s

    def execute_job(self, job: Job, queue: Queue):
        beating = threading.Event()
        beat = threading.Thread(target=self._beat, args=(job, beating), name="edossier-heartbeat", daemon=True)
        beat.start()
        try:
            return super().execute_job(job, queue)
        finally:
            beating.set()
            beat.join(timeout=5)

    def _beat(self, job: Job, done: threading.Event) -> None:
        """Say this worker is alive while the job runs. A job still running STUCK_GRACE_S after its time limit is
        inside native code rq's alarm cannot interrupt: the process ends, noting why, and the job is tried again
        (or, its tries used, quarantined as out of time) by another worker."""
        started = time.monotonic()
        while not done.wait(self.job_monitoring_interval):
            execution = self.execution
            if execution is None:
                continue
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError:
                log.warning("heartbeat of job %s could not reach Redis", job.id)
            if job.timeout and time.monotonic() - started > job.timeout + STUCK_GRACE_S:
                log.critical("job %s %s still running %d s after its time limit of %d s; this worker process "
                             "stops so the job is settled elsewhere", job.meta.get("job"), job.args[1][:1],
                             int(time.monotonic() - started - job.timeout), job.timeout)
                job.meta["out_of_time"] = True
                job.save_meta()
                os._exit(70)


def run_worker(settings: Settings, kinds: tuple[str, ...], burst: bool) -> None:
    """One worker process: its own context (OCR engine, catalogue, blobs), then rq's loop until stopped. In burst
    mode it returns once nothing is queued, scheduled or running on its queues anywhere."""
    from ingest.context import init_worker, worker_context
    init_worker(settings)
    queue = worker_context().queue
    queues = [queue.queues[kind] for kind in kinds]
    while True:
        worker = _worker(settings.queue, queue.redis, queues)
        worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
        if not burst or not queue.busy(kinds):
            return
        time.sleep(0.5)


def _worker(settings: QueueSettings, connection: redis.Redis, queues: list[Queue]) -> PipelineWorker:
    worker = PipelineWorker(queues, connection=connection,
                            name=f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}",
                            job_monitoring_interval=settings.heartbeat_s, maintenance_interval=settings.maintenance_s,
                            worker_ttl=max(30, settings.presumed_dead_s))
    worker.presumed_dead_s = settings.presumed_dead_s
    return worker


# `edossier worker` ---------------------------------------------------------------------------------------------
RESTART_PAUSE_S = 1.0
STOP_WAIT_S = 30.0


def work(ctx, kinds: tuple[str, ...], processes: int, burst: bool) -> None:
    """Run `processes` workers on `kinds`, start another when one dies, and reconcile the queue with the
    catalogue meanwhile. SIGTERM or Ctrl-C: each worker finishes its job, then stops (a second one: at once).
    With `burst`, the catalogue's unfinished work is queued first and the command returns when none is left."""
    from ingest import forkserver
    from ingest.reconciler import Reconciler
    mp = forkserver.context()
    reconciler = Reconciler(ctx)
    if burst:
        pipeline.reconcile(ctx)

    def start():
        child = mp.Process(target=run_worker, args=(ctx.settings, kinds, burst), name="edossier-worker")
        child.start()
        return child, time.monotonic()

    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    children = [start() for _ in range(processes)]
    try:
        while children and not stopping.is_set():
            reconciler.tick()
            children = [_replace_if_ended(child, since, burst, start) for child, since in children]
            children = [c for c in children if c is not None]
            stopping.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(child for child, _ in children)


def _replace_if_ended(child, since: float, burst: bool, start):
    if child.is_alive():
        return child, since
    if burst and child.exitcode == 0:
        return None
    log.warning("worker process %s ended (exit code %s); starting another", child.pid, child.exitcode)
    if time.monotonic() - since < 5:           # dying at once (Redis down?): do not spin
        time.sleep(5)
    time.sleep(RESTART_PAUSE_S)
    return start()


def _stop(children) -> None:
    children = list(children)
    for child in children:
        if child.is_alive():
            os.kill(child.pid, signal.SIGTERM)          # rq's warm shutdown: the job in hand is finished first
    deadline = time.monotonic() + STOP_WAIT_S
    for child in children:
        child.join(timeout=max(0.1, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()                                # its job is abandoned and run again by another worker
            child.join(timeout=5)
