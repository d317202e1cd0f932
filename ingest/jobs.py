"""The jobs of the pipeline, in one explicit table: what runs, on which queue, within what time, how often it is
tried when its worker dies or it runs out of time, and who is told when it finally fails. Every queue backend runs
jobs through `execute` and decides what happens after a failed try with `next_try`: the same rules everywhere."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from config.errors import TimedOut
from config.settings import QueueSettings
from ingest import pipeline
from ingest.pipeline import Failure

log = logging.getLogger("edossier.jobs")


@dataclass(frozen=True)
class JobSpec:
    run: Callable                                  # run(ctx, *args)
    queue: str
    on_failure: Callable                           # on_failure(ctx, Failure, *args), once the tries are used up
    timeout: Callable[[QueueSettings], float]
    tries: Callable[[QueueSettings], int]          # attempts when the worker dies or the job times out


JOBS: dict[str, JobSpec] = {
    "inspect": JobSpec(pipeline.inspect, "inspect", pipeline.inspect_failed,
                       lambda q: q.file_timeout_s, lambda q: q.page_tries),
    "page": JobSpec(pipeline.page, "ocr", pipeline.page_failed,
                    lambda q: q.page_timeout_s, lambda q: q.page_tries),
    "classify": JobSpec(pipeline.classify, "classify", pipeline.classify_failed,
                        lambda q: q.file_timeout_s, lambda q: q.page_tries),
    "assemble": JobSpec(pipeline.assemble, "assemble", pipeline.assemble_failed,
                        lambda q: q.assemble_timeout_s, lambda q: q.page_tries),
}

UNAVAILABLE_PAUSE_S = 5.0      # catalogued bytes not readable now are looked for again this soon: while their
                               # store is unreachable, as long as it takes (such a try does not count);
MISSING_TRIES = 6              # when the store answers it has no such blob (still in another machine's spool?),
                               # for this many tries; then it is an incident for an engineer, the work left pending


def execute(ctx, job: str, args: list) -> dict:
    """Run one job in this worker process. A defect is logged with its traceback and reported, never swallowed."""
    from storage.blobs import BlobNotFound, BlobUnavailable
    from storage.catalogue import unreachable as catalogue_unreachable
    try:
        JOBS[job].run(ctx, *args)
        return {"ok": True}
    except MemoryError:
        return {"ok": False, "kind": "memory", "error": "ran out of memory (worker memory limit)"}
    except TimedOut as exc:
        return {"ok": False, "kind": "timeout", "error": exc.reason}
    except BlobUnavailable as exc:          # the store unreachable: never the file's fault
        return {"ok": False, "kind": "unavailable", "error": f"stored bytes not reachable now: {exc}"}
    except BlobNotFound as exc:             # catalogued bytes the store does not have (yet): never the file's fault
        log.exception("job %s %s: a catalogued blob is not in the blob store", job, args[:1])
        return {"ok": False, "kind": "missing", "error": f"internal error: BlobNotFound: {exc} (catalogued, "
                "not in the blob store)", "traceback": traceback.format_exc()}
    except Exception as exc:  # a defect in our code or a server down: reported as such, the work left pending
        if catalogue_unreachable(exc):      # an outage delays the work, as long as it lasts; never a failure
            log.warning("job %s %s: the catalogue is not reachable now (%s); tried again shortly", job, args[:1],
                        type(exc).__name__)
            return {"ok": False, "kind": "unavailable", "error": f"catalogue not reachable now: {exc}"}
        log.exception("internal error in job %s %s", job, args[:1])
        return {"ok": False, "kind": "error", "error": f"internal error: {type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}


def failure_of(result: dict) -> Failure:
    return Failure(result["kind"], result["error"], result.get("traceback"))


def next_try(job: str, failure: Failure, attempts: int, settings: QueueSettings) -> float | None:
    """After `attempts` tries ended in `failure`: the pause before the next try, or None when the job has had its
    tries and its failure handler must be told. An internal error is tried `error_tries` times with a growing pause;
    a death or a timeout (the input may be to blame) `tries` times at once; catalogued bytes the blob store cannot
    give now every few seconds — as long as it is unreachable (see `counts`), half a minute while it says it has
    none."""
    if failure.kind == "unavailable":
        return UNAVAILABLE_PAUSE_S
    if failure.kind == "missing":
        return UNAVAILABLE_PAUSE_S if attempts < MISSING_TRIES else None
    tries = settings.error_tries if failure.kind == "error" else JOBS[job].tries(settings)
    if attempts >= tries:
        return None
    log.warning("job %s: %s; try %d of %d next", job, failure.message, attempts + 1, tries)
    return 2.0 ** attempts if failure.kind == "error" else 0.0


def counts(failure: Failure) -> bool:
    """Whether the try that ended in `failure` uses up one of the job's tries: not when the blob store was
    unreachable — an outage delays work, it is never held against the work."""
    return failure.kind != "unavailable"


def give_up(ctx, job: str, args: list, failure: Failure, attempts: int) -> None:
    """The job's tries are used: its failure handler records the outcome (quarantine, or an incident). Bytes that
    never became readable are a matter for an engineer (an incident), never the file's fault."""
    kind = "error" if failure.kind == "missing" else failure.kind
    JOBS[job].on_failure(ctx, Failure(kind, f"{failure.message} (tried {attempts} times)", failure.traceback),
                         *args)
