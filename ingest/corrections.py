"""Corrections by operators to what was filed automatically — from the command line and the HTTP API alike.

An operator names documents and pages by the ids `edossier status CASE --json` shows. Each correction is checked,
recorded with who made it and when (in the catalogue and in the case's audit log), and the stacks it touches are
filed again at once — classification drafts them afresh and every correction recorded for them is applied again
(classify.corrections) — then the cases concerned are assembled and settled, so the dossier, the status and the
court's figures show it when the command returns. A later classification applies the same corrections again: a
person's correction is never undone.
"""
from __future__ import annotations

import time

from classify.corrections import KINDS
from classify.identifiers import mask_text
from dossier import audit
from ingest import pipeline
from ingest.cases import CaseRefused, case_number, iso, rules, type_code


WAIT_S = 120.0     # a worker holding a stack's or case's lease finishes its turn well within this


class CorrectionRefused(CaseRefused):
    """A correction that cannot apply as given (an unknown document or page, a page not in that document …)."""


def correct(ctx, kind: str, actor: str, **given) -> dict:
    """Record one correction and file again what it touches. Answers the correction as recorded."""
    if kind not in KINDS:
        raise CorrectionRefused(f"unknown correction {kind!r}: one of {', '.join(KINDS)}")
    case_no, detail, pages, cases = CHECKS[kind](ctx, **given)
    stacks = _stacks_of(ctx, pages)
    row = ctx.catalogue.add_correction(case_no=case_no, kind=kind, detail=detail, stack_ids=stacks,
                                       actor=actor, at=time.time())
    for case in sorted({case_no, *cases}):
        audit.record(ctx, case, f"correction:{row['id']}", "correction", actor, {"kind": kind, **detail}, row["at"])
    refile(ctx, stacks, {case_no, *cases})
    return as_json(ctx, row)


def _stacks_of(ctx, pages: list[int]) -> list[int]:
    """The stacks whose filing a correction naming these pages changes: where each page was received, and where
    the document holding it now is (a page moved or merged into another stack's document)."""
    found = set(ctx.catalogue.stack_of_pages(pages).values())
    for page in pages:
        holder = ctx.catalogue.document_of_page(page)
        if holder is not None:
            found.add(holder["stack_id"])
    return sorted(found)


def refile(ctx, stack_ids: list[int], cases: set[str], wait_s: float = WAIT_S) -> None:
    """File the stacks again now, then build and settle every case whose documents may have changed. A stack or
    case a worker is busy with at that moment is waited for (its lease lasts while it works), so what the
    correction changes shows when this returns."""
    touched = set(cases)
    for stack_id in stack_ids:
        before = {d["case_no"] for d in ctx.catalogue.documents_of_stacks([stack_id])}
        _when_free(lambda: pipeline.classify(ctx, stack_id), wait_s)
        touched |= before | {d["case_no"] for d in ctx.catalogue.documents_of_stacks([stack_id])}
    for case_no in sorted(c for c in touched if c):
        _when_free(lambda: pipeline.assemble(ctx, case_no), wait_s)   # builds the dossier, settles the case


def _when_free(work, wait_s: float) -> None:
    """Run `work` until it is not refused for being in another worker's hands, for up to `wait_s` seconds (then
    the job it queued does it)."""
    deadline = time.monotonic() + wait_s
    while not work() and time.monotonic() < deadline:
        time.sleep(0.5)


def history(ctx, text: str) -> list[dict]:
    """The corrections made in a case, oldest first."""
    return [as_json(ctx, row) for row in ctx.catalogue.corrections_of_case(case_number(text))]


def as_json(ctx, row: dict) -> dict:
    """The correction as shown: a reason typed with a personal number in it is masked (the record keeps it)."""
    detail = dict(row["detail"])
    if detail.get("reason"):
        detail["reason"] = mask_text(detail["reason"])
    return {"id": row["id"], "case_no": row["case_no"], "kind": row["kind"], "detail": detail,
            "by": row["actor"], "at": iso(row["at"], rules(ctx.settings.cases).calendar)}


# checks: each answers (case, detail, pages it names, other cases it touches) ------------------------------------
def _document(ctx, document_id) -> dict:
    found = ctx.catalogue.document(int(document_id)) if document_id is not None else None
    if found is None:
        raise CorrectionRefused(f"no document {document_id}: `edossier status CASE --json` lists the documents "
                                "of a case with their ids")
    if found["case_no"] is None:
        raise CorrectionRefused(f"document {document_id} is not filed in a case yet: move its pages to a case "
                                "first (edossier correct move PAGE --to-case CASE_NO)")
    return found


def _page(ctx, page_id) -> dict:
    found = ctx.catalogue.page(int(page_id)) if page_id is not None else None
    if found is None:
        raise CorrectionRefused(f"no page {page_id}: `edossier status CASE --json` lists each document's page ids")
    return found


