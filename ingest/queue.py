"""Job queues: one small, enqueue-only interface. The in-process default keeps its jobs in a table of the catalogue
database, where `ingest.runner` claims and runs them; a job's outcome is recorded by the job itself, in the catalogue."""
from __future__ import annotations

import json
import time
from typing import Protocol

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, case, delete, func, insert
from sqlalchemy import select, update

from config.settings import Settings
from storage.catalogue import Catalogue, metadata

# One queue per kind of work, so OCR never starves assembly; in-process runners claim in this order.
QUEUES = ("assemble", "classify", "inspect", "ocr")
LEASE_BACKSTOP_S = 6 * 3600      # a running job whose runner still beats is taken back after this long anyway


class JobQueue(Protocol):
    def enqueue(self, job: str, *args: object, key: str | None = None, delay: float = 0.0) -> None:
        """Queue `job` (a name in ingest.jobs.JOBS). With `key`, a job with that key still waiting to start takes
        these arguments instead of a second job being added (it sees the newest state when it runs) and runs at
        the earlier of the two times. `delay` holds the job back that many seconds."""

    def enqueue_missing(self, job: str, *args: object, key: str) -> bool:
        """Queue `job` unless a job with `key` is waiting or running; answers whether it queued one. The
        reconciler's way of putting back what a queue lost, without doubling what it still holds."""

    def forgot(self) -> bool:
        """True, once, when the queue has lost its contents since anyone last looked (a server restarted without
        persistence): the catalogue's unfinished work must be queued again."""

    def depths(self) -> dict[str, int]:
        """Jobs waiting, per queue."""

    def workers_alive(self) -> int:
        """Workers, on any machine, that have said lately that they are alive."""

    def close(self) -> None: ...


jobs_table = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(32), nullable=False),
    Column("queue", String(16), nullable=False),
    Column("args", Text, nullable=False),                  # JSON list
    Column("key", Text),
    Column("state", String(8), nullable=False),            # queued | running
    Column("attempts", Integer, nullable=False),
    Column("not_before", Float, nullable=False),
    Column("owner", Text),
    Column("started_at", Float),
    Column("lease_until", Float),
    Column("last_error", Text),
    Column("enqueued_at", Float, nullable=False),
)
Index("ix_jobs_claim", jobs_table.c.state, jobs_table.c.not_before)
Index("ix_jobs_key", jobs_table.c.key, jobs_table.c.state)

