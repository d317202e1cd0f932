"""The filing judge's inbox at /console/filings: filings made at a kiosk, waiting; each with its pages, its form
(what OCR pre-filled and what the person changed) and its signature; accept it with the case number the court
issued, return it once for correction, or refuse it — each decision checked against the judge's role on the server."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from classify.identifiers import mask_identifier, mask_text
from ingest import filings
from kiosk import sessions
from kiosk.kiosk_pages import thumbnail_jpeg
from kiosk.web import NO_STORE, render


def router(ctx) -> APIRouter:
    pages = APIRouter(prefix="/console/filings", include_in_schema=False)

    def signed_in(request: Request) -> sessions.User:
        return sessions.console_user(ctx, request).require("filings")

    @pages.get("")
    def inbox(request: Request, user: sessions.User = Depends(signed_in)):
        waiting = ctx.catalogue.filings_in(("submitted", "accepting"))
        recent = ctx.catalogue.filings_in(("returned", "accepted", "refused"))[-20:][::-1]
        return render(request, "console/filings.html", user=user, waiting=[_row(ctx, f) for f in waiting],
                      recent=[_row(ctx, f) for f in recent], flash=_decided(ctx, request.query_params.get("done")))

    @pages.get("/{filing_id}")
    def one(request: Request, filing_id: int, user: sessions.User = Depends(signed_in)):
        filing = _filing(ctx, filing_id)
        return render(request, "console/filing.html", user=user, filing=_row(ctx, filing),
                      pages=filings.pages(ctx, filing_id), fields=filing["form"] or [], error=None, flash=None)

    @pages.get("/pages/{page_id}/thumb.jpg")
    def thumbnail(page_id: int, user: sessions.User = Depends(signed_in)):
        page = ctx.catalogue.filing_page(page_id)
        if page is None:
            return Response(status_code=404)
        return Response(thumbnail_jpeg(ctx.blobs.get_bytes(page["sha256"])), media_type="image/jpeg", headers=NO_STORE)

    @pages.get("/{filing_id}/signature.png")
    def signature(filing_id: int, user: sessions.User = Depends(signed_in)):
        filing = _filing(ctx, filing_id)
        if not filing["signature_sha256"]:
            return Response(status_code=404)
        return Response(ctx.blobs.get_bytes(filing["signature_sha256"]), media_type="image/png", headers=NO_STORE)

    @pages.post("/{filing_id}/{decision}")
    def decide(request: Request, filing_id: int, decision: str, case_no: str = Form(""), reason: str = Form(""),
               user: sessions.User = Depends(signed_in)):
        filing = _filing(ctx, filing_id)
        actions = {"accept": lambda: filings.accept(ctx, filing_id, case_no, user.name),
                   "return": lambda: filings.give_back(ctx, filing_id, reason, user.name),
                   "refuse": lambda: filings.refuse(ctx, filing_id, reason, user.name)}
        if decision not in actions:
            return Response(status_code=404)
        try:
            actions[decision]()
        except (filings.FilingRefused, filings.cases_flow.CaseRefused) as exc:
            return render(request, "console/filing.html", status=422, user=user, filing=_row(ctx, filing),
                          pages=filings.pages(ctx, filing_id), fields=filing["form"] or [],
                          error=mask_text(str(exc)), flash=None)
        return RedirectResponse(f"/console/filings?done={filing_id}", status_code=303, headers=NO_STORE)

    return pages


def _filing(ctx, filing_id: int) -> dict:
    filing = ctx.catalogue.filing(filing_id)
    if filing is None:
        raise filings.FilingRefused(f"no filing {filing_id}")
    return filing


def _decided(ctx, filing_id: str | None) -> str | None:
    """What was just decided on a filing, said from the filing itself."""
    filing = ctx.catalogue.filing(int(filing_id)) if filing_id and filing_id.isdigit() else None
    if filing is None:
        return None
    said = {"accepted": f"accepted as {filing['case_no']}", "returned": "returned for correction",
            "refused": "refused"}
    return f"{filing['code']} {said.get(filing['state'], filing['state'])}"


def _row(ctx, filing: dict) -> dict:
    identity = filing["identity"] or {}
    return filing | {"filer": identity.get("name", ""), "filer_id": mask_identifier(identity.get("number", "")),
                     "counts": filings.material_counts(ctx, filing["id"]), "kind_name": filings.KINDS.get(filing["kind"])}
