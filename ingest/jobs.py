"""The jobs of the pipeline, in one explicit table: what runs, on which queue, within what time, how often it is
tried when its worker dies or it runs out of time, and who is told when it finally fails."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from config.settings import QueueSettings
from ingest import pipeline


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
