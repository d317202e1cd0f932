"""The one ingestion pipeline as a chain of jobs, read top to bottom:

    accept (in the caller: CLI, HTTP service, device) → inspect the file → one job per page → classify the stack
    → assemble the case

Each step records its own outcome in the catalogue (done, quarantined with its reason, or an incident when our own
code or a server failed) and enqueues what its result makes ready. Nothing waits for results: a command that wants to
see the end watches the catalogue (`progress`). Jobs are idempotent and take catalogue IDs, never images or files.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from classify import corrections
from classify.segment import PageFacts, segment
from classify.taxonomy import Taxonomy
from dossier import audit
from dossier.export import family_of, store_dossier
from ingest.digitise import digitise, page_values
from config.errors import InputRejected, QueueUnavailable, TimedOut
from ingest.inspect import Inspection, inspect_file
from ingest.pages import load_page
from ingest.split import split_pages
from storage.catalogue import EntryRow, PageBlob, StackRow, page_blob
from ingest.reports import settle_case

log = logging.getLogger("edossier.pipeline")


@dataclass(frozen=True)
class Failure:
    """Why a job ended without finishing: `kind` is timeout | died | memory (the input may be to blame, after a
    bounded number of tries) or error (a defect in our code or a server it needs: never blamed on the file)."""
    kind: str
    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The answer to one file offered to a stack. `entry` is None when the file was refused before it was stored."""
    entry: EntryRow | None
    created: bool
    duplicate_of: EntryRow | None = None
    quarantine_id: int | None = None


class PositionTaken(InputRejected):
    """Other bytes are already filed at that position of the stack."""
    code = "position_taken"


# 0. stacks: a scan session, an upload batch, a backlog folder ----------------------------------------------------
def open_stack(ctx, **values) -> StackRow:
    return ctx.catalogue.open_stack(**values)


def close_stack(ctx, stack_id: int) -> None:
    """No more files will join; classification takes a last look."""
    ctx.catalogue.close_stack(stack_id)
    _stack_changed(ctx, stack_id)


# 1. accept: durable first, then the next step is queued ----------------------------------------------------------
def accept(ctx, stack: StackRow, stream: BinaryIO, *, name: str, source_path: str, client: str,
           seq: int | None = None, password: str | None = None, provenance: dict | None = None) -> Accepted:
    """Store the bytes (hashed, fsynced) and catalogue them at (stack, seq) before anything acknowledges them.
    The same bytes again in the same stack are recognised and not redone; in another stack they are another entry.
    `provenance` says where a captured page came from (device, source, side, sheet, resolution, capture time)."""
    sha256, size = ctx.blobs.put_stream(stream)
    in_stack = ctx.catalogue.entries_with_sha(sha256, stack_id=stack.id)
    again = next((e for e in in_stack if e.source_path == source_path and seq in (None, e.seq)), None)
    if again is not None:
        return Accepted(again, False)
    entry, created = ctx.catalogue.add_entry(stack_id=stack.id, seq=seq, sha256=sha256, name=name,
                                             source_path=source_path, size=size, case_no=stack.case_no,
                                             client=client,
                                             provenance=json.dumps(provenance, ensure_ascii=False, sort_keys=True)
                                             if provenance else None)
    if not created:
        if entry.sha256 != sha256:
            raise PositionTaken(f"position {entry.seq} of stack {stack.id} already holds other bytes ({entry.name})")
        return Accepted(entry, False)
    earlier = _earlier_copy(ctx, entry, in_stack)
    if earlier is not None:
        ctx.catalogue.set_entry(entry.id, status="duplicate", duplicate_of=earlier.id,
                                note=f"byte-identical to {earlier.name} (entry {earlier.id})")
        return Accepted(ctx.catalogue.entry(entry.id), True, earlier)
    _supersede_unrouted_copies(ctx, entry)
    route(ctx, entry, stack, password)
    return Accepted(entry, True)


