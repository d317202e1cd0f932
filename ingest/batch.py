"""Batch submission for `backlog`, `import` and `quarantine retry`: accept files into stacks, then watch the
catalogue until the chain of jobs has settled them. Submitting never waits on a job; watching only reads."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dossier.export import CaseExport, copy_out
from ingest import pipeline
from ingest.discover import Stack

Progress = Callable[[str, int, int], None]     # (phase, done, total)
WATCH_EVERY_S = 0.5


@dataclass
class Submission:
    """What was handed to the pipeline: the stacks, and how the files offered were taken."""
    stack_ids: list[int] = field(default_factory=list)
    files_new: int = 0
    files_known: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)   # (path, the earlier file it repeats)
    baseline: dict = field(default_factory=dict)                       # page counts before this run


@dataclass
class RunReport:
    """What one run did; `cases` lists the dossiers written."""
    files_new: int = 0
    files_known: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    pages_done: int = 0
    pages_failed: int = 0
    pages_pending: int = 0
    unrouted_documents: int = 0
    review_documents: int = 0
    incidents: list[dict] = field(default_factory=list)
    cases: list[CaseExport] = field(default_factory=list)


def submit(ctx, found: list[Stack], *, kind: str, client: str, password: str | None = None) -> Submission:
    """Open (or find again) a stack per pile, accept its files in order, close it, and queue what is outstanding."""
    submission = Submission()
    stacks = [pipeline.open_stack(ctx, key=pile.key, kind=kind, client=client, case_no=pile.case_no,
                                  case_error=pile.case_error) for pile in found]
    submission.stack_ids = [stack.id for stack in stacks]
    submission.baseline = ctx.catalogue.stack_progress(submission.stack_ids)["pages"]
    for pile, stack in zip(found, stacks):
        for path in pile.files:
            accept_path(ctx, stack, path, client, password, submission)
        pipeline.close_stack(ctx, stack.id)
        pipeline.resume(ctx, stack.id, password)
    return submission


def accept_path(ctx, stack, path: Path, client: str, password: str | None, submission: Submission) -> None:
    size = path.stat().st_size
    limit = ctx.limits.max_file_bytes
    if size > limit:
        pipeline.refuse_unstored(ctx, stack, path, "too_large",
                                 f"file of {size / 2**20:.0f} MiB exceeds the {limit / 2**20:.0f} MiB limit")
        return
    with path.open("rb") as handle:
        accepted = pipeline.accept(ctx, stack, handle, name=path.name, source_path=str(path.resolve()),
                                   client=client, password=password)
    if accepted.duplicate_of is not None:
        submission.duplicates.append((str(path), accepted.duplicate_of.source_path))
    elif accepted.created:
        submission.files_new += 1
    else:
        submission.files_known += 1


def watch(ctx, stack_ids: list[int], progress: Progress | None = None) -> dict:
    """Read the catalogue until the stacks' work has settled (done, quarantined or stuck on an incident)."""
    progress = progress or (lambda phase, done, total: None)
    while True:
        state = ctx.catalogue.stack_progress(stack_ids)
        pages = state["pages"]
        progress("pages", pages["done"] + pages["failed"], sum(pages.values()))
        if state["settled"]:
            return state
        time.sleep(WATCH_EVERY_S if pages["pending"] else WATCH_EVERY_S / 5)   # the last steps take a second


def report(ctx, submission: Submission, out_root: Path | None) -> RunReport:
    """The run's result from the catalogue; dossiers of the cases touched are copied to OUT_ROOT/<case>."""
    ids = submission.stack_ids
    state = ctx.catalogue.stack_progress(ids)
    documents = ctx.catalogue.documents_of_stacks(ids)
    before = submission.baseline
    result = RunReport(
        files_new=submission.files_new, files_known=submission.files_known, duplicates=submission.duplicates,
        quarantined=ctx.catalogue.quarantine_items("open", ids),
        pages_done=state["pages"]["done"] - before.get("done", 0),
        pages_failed=state["pages"]["failed"] - before.get("failed", 0),
        pages_pending=state["pages"]["pending"] + state["pages"]["stuck"],
        unrouted_documents=sum(1 for d in documents if d["case_no"] is None),
        review_documents=sum(1 for d in documents if d["review"]),
        incidents=ctx.catalogue.incidents("open", ids, state["cases"]))
    if out_root is not None:
        result.cases = [copy_out(ctx, case_no, out_root / safe_folder_name(case_no)) for case_no in state["cases"]
                        if ctx.catalogue.case(case_no) is not None]
    return result


def safe_folder_name(case_no: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' else c for c in case_no)