runners_table = Table(
    "runners", metadata,
    Column("id", String(40), primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)


class TableQueue:
    """Jobs as rows of the catalogue database: any process on this machine may add them, runners claim them."""

    def __init__(self, catalogue: Catalogue):
        self.engine, self.writer = catalogue.engine, catalogue.writer     # its tables come with the catalogue

    def enqueue(self, job: str, *args: object, key: str | None = None, delay: float = 0.0) -> None:
        from ingest.jobs import JOBS
        spec = JOBS[job]           # an unknown job name fails here, in the process that asked for it
        now = time.time()
        values = {"job": job, "queue": spec.queue, "args": json.dumps(list(args)), "key": key, "state": "queued",
                  "attempts": 0, "not_before": now + delay, "enqueued_at": now}
        with self.writer.begin() as conn:
            if key is not None and conn.execute(update(jobs_table).where(
                    (jobs_table.c.key == key) & (jobs_table.c.state == "queued")).values(
                    args=values["args"], not_before=case((jobs_table.c.not_before < values["not_before"],
                                                 jobs_table.c.not_before), else_=values["not_before"]))
                    ).rowcount:
                return
            conn.execute(insert(jobs_table).values(**values))

    def enqueue_missing(self, job: str, *args: object, key: str) -> bool:
        with self.engine.connect() as conn:
            if conn.execute(select(jobs_table.c.id).where(jobs_table.c.key == key).limit(1)).first() is not None:
                return False
        self.enqueue(job, *args, key=key)
        return True

    def forgot(self) -> bool:
        return False            # the jobs live in the catalogue's own database: lost only with it

    def depths(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = dict(conn.execute(select(jobs_table.c.queue, func.count()).where(jobs_table.c.state == "queued")
                                     .group_by(jobs_table.c.queue)).all())
        return {q: rows.get(q, 0) for q in QUEUES}

    def workers_alive(self) -> int:
        from ingest.runner import SILENT_AFTER_S
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(runners_table).where(
                runners_table.c.heartbeat_at >= time.time() - SILENT_AFTER_S)).scalar_one()

    def close(self) -> None:
        pass

    # the runner's side ---------------------------------------------------------------------------------------
    def claim(self, owner: str, queues: tuple[str, ...] = QUEUES) -> dict | None:
        """The next job due, marked running under `owner`, or None."""
        priority = case({q: i for i, q in enumerate(QUEUES)}, value=jobs_table.c.queue, else_=len(QUEUES))
        now = time.time()
        with self.writer.begin() as conn:
            for row in conn.execute(select(jobs_table).where(
                    (jobs_table.c.state == "queued") & (jobs_table.c.not_before <= now)
                    & jobs_table.c.queue.in_(queues)).order_by(priority, jobs_table.c.id).limit(8)).mappings():
                taken = conn.execute(update(jobs_table).where(
                    (jobs_table.c.id == row["id"]) & (jobs_table.c.state == "queued")).values(
                    state="running", owner=owner, started_at=now, attempts=jobs_table.c.attempts + 1,
                    lease_until=now + LEASE_BACKSTOP_S))
                if taken.rowcount:
                    return {**row, "args": json.loads(row["args"]), "attempts": row["attempts"] + 1}
        return None

    def finish(self, job_id: int) -> None:
        with self.writer.begin() as conn:
            conn.execute(delete(jobs_table).where(jobs_table.c.id == job_id))

    def retry_later(self, job_id: int, delay: float, error: str, counted: bool = True) -> None:
        """Due again after `delay`; a try that did not count (its blob store unreachable) is given back."""
        attempts = jobs_table.c.attempts if counted else jobs_table.c.attempts - 1
        with self.writer.begin() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(
                state="queued", owner=None, not_before=time.time() + delay, last_error=error, attempts=attempts))

    def heartbeat(self, owner: str, host: str, pid: int) -> None:
        now = time.time()
        with self.writer.begin() as conn:
            if conn.execute(update(runners_table).where(runners_table.c.id == owner)
                            .values(heartbeat_at=now)).rowcount == 0:
                conn.execute(insert(runners_table).values(id=owner, host=host, pid=pid, heartbeat_at=now))

    def retire(self, owner: str) -> None:
        """A runner stopping cleanly hands back the jobs it had started (they were not finished)."""
        with self.writer.begin() as conn:
            conn.execute(update(jobs_table).where((jobs_table.c.owner == owner) & (jobs_table.c.state == "running"))
                         .values(state="queued", owner=None, attempts=jobs_table.c.attempts - 1))
            conn.execute(delete(runners_table).where(runners_table.c.id == owner))

    def orphans(self, silent_after: float) -> list[dict]:
        """Running jobs whose runner stopped beating (killed, crashed, its machine gone) or outlived their lease."""
        now = time.time()
        alive = select(runners_table.c.id).where(runners_table.c.heartbeat_at >= now - silent_after)
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs_table).where((jobs_table.c.state == "running") & (
                jobs_table.c.owner.not_in(alive) | (jobs_table.c.lease_until < now)))).mappings()
            return [{**r, "args": json.loads(r["args"])} for r in rows]

    def requeue(self, job_id: int, owner: str | None) -> bool:
        with self.writer.begin() as conn:
            return bool(conn.execute(update(jobs_table).where((jobs_table.c.id == job_id)
                                                              & (jobs_table.c.owner == owner)
                                                              & (jobs_table.c.state == "running"))
                                     .values(state="queued", owner=None)).rowcount)

    def take_over(self, job_id: int, owner: str | None, new_owner: str) -> bool:
        with self.writer.begin() as conn:
            return bool(conn.execute(update(jobs_table).where((jobs_table.c.id == job_id)
                                                              & (jobs_table.c.owner == owner)
                                                              & (jobs_table.c.state == "running"))
                                     .values(owner=new_owner)).rowcount)

    def running(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(jobs_table)
                                .where(jobs_table.c.state == "running")).scalar_one()


def _redis_queue(settings: Settings, catalogue: Catalogue) -> JobQueue:
    from ingest.rqueue import RedisQueue
    return RedisQueue(settings.queue)


BACKENDS = {"inprocess": lambda settings, catalogue: TableQueue(catalogue), "redis": _redis_queue}


def open_queue(settings: Settings, catalogue: Catalogue) -> JobQueue:
    return BACKENDS[settings.queue.backend](settings, catalogue)