def _earlier_copy(ctx, entry: EntryRow, in_stack: list[EntryRow]) -> EntryRow | None:
    """The same bytes already received for the same case (or, both unrouted, for none): a duplicate, recorded as
    received and not digitised twice. The same bytes for another case are that case's own paper."""
    candidates = in_stack + ctx.catalogue.entries_with_sha(entry.sha256)
    return next((e for e in candidates if e.id != entry.id and e.status != "duplicate"
                 and e.case_no == entry.case_no), None)


def refuse_unstored(ctx, stack: StackRow, path, code: str, reason: str) -> int:
    """A file refused before it was stored (too large): quarantined once, with where it was, for a retry."""
    for item in ctx.catalogue.quarantine_items("open", [stack.id]):
        if item["entry_id"] is None and item["source_path"] == str(path):
            return item["id"]
    return _quarantine(ctx, None, code, reason, stack_id=stack.id, case_no=stack.case_no, name=path.name,
                       source_path=str(path))


def route(ctx, entry: EntryRow, stack: StackRow, password: str | None = None) -> None:
    """A new or re-routed entry: inspect it, unless nobody knows which case it belongs to."""
    if stack.case_error and entry.case_no is None:
        ctx.catalogue.set_entry(entry.id, status="quarantined")
        _quarantine(ctx, entry, "unknown_case", stack.case_error)
        return
    try:
        ctx.queue.enqueue("inspect", entry.id, password, key=f"inspect:{entry.id}")
    except QueueUnavailable as exc:    # the file is stored and catalogued: the reconciler queues it later
        log.warning("%s is stored, its inspection is queued once the queue is back: %s", entry.name, exc)


def _supersede_unrouted_copies(ctx, entry: EntryRow) -> None:
    """The same bytes filed again (a renamed folder): the old 'unknown case' item is settled by this entry."""
    for other in ctx.catalogue.entries_with_sha(entry.sha256):
        if other.id != entry.id and other.status == "quarantined" and other.case_no is None:
            ctx.catalogue.resolve_quarantine(entry_id=other.id, code="unknown_case",
                                             note=f"filed again as entry {entry.id} (stack {entry.stack_id})")


def resume(ctx, stack_id: int, password: str | None = None) -> None:
    """Queue again whatever the catalogue says is outstanding for the stack and no queue holds or runs (after a
    crash, Ctrl-C or a lost queue; right after submitting, a worker may have taken a file already); entries held
    only because their case was unknown follow the case the stack now maps to."""
    stack = ctx.catalogue.stack(stack_id)
    for entry in ctx.catalogue.entries_of_stack(stack_id):
        if entry.status == "quarantined" and entry.case_no is None and stack.case_no:
            reroute(ctx, entry, stack.case_no, password)
        elif entry.status == "received":
            ctx.catalogue.resolve_incidents(entry_id=entry.id)
            ctx.queue.enqueue_missing("inspect", entry.id, password, key=f"inspect:{entry.id}")
    for page_id in ctx.catalogue.page_ids(status="pending", stack_id=stack_id):
        ctx.catalogue.resolve_incidents(page_id=page_id)
        ctx.queue.enqueue_missing("page", page_id, key=f"page:{page_id}")
    ctx.catalogue.resolve_incidents(stack_id=stack_id, job="classify")
    _stack_changed(ctx, stack_id)


def reroute(ctx, entry: EntryRow, case_no: str, password: str | None = None) -> None:
    ctx.catalogue.set_entry(entry.id, case_no=case_no, status="received")
    ctx.catalogue.resolve_quarantine(entry_id=entry.id, code="unknown_case", note=f"re-routed to {case_no}")
    ctx.queue.enqueue("inspect", entry.id, password, key=f"inspect:{entry.id}")