def _document_of_page(ctx, page_id: int) -> dict:
    found = ctx.catalogue.document_of_page(page_id)
    if found is None:
        raise CorrectionRefused(f"page {page_id} is in no document (a blank, a separator sheet, a page that failed "
                                "or one already left out)")
    return found


def _check_type(ctx, document=None, type=None, **_) -> tuple:
    doc = _document(ctx, document)
    code = type_code(rules(ctx.settings.cases).taxonomy, type or "")
    return doc["case_no"], {"page": doc["page_ids"][0], "type_code": code, "was": doc["type_code"]}, doc["page_ids"], ()


def _check_split(ctx, document=None, page=None, **_) -> tuple:
    doc = _document(ctx, document)
    if page is None or int(page) not in doc["page_ids"][1:]:
        raise CorrectionRefused(f"page {page} is not a page after the first of document {document} "
                                f"(its pages: {', '.join(map(str, doc['page_ids']))})")
    return doc["case_no"], {"page": int(page)}, doc["page_ids"], ()


def _check_merge(ctx, document=None, other=None, **_) -> tuple:
    first, second = _document(ctx, document), _document(ctx, other)
    if first["id"] == second["id"]:
        raise CorrectionRefused("a document cannot be merged with itself")
    if first["case_no"] != second["case_no"]:
        raise CorrectionRefused(f"documents {document} and {other} are in different cases: move pages instead")
    detail = {"page": first["page_ids"][0], "with_page": second["page_ids"][0], "pages": second["page_ids"],
              "case": first["case_no"]}
    return first["case_no"], detail, first["page_ids"] + second["page_ids"], ()


def _check_reorder(ctx, document=None, order=None, **_) -> tuple:
    doc = _document(ctx, document)
    order = [int(p) for p in order or ()]
    if sorted(order) != sorted(doc["page_ids"]):
        raise CorrectionRefused(f"give every page of document {document} once, in the new order "
                                f"(its pages: {', '.join(map(str, doc['page_ids']))})")
    return doc["case_no"], {"page": doc["page_ids"][0], "order": order}, doc["page_ids"], ()


def _check_move(ctx, page=None, to_document=None, to_case=None, **_) -> tuple:
    row = _page(ctx, page)
    source = _document_of_page(ctx, row["id"])
    if (to_document is None) == (to_case is None):
        raise CorrectionRefused("say where the page goes: --to-document DOC_ID or --to-case CASE_NO")
    if to_document is not None:
        target = _document(ctx, to_document)
        if target["id"] == source["id"]:
            raise CorrectionRefused(f"page {page} is already in document {to_document}: reorder it instead")
        detail = {"page": row["id"], "to_page": target["page_ids"][0], "to_case": target["case_no"]}
        named = [row["id"], target["page_ids"][0]]
        case_to = target["case_no"]
    else:
        case_to = case_number(to_case)
        if ctx.catalogue.case(case_to) is None:
            raise CorrectionRefused(f"no case {case_to}: open it first (edossier case open)")
        detail, named = {"page": row["id"], "to_case": case_to}, [row["id"]]
    home = source["case_no"] or case_to
    return home, detail | {"from_case": source["case_no"]}, named, (case_to,)


def _check_rescan(ctx, page=None, reason=None, **_) -> tuple:
    row = _page(ctx, page)
    doc = _document_of_page(ctx, row["id"])
    return doc["case_no"], {"page": row["id"], "reason": (reason or "").strip() or "to be scanned again"}, \
        [row["id"]], ()


def _check_replace(ctx, page=None, by=None, **_) -> tuple:
    old, new = _page(ctx, page), _page(ctx, by)
    doc = _document_of_page(ctx, old["id"])
    if new["id"] == old["id"]:
        raise CorrectionRefused("a page cannot replace itself")
    if new["status"] != "done":
        raise CorrectionRefused(f"page {by} is not read yet ({new['status']}): replace once it is digitised")
    if new["role"] in ("replaced", "removed") or any(
            c["kind"] == "replace" and c["detail"]["by"] == new["id"] for c in ctx.catalogue.corrections_of_case(
                doc["case_no"])):
        raise CorrectionRefused(f"page {by} was removed, replaced or already put in place of another page")
    return doc["case_no"], {"page": old["id"], "by": new["id"], "case": doc["case_no"]}, [old["id"], new["id"]], ()


def _check_remove(ctx, page=None, reason=None, **_) -> tuple:
    row = _page(ctx, page)
    doc = _document_of_page(ctx, row["id"])
    if not (reason or "").strip():
        raise CorrectionRefused("say why the page is removed (--reason), e.g. 'the same sheet scanned twice'")
    return doc["case_no"], {"page": row["id"], "reason": reason.strip()}, [row["id"]], ()


CHECKS = {"type": _check_type, "split": _check_split, "merge": _check_merge, "reorder": _check_reorder,
          "move": _check_move, "rescan": _check_rescan, "replace": _check_replace, "remove": _check_remove}
