"""The console's review queue: documents flagged for a person, one at a time, the page images beside the text read,
and the corrections an operator makes there. Each is one `ingest.corrections.correct` recorded as `console:NAME`
(with when, in the catalogue and the case's audit log); then the next document in review is shown. Accepting is
confirming the suggested type: a `type` correction with that type, which takes the document out of review."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from classify.identifiers import mask_text
from ingest import corrections as corrections_flow
from ingest.cases import CaseRefused
from ingest.corrections import CorrectionRefused
from kiosk import console_views as views
from kiosk.web import NO_STORE

DONE = {"accept": "Accepted. 已确认。", "type": "Type corrected. 类型已更正。", "split": "Split. 已拆分。",
        "merge": "Merged. 已合并。", "reorder": "Pages reordered. 页序已调整。", "move": "Page moved. 页已移至他案。"}


def routes(pages: APIRouter, ctx, signed_in, show) -> None:
    @pages.get("/review")
    def queue(request: Request, user=Depends(signed_in)):
        user.require("cases")
        return show(request, "review", user, queue=views.review_queue(ctx))

    @pages.get("/review/{document_id}")
    def one(request: Request, document_id: int, user=Depends(signed_in)):
        user.require("cases")
        document = ctx.catalogue.document(document_id)
        if document is None:                     # filed again meanwhile: its pages are in another document now
            return _go(ctx, None, inclusive=True)
        return show(request, "review_document", user, **views.review_document(ctx, document))

    @pages.get("/review/{document_id}/next")
    def skip(document_id: int, user=Depends(signed_in)):
        user.require("cases")
        document = ctx.catalogue.document(document_id)
        return _go(ctx, views.review_key(document) if document else None, inclusive=False)

    @pages.post("/review/{document_id}/{action}")
    def act(request: Request, document_id: int, action: str, type: str = Form(""), page: str = Form(""),
            other: str = Form(""), order: str = Form(""), to_case: str = Form(""), user=Depends(signed_in)):
        user.require("cases")
        document = ctx.catalogue.document(document_id)
        if document is None or action not in FORMS:
            return _go(ctx, None, inclusive=True)
        try:
            kind, given = FORMS[action](document, {"type": type, "page": page, "other": other, "order": order,
                                                   "to_case": to_case})
            corrections_flow.correct(ctx, kind, f"console:{user.name}", **given)
        except CaseRefused as exc:
            return show(request, "review_document", user, status=422, error=mask_text(str(exc)),
                        **views.review_document(ctx, document))
        return _go(ctx, views.review_key(document), inclusive=True, done=action)


def _go(ctx, after: tuple | None, inclusive: bool, done: str = "") -> RedirectResponse:
    """To the next document in review (the queue when none is left), saying what was just done."""
    found = views.next_in_review(ctx, after or (), inclusive)
    target = f"/console/review/{found}" if found is not None else "/console/review"
    return RedirectResponse(target + (f"?done={done}" if done else ""), status_code=303, headers=NO_STORE)


# each form: (correction kind, what correct() is given) --------------------------------------------------------------
def _accept(document: dict, form: dict) -> tuple[str, dict]:
    return "type", {"document": document["id"], "type": document["type_code"]}


def _type(document: dict, form: dict) -> tuple[str, dict]:
    return "type", {"document": document["id"], "type": form["type"]}


def _split(document: dict, form: dict) -> tuple[str, dict]:
    return "split", {"document": document["id"], "page": _id(form["page"], "the page to split at")}


def _merge(document: dict, form: dict) -> tuple[str, dict]:
    return "merge", {"document": document["id"], "other": _id(form["other"], "the next document")}


def _reorder(document: dict, form: dict) -> tuple[str, dict]:
    """`order`: the pages' positions in the document (1, 2, …) in their new order, e.g. "2 1 3"."""
    held = document["page_ids"]
    try:
        positions = [int(p) for p in form["order"].replace(",", " ").split()]
    except ValueError:
        positions = []
    if sorted(positions) != list(range(1, len(held) + 1)):
        raise CorrectionRefused(f"give each page's position once, in the new order: 1 to {len(held)}, e.g. "
                                + " ".join(map(str, range(len(held), 0, -1))))
    return "reorder", {"document": document["id"], "order": [held[p - 1] for p in positions]}


def _move(document: dict, form: dict) -> tuple[str, dict]:
    if not form["to_case"].strip():
        raise CorrectionRefused("say which case the page goes to, e.g. （2024）浙0803民初1234号")
    return "move", {"page": _id(form["page"], "the page to move"), "to_case": form["to_case"].strip()}


def _id(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CorrectionRefused(f"choose {what}") from None


FORMS = {"accept": _accept, "type": _type, "split": _split, "merge": _merge, "reorder": _reorder, "move": _move}