def reconcile(ctx) -> int:
    """Queue whatever the catalogue says is unfinished and no queue holds (a queue that lost its contents, an
    acknowledgement that never reached the queue): the catalogue is the truth, the queue only a to-do list.
    Answers how many jobs it had to queue. A password given with a file is not kept: a protected PDF found
    only this way is quarantined as such, and retried with its password by an operator."""
    work = ctx.catalogue.unfinished()
    queued = sum(ctx.queue.enqueue_missing("inspect", entry_id, None, key=f"inspect:{entry_id}")
                 for entry_id in work["entries"])
    queued += sum(ctx.queue.enqueue_missing("page", page_id, key=f"page:{page_id}") for page_id in work["pages"])
    queued += sum(ctx.queue.enqueue_missing("classify", stack_id, key=f"classify:{stack_id}")
                  for stack_id in work["stacks"])
    queued += sum(ctx.queue.enqueue_missing("assemble", case_no, key=f"assemble:{case_no}")
                  for case_no in work["cases"])
    if queued:
        log.warning("reconciled the queue with the catalogue: %d unfinished jobs were not queued, queued now", queued)
    return queued


# 2. inspect: type, limits, repair, page count, one blob per page ----------------------------------------------
def inspect(ctx, entry_id: int, password: str | None = None) -> None:
    entry = ctx.catalogue.entry(entry_id)
    if entry is None or entry.status != "received":
        return
    with ctx.blobs.checkout([entry.sha256]) as (path,):
        try:
            found = inspect_file(path, ctx.limits, password, name=entry.name)
        except InputRejected as exc:
            ctx.catalogue.set_entry(entry.id, status="quarantined")
            _quarantine(ctx, entry, exc.code, exc.reason)
            return
        work, page_blobs = _store_pages(ctx, entry, path, found)
    page_ids = ctx.catalogue.mark_entry_ready(entry.id, found.media_type, found.page_count, work, found.note,
                                              page_blobs)
    ctx.catalogue.resolve_quarantine(entry_id=entry.id, note="inspected")
    ctx.catalogue.resolve_incidents(entry_id=entry.id, job="inspect")
    for page_id in page_ids:
        ctx.queue.enqueue("page", page_id, key=f"page:{page_id}")


def _store_pages(ctx, entry: EntryRow, path: Path, found: Inspection) -> tuple[str, list[PageBlob]]:
    """The blob pages are read from (the file, or its repaired or unlocked copy) and one blob per page, split while
    the file is checked out, so no page job fetches the whole file. A file of one page is its own page blob; a page
    that cannot be separated is read from the whole file at its index."""
    work = ctx.blobs.put_bytes(found.work_copy) if found.work_copy else entry.sha256
    if found.page_count == 1:
        return work, [PageBlob(work, found.media_type)]
    return work, [PageBlob(ctx.blobs.put_bytes(part.data), part.media_type) if part is not None
                  else PageBlob(work, found.media_type, index)
                  for index, part in enumerate(split_pages(path, found))]


def inspect_failed(ctx, failure: Failure, entry_id: int, password: str | None = None) -> None:
    entry = ctx.catalogue.entry(entry_id)
    if failure.kind == "error":
        _incident(ctx, "inspect", [entry_id], failure, entry_id=entry_id, stack_id=entry.stack_id)
        return
    ctx.catalogue.set_entry(entry.id, status="quarantined")
    _quarantine(ctx, entry, _failure_code(failure), failure.message)


# 3. page: raster → preprocess → codes → OCR → title, recorded with the page ------------------------------------
def page(ctx, page_id: int) -> None:
    row = ctx.catalogue.page(page_id)
    if row is None or row["status"] != "pending":
        return
    entry = ctx.catalogue.entry(row["entry_id"])
    source = page_blob(row, entry)
    started = time.perf_counter()
    try:
        with ctx.blobs.checkout([source.key]) as (path,):
            raster = load_page(path, source.media_type, source.index, ctx.limits, ctx.settings.ocr.dpi)
        result = digitise(raster, ctx.settings)
    except TimedOut:
        raise                   # out of time may be the machine's load: tried again before the page is blamed
    except InputRejected as exc:
        _fail_page(ctx, row, entry, exc.code, exc.reason)
        return
    values = page_values(ctx.blobs, result)
    ctx.catalogue.finish_page(page_id, entry.stack_id, status="done", error=None,
                              seconds=time.perf_counter() - started, settled=(entry.id, row["page_index"]), **values)
    _stack_changed(ctx, entry.stack_id)


