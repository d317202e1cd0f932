"""What each console page shows, read from the catalogue, the queue and the reports (ingest.reports), as plain
values for its template. Personal numbers are masked here or by the templates' `masked` filter; only the review
page's OCR text is shown as read."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from markupsafe import Markup

from classify.identifiers import mask_text
from ingest import corrections as corrections_flow
from ingest import reports
from ingest.cases import rules
from ingest.metrics import LATENCY_BUCKETS

RATE_WINDOW_S = 600          # pages per minute: pages read in the last ten minutes, over ten


def when(ctx, at: float | None) -> str:
    """A time as the court reads it."""
    if at is None:
        return ""
    return dt.datetime.fromtimestamp(at, rules(ctx.settings.cases).calendar.zone).strftime("%Y-%m-%d %H:%M:%S")


# dashboard ---------------------------------------------------------------------------------------------------------
def live(ctx) -> dict:
    """The figures that move: throughput, queues, workers, what waits for a person."""
    _, total, count = ctx.catalogue.latency_histogram(LATENCY_BUCKETS)
    queues, workers, trouble = _queue_state(ctx)
    return {"per_minute": ctx.catalogue.pages_done_since(time.time() - RATE_WINDOW_S) / (RATE_WINDOW_S / 60),
            "queues": queues, "workers": workers, "queue_trouble": trouble, "counts": ctx.catalogue.counts(),
            "latency_s": total / count if count else None}


def _queue_state(ctx) -> tuple[dict | None, int | None, str]:
    """Depth per queue and workers alive; a queue that cannot be reached is said so (the catalogue still answers)."""
    try:
        return ctx.queue.depths(), ctx.queue.workers_alive(), ""
    except Exception as exc:  # the queue's own client errors vary by backend; show them, do not fail the page
        return None, None, mask_text(f"{type(exc).__name__}: {exc}")


def dashboard(ctx) -> dict:
    """The live figures, the cases to act on (their reasons masked by the page) and the court's figures."""
    return {"live": live(ctx), "alerts": reports.alerts(ctx), "figures": figures(ctx)}


def figures(ctx) -> dict:
    """The court's figures court-wide with the report's own cards and charts (dossier.figures_html)."""
    from dossier.figures import FIGURES
    from dossier.figures_html import figure_cards, trend_chart, tribunal_chart
    data = reports.court_report(ctx)
    return {"period": data["period"], "cases": data["court"]["cases"], "court": data["court"]["figures"],
            "cards": Markup(figure_cards(data["court"]["figures"])),
            "charts": [Markup(tribunal_chart(data["tribunals"], name)) for name in FIGURES],
            "trend": Markup(trend_chart(data["weeks"]))}


# stacks and quarantine -----------------------------------------------------------------------------------------------
def stacks(ctx, limit: int = 30) -> list[dict]:
    return [_stack(ctx, stack) for stack in ctx.catalogue.recent_stacks(limit)]


def _stack(ctx, stack) -> dict:
    progress = ctx.catalogue.stack_progress([stack.id])
    return {"id": stack.id, "kind": stack.kind, "state": stack.state, "client": stack.client,
            "device": stack.device or "", "case_no": stack.case_no, "opened": when(ctx, stack.created_at),
            "closed": when(ctx, stack.closed_at), "pages": progress["pages"], "settled": progress["settled"],
            "waiting": progress["entries_waiting"]}


def stack(ctx, stack_id: int) -> dict | None:
    row = ctx.catalogue.stack(stack_id)
    if row is None:
        return None
    files = [{"seq": e.seq, "name": mask_text(e.name), "status": e.status, "pages": e.page_count,
              "received": when(ctx, e.received_at), "note": mask_text(e.note or "")}
             for e in ctx.catalogue.entries_of_stack(stack_id)]
    pages = [{"id": p["id"], "file": mask_text(p["file_name"]), "page": p["page_index"] + 1, "status": p["status"],
              "role": p["role"] or "", "case_no": p["case_no"], "confidence": p["mean_conf"],
              "error": mask_text(p["error"] or ""), "image": bool(p["pdf_key"])}
             for p in ctx.catalogue.pages_of_stack(stack_id)]
    return {"stack": _stack(ctx, row), "files": files, "pages": pages,
            "documents": ctx.catalogue.documents_of_stacks([stack_id]),
            "quarantined": quarantine(ctx, None, [stack_id])}


def quarantine(ctx, status: str | None = "open", stack_ids: list[int] | None = None) -> list[dict]:
    return [{"id": q["id"], "file": mask_text(q["name"]), "page": None if q["page_index"] is None
             else q["page_index"] + 1, "code": q["error_code"], "reason": mask_text(q["reason"]),
             "case_no": q["case_no"], "stack_id": q["stack_id"], "status": q["status"],
             "note": mask_text(q["note"] or ""), "at": when(ctx, q["created_at"])}
            for q in ctx.catalogue.quarantine_items(status, stack_ids)]


# the review queue ----------------------------------------------------------------------------------------------------
def review_key(document: dict) -> tuple:
    """Where a document stands in the review queue: case by case (documents not routed to a case last), in the
    order received."""
    return document["case_no"] is None, document["case_no"] or "", document["received_order"], document["id"]


