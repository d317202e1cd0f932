"""The one ingestion pipeline, read top to bottom: accept → inspect → digitise pages → classify stacks → assemble."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from classify.segment import PageFacts, segment
from classify.taxonomy import Taxonomy
from dossier.export import CaseExport, export_case, family_of
from ingest.context import Context
from ingest.discover import Stack
from ingest.queue import JobQueue, Outcome

log = logging.getLogger("edossier.pipeline")

Progress = Callable[[str, int, int], None]     # (phase, done, total)


@dataclass
class RunReport:
    """What one run did; `cases` lists the dossiers written."""
    files_new: int = 0
    files_known: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)   # (path, the earlier file it repeats)
    quarantined: list[dict] = field(default_factory=list)
    pages_done: int = 0
    pages_failed: int = 0
    unrouted_documents: int = 0
    review_documents: int = 0
    cases: list[CaseExport] = field(default_factory=list)


def run(ctx: Context, queue: JobQueue, stacks: list[Stack], *, password: str | None = None,
        progress: Progress | None = None, out_root: Path | None = None) -> RunReport:
    report = RunReport()
    progress = progress or (lambda phase, done, total: None)
    for stack in stacks:
        accept_stack(ctx, stack, report)
    inspect_files(ctx, queue, [s.key for s in stacks], password, report)
    digitise_pages(ctx, queue, [s.key for s in stacks], report, progress)
    touched = classify_stacks(ctx, stacks, report)
    report.cases = assemble_cases(ctx, touched, out_root or ctx.settings.home / "dossiers")
    return report


# 1. accept: durable before anything else ----------------------------------------------------------------------
def accept_stack(ctx: Context, stack: Stack, report: RunReport) -> None:
    for seq, path in enumerate(stack.files):
        accept_file(ctx, stack, seq, path, report)


def accept_file(ctx: Context, stack: Stack, seq: int, path: Path, report: RunReport) -> str | None:
    size = path.stat().st_size
    if size > ctx.limits.max_file_bytes:
        _quarantine(ctx, report, None, path, "too_large",
                    f"file of {size / 2**20:.0f} MiB exceeds the {ctx.limits.max_file_bytes / 2**20:.0f} MiB limit",
                    stack, seq)
        return None
    with path.open("rb") as handle:
        sha256, size = ctx.blobs.put_stream(handle)
    earlier = ctx.catalogue.file(sha256)
    if earlier is not None:
        _note_known(report, path, earlier, stack)
        return sha256
    ctx.catalogue.add_file(sha256=sha256, name=path.name, source_path=str(path.resolve()), size=size,
                           media_type=None, stack=stack.key, stack_seq=seq, case_no=stack.case_no)
    report.files_new += 1
    if stack.case_error:
        ctx.catalogue.set_file_status(sha256, "quarantined")
        _quarantine(ctx, report, sha256, path, "unknown_case", stack.case_error, stack, seq)
    return sha256


def _note_known(report: RunReport, path: Path, earlier, stack: Stack) -> None:
    """The same file seen again (a resumed run) or the same bytes under another name (a duplicate scan)."""
    if earlier.stack == stack.key and earlier.source_path == str(path.resolve()):
        report.files_known += 1
    else:
        report.duplicates.append((str(path), earlier.source_path))


# 2. inspect: type, limits, repair, page count (in workers, with a time limit) ----------------------------------
def inspect_files(ctx: Context, queue: JobQueue, stack_keys: list[str], password: str | None,
                  report: RunReport) -> None:
    waiting = [f for key in stack_keys for f in ctx.catalogue.files_in_stack(key) if f.status == "received"]
    for record in waiting:
        queue.enqueue("ingest.jobs.inspect_received", record.sha256, password,
                      timeout=ctx.settings.queue.file_timeout_s)
    by_sha = {f.sha256: f for f in waiting}
    for outcome in queue.results():
        _inspected(ctx, report, by_sha[outcome.args[0]], outcome)


def _inspected(ctx: Context, report: RunReport, record, outcome: Outcome) -> None:
    value = outcome.value or {}
    if value.get("ok"):
        ctx.catalogue.resolve_quarantine_for(record.sha256)
        return
    code = value.get("code", "timeout" if outcome.timed_out else "damaged")
    reason = value.get("reason") or f"could not be read: {outcome.error}"
    ctx.catalogue.set_file_status(record.sha256, "quarantined")
    _quarantine(ctx, report, record.sha256, Path(record.source_path), code, reason, None, record.stack_seq,
                stack_key=record.stack, case_no=record.case_no)


# 3. digitise: every pending page, in parallel ------------------------------------------------------------------
def digitise_pages(ctx: Context, queue: JobQueue, stack_keys: list[str], report: RunReport,
                   progress: Progress) -> None:
    """Queue every pending page; a page whose worker process died is queued once more before it is reported."""
    page_ids = [pid for key in stack_keys for pid in ctx.catalogue.page_ids(status="pending", stack=key)]
    for page_id in page_ids:
        _enqueue_page(ctx, queue, page_id)
    progress("pages", 0, len(page_ids))
    done, retried = 0, set()
    for outcome in queue.results():
        if outcome.died and outcome.args[0] not in retried:
            retried.add(outcome.args[0])
            log.warning("worker died on page %s; queued again", outcome.args[0])
            _enqueue_page(ctx, queue, outcome.args[0])
            continue
        _page_finished(ctx, report, outcome)
        done += 1
        progress("pages", done, len(page_ids))


def _enqueue_page(ctx: Context, queue: JobQueue, page_id: int) -> None:
    queue.enqueue("ingest.jobs.process_page", page_id, timeout=ctx.settings.queue.page_timeout_s)


def _page_finished(ctx: Context, report: RunReport, outcome: Outcome) -> None:
    value = outcome.value or {}
    if value.get("ok"):
        report.pages_done += 1
        return
    page_id = outcome.args[0]
    code = value.get("code", "timeout" if outcome.timed_out else "page_failed")
    reason = value.get("reason") or outcome.error or "unknown failure"
    if not value:
        ctx.catalogue.record_page(page_id, status="failed", error=f"{code}: {reason}")
    page = ctx.catalogue.page(page_id)
    record = ctx.catalogue.file(page["file_sha256"])
    report.pages_failed += 1
    _quarantine(ctx, report, record.sha256, Path(record.source_path), code,
                f"page {page['page_index'] + 1}: {reason}", None, record.stack_seq,
                stack_key=record.stack, case_no=record.case_no, page_index=page["page_index"])


# 4. classify: documents, types and cases per stack -------------------------------------------------------------
def classify_stacks(ctx: Context, stacks: list[Stack], report: RunReport) -> set[str]:
    taxonomy = Taxonomy.load()
    touched: set[str] = set()
    for stack in stacks:
        touched |= classify_stack(ctx, stack.key, stack.case_no, taxonomy, report)
    return touched


def classify_stack(ctx: Context, stack_key: str, case_no: str | None, taxonomy: Taxonomy,
                   report: RunReport) -> set[str]:
    rows = [r for r in ctx.catalogue.pages_of_stack(stack_key) if r["status"] == "done"]
    if not rows:
        return set()
    facts = [PageFacts(r["id"], r["role"], r["title"], r["text"] or "",
                       tuple(c["text"] for c in r["codes"] or ())) for r in rows]
    drafts = segment(facts, taxonomy, stack_case=case_no,
                     review_below=ctx.settings.classify.review_below_confidence)
    order = {r["id"]: r["received_at"] + r["stack_seq"] * 1e-3 + r["page_index"] * 1e-7 for r in rows}
    ctx.catalogue.replace_stack_documents(stack_key, [_document_values(d, order) for d in drafts])
    ctx.catalogue.set_page_roles(_page_cases(rows, drafts, case_no))
    for case in {d.case_no for d in drafts if d.case_no}:
        ctx.catalogue.ensure_case(case, family_of(case, taxonomy))
    report.unrouted_documents += sum(1 for d in drafts if d.case_no is None)
    report.review_documents += sum(1 for d in drafts if d.review)
    return {d.case_no for d in drafts if d.case_no}


def _document_values(draft, order: dict[int, float]) -> dict:
    return {"page_ids": list(draft.page_ids), "case_no": draft.case_no, "volume": draft.volume,
            "type_code": draft.type_code, "title": draft.title, "confidence": draft.confidence,
            "review": draft.review, "reason": draft.reason, "received_order": order[draft.page_ids[0]],
            "separator_page_id": draft.separator_page_id, "parties": [list(p) for p in draft.parties],
            "identifiers": [list(i) for i in draft.identifiers]}


def _page_cases(rows: list[dict], drafts, stack_case: str | None) -> dict[int, tuple[str, str | None]]:
    """Every page's role and case: document pages take their document's case; blanks and separators the next one's."""
    case_of = {pid: d.case_no for d in drafts for pid in d.page_ids}
    for d in drafts:
        if d.separator_page_id is not None:
            case_of[d.separator_page_id] = d.case_no
    result, current = {}, stack_case
    for row in rows:
        current = case_of.get(row["id"], current)
        result[row["id"]] = (row["role"], case_of.get(row["id"], current))
    return result


# 5. assemble: one dossier per case touched ---------------------------------------------------------------------
def assemble_cases(ctx: Context, cases: set[str], out_root: Path) -> list[CaseExport]:
    exports = []
    for case_no in sorted(cases):
        exports.append(export_case(ctx, case_no, out_root / safe_folder_name(case_no)))
        log.info("dossier written for case %s", case_no)
    return exports


def safe_folder_name(case_no: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' else c for c in case_no)


# quarantine ----------------------------------------------------------------------------------------------------
def _quarantine(ctx: Context, report: RunReport, sha256: str | None, path: Path, code: str, reason: str,
                stack: Stack | None, seq: int | None, *, stack_key: str | None = None, case_no: str | None = None,
                page_index: int | None = None) -> None:
    item = dict(file_sha256=sha256, page_index=page_index, name=path.name, source_path=str(path),
                reason=reason, error_code=code, stack=stack.key if stack else stack_key, stack_seq=seq,
                case_no=stack.case_no if stack else case_no)
    item["id"] = ctx.catalogue.add_quarantine(**item)
    report.quarantined.append(item)
    log.warning("quarantined %s: %s", path.name, reason)