def page_failed(ctx, failure: Failure, page_id: int) -> None:
    row = ctx.catalogue.page(page_id)
    entry = ctx.catalogue.entry(row["entry_id"])
    if failure.kind == "error":
        _incident(ctx, "page", [page_id], failure, page_id=page_id, entry_id=entry.id, stack_id=entry.stack_id)
        return
    _fail_page(ctx, row, entry, _failure_code(failure), failure.message)


def _fail_page(ctx, row: dict, entry: EntryRow, code: str, reason: str) -> None:
    ctx.catalogue.finish_page(row["id"], entry.stack_id, status="failed", error=f"{code}: {reason}")
    _quarantine(ctx, entry, code, f"page {row['page_index'] + 1}: {reason}", page_index=row["page_index"])
    _stack_changed(ctx, entry.stack_id)


def _stack_changed(ctx, stack_id: int) -> None:
    """Classify the stack again: at once when it is closed and nothing is pending (its last look), else at most
    every `classify.every_s` seconds (or four times the last run, if longer), so a long stack is not re-read for
    every page that finishes."""
    stack = ctx.catalogue.stack(stack_id)
    delay = 0.0
    if stack.classified_at and not (stack.state == "closed" and ctx.catalogue.pending_pages(stack_id) == 0):
        every = _interval(ctx, ctx.settings.classify.every_s, stack.classify_seconds)
        delay = max(0.0, stack.classified_at + every - time.time())
    ctx.queue.enqueue("classify", stack_id, key=f"classify:{stack_id}", delay=delay)


def _interval(ctx, every_s: float, last_seconds: float | None) -> float:
    """How long a stack's classification or a case's assembly waits after its last run while pages keep
    finishing: `every_s` (or four times the last run, if longer); while OCR work is queued up — a backlog being
    worked off, where throughput matters more than a dossier seconds fresher — five times that."""
    interval = max(every_s, 4 * (last_seconds or 0.0))
    return interval * 5 if ctx.queue.depths().get("ocr", 0) else interval


# 4. classify: documents, types and cases of the pages done so far, in stack order -----------------------------
def classify(ctx, stack_id: int) -> bool:
    """File the stack's pages done so far. False when another worker is doing it now (it runs again after)."""
    with _single_flight(ctx, f"classify:{stack_id}", "classify", stack_id) as mine:
        if not mine:
            return False
        started = time.perf_counter()
        stack = ctx.catalogue.stack(stack_id)
        rows = [r for r in ctx.catalogue.pages_of_stack(stack_id) if r["status"] != "pending"]
        done = [r for r in rows if r["status"] == "done"]
        order = {r["id"]: r["received_at"] + r["stack_seq"] * 1e-3 + r["page_index"] * 1e-7 for r in done}
        drafts = [_document_values(d, order) for case_no, run in _runs_by_case(done)
                  for d in _segment(ctx, run, case_no)]
        corrected = corrections.apply(drafts, ctx.catalogue.corrections_of_stack(stack_id), taxonomy())
        touched = ctx.catalogue.save_stack_documents(stack_id, corrected.drafts)
        ctx.catalogue.set_page_roles(_page_cases(rows, corrected))
        touched |= {r["entry_case_no"] for r in rows} | set(corrected.moved_to.values())
        last = stack.state == "closed" and len(rows) == len(ctx.catalogue.pages_of_stack(stack_id))
        for case_no in sorted(c for c in touched if c):
            ctx.catalogue.touch_case(case_no, family_of(case_no, taxonomy()))
            assemble_later(ctx, case_no, now=last)
        ctx.catalogue.mark_classified(stack_id, stack.version, time.perf_counter() - started)
        ctx.catalogue.resolve_incidents(stack_id=stack_id, job="classify")
        return True


