"""The web pages on `edossier serve`: the filing kiosk at /kiosk and the operator console at /console. Pages are
rendered on the server (Jinja2 templates in kiosk/templates) with a little plain JavaScript (kiosk/static); nothing
is built. Kiosk pages are never cached, so nothing of one person stays in the browser for the next."""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from classify.identifiers import mask_text
from ingest.filings import FilingRefused
from kiosk.i18n import LANGUAGES, translator
from kiosk.sessions import Forbidden, KioskNotEnrolled, SignInNeeded

HERE = Path(__file__).parent
ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
ENV.filters["masked"] = lambda text: mask_text(str(text or ""))
ENV.filters["when"] = lambda at: time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else ""
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


def render(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    lang = request.cookies.get("edossier_lang", "zh")
    lang = lang if lang in LANGUAGES else "zh"
    html = ENV.get_template(name).render(request=request, t=translator(lang), lang=lang, **values)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def mount(app: FastAPI, ctx) -> None:
    from kiosk import console, inbox, kiosk_pages
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(kiosk_pages.router(ctx))
    app.include_router(inbox.router(ctx))
    app.include_router(console.router(ctx))
    _handlers(app)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded):
        if request.headers.get("authorization"):
            return HTMLResponse(exc.reason or "sign in", status_code=401, headers=NO_STORE)
        target = f"/console/login?next={quote(exc.next_url)}" + ("&ended=1" if exc.reason else "")
        return RedirectResponse(target, status_code=303, headers=NO_STORE)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        return render(request, "console/forbidden.html", status=403, reason=str(exc))

    @app.exception_handler(FilingRefused)
    async def refused(request: Request, exc: FilingRefused):
        where = "console/forbidden.html" if request.url.path.startswith("/console") else "kiosk/refused.html"
        lang = request.cookies.get("edossier_lang", "zh")
        return render(request, where, status=422, reason=exc.said(lang), filing=None, idle_s=120)

    @app.exception_handler(KioskNotEnrolled)
    async def not_enrolled(request: Request, _exc: KioskNotEnrolled):
        return RedirectResponse("/kiosk/enrol", status_code=303, headers=NO_STORE)
