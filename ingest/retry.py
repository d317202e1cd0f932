"""Retry a quarantined file or page: put it back where the chain of jobs picks it up, re-routed if asked."""
from __future__ import annotations

from pathlib import Path

from classify.identifiers import parse_case_number
from ingest import pipeline
from ingest.batch import Submission, accept_path
from config.errors import EdossierError, ExitCode, NotFound


class RetryRefused(EdossierError):
    exit_code = ExitCode.usage


def retry_item(ctx, item_id: int, *, password: str | None = None, case_no: str | None = None,
               client: str = "cli") -> Submission:
    """Queue the item again; with `case_no` the file is re-routed to that case. Returns what to watch."""
    item = ctx.catalogue.quarantine_item(item_id)
    if item is None:
        raise NotFound(f"no quarantine item {item_id}")
    case_no = _normalised(case_no)
    submission = Submission(stack_ids=[item["stack_id"]],
                            baseline=ctx.catalogue.stack_progress([item["stack_id"]])["pages"])
    if item["entry_id"] is None:
        _retry_unstored(ctx, item, password, client, submission)
    else:
        _retry_entry(ctx, item, password, case_no)
    ctx.catalogue.set_quarantine_status(item_id, "retried", f"retried{' as ' + case_no if case_no else ''}")
    return submission


def _retry_entry(ctx, item: dict, password: str | None, case_no: str | None) -> None:
    entry = ctx.catalogue.entry(item["entry_id"])
    stack = ctx.catalogue.stack(entry.stack_id)
    target = case_no or entry.case_no or stack.case_no
    if item["error_code"] == "unknown_case" and target is None:
        raise RetryRefused(f"{entry.name}: its case is unknown; retry it with --case CASE_NO")
    if case_no and case_no != entry.case_no:
        ctx.catalogue.set_entry(entry.id, case_no=case_no)
    if item["page_index"] is not None:
        for page_id in ctx.catalogue.reset_failed_pages(entry.id):
            ctx.queue.enqueue("page", page_id, key=f"page:{page_id}")
    elif entry.status == "quarantined":
        pipeline.reroute(ctx, entry, target, password)
    ctx.catalogue.bump_stack(stack.id)
    pipeline.resume(ctx, stack.id, password)


def _retry_unstored(ctx, item: dict, password: str | None, client: str, submission: Submission) -> None:
    """A file refused before it was stored (too large): read it again from where it was."""
    path = Path(item["source_path"])
    if not path.exists():
        raise NotFound(f"{path} is no longer there; put the file back or import it again")
    ctx.catalogue.set_quarantine_status(item["id"], "retried")
    stack = ctx.catalogue.stack(item["stack_id"])
    accept_path(ctx, stack, path, client, password, submission)
    pipeline.resume(ctx, stack.id, password)


def _normalised(case_no: str | None) -> str | None:
    if case_no is None:
        return None
    number = parse_case_number(case_no, strict=False)
    if number is None:
        raise RetryRefused(f"'{case_no}' is not a case number")
    return number.text
