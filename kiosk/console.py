"""The operator console at /console: sign in, the dashboard, stacks and quarantine, the review queue, cases. Every
route asks `signed_in` for the user and checks the right it needs on the server (`User.require`); what each page
shows is gathered in kiosk/console_views.py, the review queue's corrections are made in kiosk/console_review.py."""
from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from classify.identifiers import mask_text
from config.errors import NotFound
from ingest.cases import CaseRefused, case_number
from ingest.retry import RetryRefused, retry_item
from kiosk import console_review, sessions
from kiosk import console_views as views
from kiosk.web import NO_STORE, render
from ocr.pdfpage import page_image

DONE = {"retried": "Queued again. 已重新排队。", "rerouted": "Re-routed and queued again. 已改派案件并重新排队。",
        **console_review.DONE}


def router(ctx) -> APIRouter:
    pages = APIRouter(prefix="/console", include_in_schema=False)

    def signed_in(request: Request) -> sessions.User:
        return sessions.console_user(ctx, request)

    @pages.get("/login")
    def login_page(request: Request, next: str = "/console", ended: int = 0):
        return render(request, "console/login.html", next=_safe(next), ended=bool(ended), error=None)

    @pages.post("/login")
    def login(request: Request, name: str = Form(...), password: str = Form(...), next: str = Form("/console")):
        response = RedirectResponse(_safe(next), status_code=303, headers=NO_STORE)
        if sessions.sign_in(ctx, response, name.strip(), password) is None:
            return render(request, "console/login.html", status=401, next=_safe(next), ended=False,
                          error="Wrong name or password. 用户名或密码错误。")
        return response

    @pages.post("/logout")
    def logout(request: Request):
        response = RedirectResponse("/console/login", status_code=303, headers=NO_STORE)
        sessions.sign_out(ctx, request, response)
        return response

    @pages.get("")
    def dashboard(request: Request, user: sessions.User = Depends(signed_in)):
        user.require("read")
        return show(request, "dashboard", user, **views.dashboard(ctx))

    @pages.get("/live")
    def live(request: Request, user: sessions.User = Depends(signed_in)):
        user.require("read")
        return show(request, "live", user, live=views.live(ctx))

    _stack_routes(pages, ctx, signed_in)
    console_review.routes(pages, ctx, signed_in, show)
    _case_routes(pages, ctx, signed_in)
    return pages


def show(request: Request, name: str, user: sessions.User, status: int = 200, **values) -> Response:
    """A console page: its template with the user, the `quoted` helper for case numbers in links, and a notice."""
    return render(request, f"console/{name}.html", status=status, user=user, quoted=_quoted,
                  flash=DONE.get(request.query_params.get("done", "")), **values)


def missing(request: Request, user: sessions.User, what: str) -> Response:
    return show(request, "missing", user, status=404, what=what)


def _stack_routes(pages: APIRouter, ctx, signed_in) -> None:
    @pages.get("/stacks")
    def stack_list(request: Request, user: sessions.User = Depends(signed_in)):
        user.require("read")
        return show(request, "stacks", user, stacks=views.stacks(ctx), quarantined=len(views.quarantine(ctx)))

    @pages.get("/stacks/{stack_id}")
    def stack_detail(request: Request, stack_id: int, user: sessions.User = Depends(signed_in)):
        user.require("read")
        data = views.stack(ctx, stack_id)
        return missing(request, user, f"no stack {stack_id}") if data is None else show(request, "stack", user, **data)

    @pages.get("/quarantine")
    def quarantine(request: Request, status: Literal["open", "all"] = "open",
                   user: sessions.User = Depends(signed_in)):
        user.require("read")
        return show(request, "quarantine", user, listing=status,
                    items=views.quarantine(ctx, None if status == "all" else "open"))

    @pages.post("/quarantine/{item_id}/retry")
    def retry(request: Request, item_id: int, case_no: str = Form(""), password: str = Form(""),
              user: sessions.User = Depends(signed_in)):
        user.require("retry")
        try:
            retry_item(ctx, item_id, password=password or None, case_no=case_no.strip() or None,
                       client=f"console:{user.name}")
        except (RetryRefused, NotFound) as exc:
            return show(request, "quarantine", user, status=422, listing="open", items=views.quarantine(ctx),
                        error=mask_text(str(exc)))
        done = "rerouted" if case_no.strip() else "retried"
        return RedirectResponse(f"/console/quarantine?done={done}", status_code=303, headers=NO_STORE)


def _case_routes(pages: APIRouter, ctx, signed_in) -> None:
    @pages.get("/cases")
    def case_list(request: Request, user: sessions.User = Depends(signed_in)):
        user.require("read")
        return show(request, "cases", user, cases=views.cases(ctx))

    @pages.get("/cases/{case_no}")
    def case_view(request: Request, case_no: str, user: sessions.User = Depends(signed_in)):
        user.require("read")
        data = views.case(ctx, _number(case_no))
        return missing(request, user, f"no case {case_no}") if data is None else show(request, "case", user, **data)

    @pages.get("/cases/{case_no}/volumes/{volume}.pdf")
    def volume(request: Request, case_no: str, volume: Literal["ZJ", "FJ"],
               user: sessions.User = Depends(signed_in)):
        user.require("read")
        row = next((v for v in ctx.catalogue.volumes_of_case(_number(case_no)) if v["volume"] == volume), None)
        if row is None:
            return missing(request, user, f"case {case_no} has no {volume} volume (yet)")
        return StreamingResponse(_chunks(ctx.blobs.open_stream(row["blob_key"])), media_type="application/pdf",
                                 headers={"Content-Disposition": f'inline; filename="{volume}.pdf"', **NO_STORE})

    @pages.get("/pages/{page_id}/image")
    def page_picture(request: Request, page_id: int, user: sessions.User = Depends(signed_in)):
        user.require("read")
        row = ctx.catalogue.page(page_id)
        if row is None or not row["pdf_key"]:
            return missing(request, user, f"page {page_id} has no image (blank, separator, or not read yet)")
        data, media_type = page_image(ctx.blobs.get_bytes(row["pdf_key"]))
        return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


def _number(text: str) -> str:
    """The case number as the catalogue writes it; text that is none is looked up as given (and not found)."""
    try:
        return case_number(text)
    except CaseRefused:
        return text


def _quoted(case_no: str) -> str:
    return quote(case_no, safe="")


def _chunks(stream, size: int = 1 << 20):
    with stream:
        while chunk := stream.read(size):
            yield chunk


def _safe(target: str) -> str:
    """Only a console page of this site to go back to after signing in."""
    return target if target.startswith("/console") and "//" not in target else "/console"