def classify_failed(ctx, failure: Failure, stack_id: int) -> None:
    _incident(ctx, "classify", [stack_id], failure, stack_id=stack_id)


@functools.cache
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def _runs_by_case(rows: list[dict]) -> list[tuple[str | None, list[dict]]]:
    """Consecutive pages whose entries are routed to the same case (or to none) are segmented together."""
    runs: list[tuple[str | None, list[dict]]] = []
    for row in rows:
        if not runs or runs[-1][0] != row["entry_case_no"]:
            runs.append((row["entry_case_no"], []))
        runs[-1][1].append(row)
    return runs


def _segment(ctx, rows: list[dict], case_no: str | None):
    facts = [PageFacts(r["id"], _read_role(r["role"]), r["title"], r["text"] or "",
                       tuple(c["text"] for c in r["codes"] or ())) for r in rows]
    open_cases = frozenset(ctx.catalogue.open_case_numbers()) if case_no is None else frozenset()
    return segment(facts, taxonomy(), stack_case=case_no, review_below=ctx.settings.classify.review_below_confidence,
                   open_cases=open_cases)


def _read_role(role: str | None) -> str | None:
    """The role the page job gave a page, whatever people's corrections made of it since."""
    return "content" if role in ("replaced", "removed") else role


def _document_values(draft, order: dict[int, float]) -> dict:
    return {"page_ids": list(draft.page_ids), "case_no": draft.case_no, "volume": draft.volume,
            "type_code": draft.type_code, "title": draft.title, "confidence": draft.confidence,
            "review": draft.review, "reason": draft.reason, "received_order": order[draft.page_ids[0]],
            "separator_page_id": draft.separator_page_id, "parties": [list(p) for p in draft.parties],
            "identifiers": [list(i) for i in draft.identifiers], "corrected": False}


def _page_cases(rows: list[dict], corrected: corrections.Applied) -> dict[int, tuple[str, str | None]]:
    """Every page's role and case: document pages take their document's case; blanks, separators and failed pages
    the case of the document before them (or their entry's). Pages people left out are marked so (replaced,
    removed), and pages they moved to a document of another stack take its case."""
    case_of = corrected.moved_to | {pid: d["case_no"] for d in corrected.drafts for pid in d["page_ids"]}
    for d in corrected.drafts:
        if d["separator_page_id"] is not None:
            case_of[d["separator_page_id"]] = d["case_no"]
    result, current = {}, None
    for row in rows:
        current = case_of.get(row["id"], current if row["entry_case_no"] is None else row["entry_case_no"])
        role = corrected.left_out.get(row["id"], _read_role(row["role"]))
        result[row["id"]] = (role, case_of.get(row["id"], current))
    return result


# 5. assemble: the case's volumes and manifest, stored as blobs; single-flight and debounced --------------------
def assemble_later(ctx, case_no: str, now: bool = False) -> None:
    """While pages keep arriving a case is rebuilt at most every few seconds (longer when a build itself takes
    long), and always once after the last change: a job waiting to start sees the newest state when it runs.
    The build after a closed stack's last page is not held back (`now`)."""
    case = ctx.catalogue.case(case_no)
    delay = 0.0
    if case and not now:
        every = _interval(ctx, ctx.settings.dossier.rebuild_every_s, case["assembly_seconds"])
        delay = max(0.0, (case["assembled_at"] or case["created_at"]) + every - time.time())
    ctx.queue.enqueue("assemble", case_no, key=f"assemble:{case_no}", delay=delay)


