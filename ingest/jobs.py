"""Queue jobs: top-level, idempotent functions that take IDs and storage keys — never images or open files."""
from __future__ import annotations

import json
import time
from dataclasses import asdict

from ingest.context import worker_context
from ingest.digitise import PageResult, digitise
from ingest.errors import InputRejected
from ingest.inspect import inspect_file
from ingest.pages import load_page


def inspect_received(sha256: str, password: str | None = None) -> dict:
    """Inspect a stored file; on success its pages are registered as pending. Returns {ok, pages | code, reason}."""
    ctx = worker_context()
    record = ctx.catalogue.file(sha256)
    try:
        found = inspect_file(ctx.blobs.local_path(sha256), ctx.limits, password, name=record.name)
    except InputRejected as exc:
        return {"ok": False, "code": exc.code, "reason": exc.reason}
    work = ctx.blobs.put_bytes(found.work_copy) if found.work_copy else sha256
    ctx.catalogue.mark_file_ready(sha256, found.media_type, found.page_count, work, found.note)
    return {"ok": True, "pages": found.page_count, "note": found.note}


def process_page(page_id: int) -> dict:
    """Digitise one page and record the outcome; a page already done is left alone."""
    ctx = worker_context()
    page = ctx.catalogue.page(page_id)
    if page["status"] == "done":
        return {"ok": True, "skipped": True}
    record = ctx.catalogue.file(page["file_sha256"])
    started = time.perf_counter()
    try:
        raster = load_page(ctx.blobs.local_path(record.work_sha256 or record.sha256), record.media_type,
                           page["page_index"], ctx.limits, ctx.settings.ocr.dpi)
        result = digitise(raster, ctx.settings)
    except InputRejected as exc:
        ctx.catalogue.record_page(page_id, status="failed", error=f"{exc.code}: {exc.reason}")
        return {"ok": False, "code": exc.code, "reason": exc.reason}
    ctx.catalogue.record_page(page_id, status="done", error=None, seconds=time.perf_counter() - started,
                              **_page_values(ctx, result))
    return {"ok": True}


def _page_values(ctx, result: PageResult) -> dict:
    ocr = result.ocr
    values = {
        "rotation": result.rotation, "skew": round(result.prepared.skew, 3), "blank": result.prepared.blank,
        "steps": list(result.steps), "title": result.title,
        "codes": [asdict(code) for code in result.codes],
        "role": "blank" if result.prepared.blank else "separator" if result.separator else "content",
        "text": ocr.text if ocr else "", "mean_conf": round(ocr.mean_conf, 2) if ocr else None,
        "engine": ocr.engine if ocr else None,
    }
    if ocr is not None:
        values["pdf_key"] = ctx.blobs.put_bytes(ocr.pdf)
        values["layout_key"] = ctx.blobs.put_bytes(_layout_json(ocr.layout))
    return values


def _layout_json(layout) -> bytes:
    return json.dumps(asdict(layout), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