def review_queue(ctx) -> list[dict]:
    taxonomy = rules(ctx.settings.cases).taxonomy
    queue = sorted(ctx.catalogue.documents_in_review(), key=review_key)
    return [d | {"type_name": _type_name(taxonomy, d["type_code"]), "reason": mask_text(d["reason"] or "")}
            for d in queue]


def next_in_review(ctx, after: tuple, inclusive: bool) -> int | None:
    """The document to review after the one at `after` (itself too, with `inclusive`, while it is still in
    review); from the start again past the end."""
    keys = sorted(review_key(d) for d in ctx.catalogue.documents_in_review())
    later = [k for k in keys if k >= after if inclusive or k != after]
    found = later or keys
    return found[0][-1] if found else None


def review_document(ctx, document: dict) -> dict:
    taxonomy = rules(ctx.settings.cases).taxonomy
    rows = ctx.catalogue.pages_by_id(document["page_ids"])
    pages = [{"id": pid, "position": n, "text": rows[pid]["text"] or "", "image": bool(rows[pid]["pdf_key"]),
              "confidence": rows[pid]["mean_conf"]} for n, pid in enumerate(document["page_ids"], 1)]
    queue = [d["id"] for d in review_queue(ctx)]
    return {"document": document | {"reason": mask_text(document["reason"] or "")},
            "type_name": _type_name(taxonomy, document["type_code"]), "pages": pages,
            "following": following(ctx, document), "types": [(c, _type_name(taxonomy, c)) for c in taxonomy.codes],
            "place": (queue.index(document["id"]) + 1 if document["id"] in queue else None, len(queue))}


def following(ctx, document: dict) -> dict | None:
    """The document received after this one in its case: what 'merge with the next' joins it with."""
    if document["case_no"] is None:
        return None
    held = ctx.catalogue.documents_of_case(document["case_no"])
    at = next((i for i, d in enumerate(held) if d["id"] == document["id"]), None)
    return held[at + 1] if at is not None and at + 1 < len(held) else None


def _type_name(taxonomy, code: str) -> str:
    return taxonomy.get(code).name.split("/")[0] if code in taxonomy.codes else "未识别材料"


# cases ---------------------------------------------------------------------------------------------------------------
def cases(ctx) -> list[dict]:
    flagged: dict[str, int] = {}
    for alert in reports.alerts(ctx):
        flagged[alert["case_no"]] = flagged.get(alert["case_no"], 0) + 1
    rows = []
    for row in reports.overall_status(ctx)["cases"]:
        held = ctx.catalogue.case(row["case_no"])
        rows.append(row | {"opened": bool(held and held["opened_at"]),
                           "digitised_case": bool(held and held["digitised"]), "alerts": flagged.get(row["case_no"], 0)})
    return rows


def case(ctx, case_no: str) -> dict | None:
    data = reports.case_status(ctx, case_no)
    if data is None:
        return None
    return {"case": data, "missing": [mask_text(m) for m in data["missing"]],
            "contents": contents(ctx, data["family"], ctx.catalogue.documents_of_case(case_no)),
            "corrections": [c | {"detail": mask_text(_detail(c["detail"]))}
                            for c in corrections_flow.history(ctx, case_no)],
            "audit": [{"seq": a["seq"], "at": when(ctx, a["at"]), "kind": a["kind"], "actor": mask_text(a["actor"]),
                       "detail": mask_text(a["detail"])} for a in ctx.catalogue.audit_of_case(case_no)],
            "volumes": ctx.catalogue.volumes_of_case(case_no)}


def contents(ctx, family: str, documents: list[dict]) -> list[dict]:
    """The dossier as it will be bound: per volume its documents in binding order (dossier.export), with the
    archival page numbers binding gives them (dossier.assemble.place_documents)."""
    from dossier.assemble import place_documents
    from dossier.export import numbered, volumes_in_order
    from dossier.model import VOLUME_NAMES, DocumentEntry
    taxonomy = rules(ctx.settings.cases).taxonomy
    pictured = {pid for pid, row in ctx.catalogue.pages_by_id(p for d in documents for p in d["page_ids"]).items()
                if row["pdf_key"]}
    bound = []
    for volume, ordered in volumes_in_order(documents, taxonomy, family):
        entries = [DocumentEntry(d["title"], d["type_code"], _type_name(taxonomy, d["type_code"]),
                                 tuple(Path(str(p)) for p in d["page_ids"]),       # placing counts pages only
                                 numbered=numbered(d["type_code"], taxonomy)) for d in ordered]
        placed = place_documents(entries, first_pdf_index=0)
        bound.append({"volume": volume, "name": VOLUME_NAMES[volume],
                      "documents": [_bound_document(d, p, taxonomy, pictured) for d, p in zip(ordered, placed)]})
    return bound


def _bound_document(document: dict, placed, taxonomy, pictured: set[int]) -> dict:
    first = placed.first_page
    pages = [{"id": pid, "number": None if first is None else first + n, "image": pid in pictured}
             for n, pid in enumerate(document["page_ids"])]
    return {"id": document["id"], "index": placed.index, "range": placed.page_range, "pages": pages,
            "type_code": document["type_code"], "type_name": _type_name(taxonomy, document["type_code"]),
            "title": document["title"], "review": bool(document["review"]), "corrected": bool(document["corrected"]),
            "confidence": document["confidence"], "reason": mask_text(document["reason"] or "")}


def _detail(detail: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in detail.items())