def assemble(ctx, case_no: str) -> bool:
    """Build the case's dossier and settle what it proves. False when another worker is doing it now."""
    with _single_flight(ctx, f"assemble:{case_no}", "assemble", case_no) as mine:
        if not mine:
            return False
        version = ctx.catalogue.case(case_no)["version"]
        audit.record_case(ctx, case_no)               # what the dossier is built from, in the case's record first
        store_dossier(ctx, case_no, version)
        _record_dossier(ctx, case_no)
        settle_case(ctx, case_no)                     # what the case proves now, for the court's figures
        ctx.catalogue.resolve_incidents(case_no=case_no, job="assemble")
        log.info("dossier of case %s is up to date (version %d)", case_no, version)
        return True


def _record_dossier(ctx, case_no: str) -> None:
    case = ctx.catalogue.case(case_no)
    if not case["manifest_key"]:
        return
    stored = {f"{v['volume']}.pdf": v["blob_key"] for v in ctx.catalogue.volumes_of_case(case_no)}
    audit.record(ctx, case_no, f"dossier:{case['fingerprint']}", "dossier built", "pipeline",
                 {"blobs": stored | {"manifest.json": case["manifest_key"]}, "version": case["version"]})


def assemble_failed(ctx, failure: Failure, case_no: str) -> None:
    _incident(ctx, "assemble", [case_no], failure, case_no=case_no)


class _single_flight:
    """Two workers never do the same stack's classification or the same case's assembly at once: a lease in the
    catalogue (so it holds across machines), renewed while the work runs, so a worker that dies frees it within
    LEASE_S. Whoever finds it taken marks it wanted and queues the job again for when a dead holder's lease would
    have expired; the holder, releasing a wanted lease, makes that job due at once."""
    LEASE_S = 30.0

    def __init__(self, ctx, name: str, job: str, *args):
        self.ctx, self.name, self.job, self.args = ctx, name, job, args
        self.owner = uuid.uuid4().hex
        self.done = threading.Event()

    def __enter__(self) -> bool:
        if not self.ctx.catalogue.take_lease(self.name, self.owner, self.LEASE_S):
            self.ctx.queue.enqueue(self.job, *self.args, key=self.name, delay=self.LEASE_S)
            return False
        threading.Thread(target=self._renew, daemon=True).start()
        return True

    def _renew(self) -> None:
        while not self.done.wait(self.LEASE_S / 3):
            try:
                self.ctx.catalogue.take_lease(self.name, self.owner, self.LEASE_S)
            except Exception:  # the catalogue busy for a moment: the next renewal comes before expiry
                log.warning("could not renew lease %s", self.name)

    def __exit__(self, *exc) -> bool:
        self.done.set()
        if self.ctx.catalogue.release_lease(self.name, self.owner):
            self.ctx.queue.enqueue(self.job, *self.args, key=self.name)
        return False


# outcomes ------------------------------------------------------------------------------------------------------
def _quarantine(ctx, entry: EntryRow | None, code: str, reason: str, *, page_index: int | None = None,
                **where) -> int:
    if entry is not None:
        where = dict(entry_id=entry.id, stack_id=entry.stack_id, stack_seq=entry.seq, case_no=entry.case_no,
                     name=entry.name, source_path=entry.source_path)
    item_id = ctx.catalogue.add_quarantine(page_index=page_index, reason=reason, error_code=code, **where)
    log.warning("quarantined %s: %s", where["name"], reason)
    return item_id


def _incident(ctx, job: str, args: list, failure: Failure, **refs) -> None:
    """A defect — ours or a server's — is recorded with its traceback and the work is left pending, not blamed."""
    ctx.catalogue.add_incident(job=job, args=args, error=failure.message, traceback=failure.traceback, **refs)
    log.error("internal error in %s %s, left pending: %s\n%s", job, args, failure.message, failure.traceback or "")


def _failure_code(failure: Failure) -> str:
    return {"timeout": "timeout", "memory": "out_of_memory"}.get(failure.kind, "worker_died")
