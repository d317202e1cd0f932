"""Retry a quarantined file or page: the same pipeline steps, from where it stopped."""
from __future__ import annotations

from pathlib import Path

from ingest import pipeline
from ingest.discover import Stack
from ingest.errors import NotFound


def retry_item(ctx, queue, item_id: int, password: str | None) -> pipeline.RunReport:
    item = ctx.catalogue.quarantine_item(item_id)
    if item is None:
        raise NotFound(f"no quarantine item {item_id}")
    if item["file_sha256"] is None:
        return _retry_unstored(ctx, queue, item, password)
    record = ctx.catalogue.file(item["file_sha256"])
    if item["page_index"] is not None:
        ctx.catalogue.reset_failed_pages(record.sha256)
    elif record.status == "quarantined":
        ctx.catalogue.set_file_status(record.sha256, "received")
    ctx.catalogue.set_quarantine_status(item_id, "retried")
    stack = Stack(record.stack, (), record.case_no)
    return pipeline.run(ctx, queue, [stack], password=password)


def _retry_unstored(ctx, queue, item: dict, password: str | None) -> pipeline.RunReport:
    """A file refused before it was stored (too large): read it again from where it was."""
    path = Path(item["source_path"])
    if not path.exists():
        raise NotFound(f"{path} is no longer there; put the file back or import it again")
    ctx.catalogue.set_quarantine_status(item["id"], "retried")
    stack = Stack(item["stack"] or f"import:{path.resolve()}", (path,), item["case_no"])
    return pipeline.run(ctx, queue, [stack], password=password)
