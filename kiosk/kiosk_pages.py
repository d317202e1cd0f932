"""The filing kiosk at /kiosk, one page per step, in the order a person files (ingest/filings.py is the flow):

    welcome → identity → what to file → risk notice → capture (scanner, document camera, phone) → form → sign →
    receipt

Each step's page is refused until the steps before it are done. The browser holds only a session cookie; after
`kiosk.idle_s` without a touch the page clears itself and the server ends the session, and no kiosk page is cached.
"""
from __future__ import annotations

import base64
import io

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from PIL import Image

from classify.cause import known_causes
from classify.coversheet import qr_svg
from classify.identifiers import mask_identifier
from devices.idcard import CardError, open_reader
from ingest import filings
from kiosk import capture, sessions
from kiosk.i18n import translator
from kiosk.web import NO_STORE, render

STEPS = ("identity", "what", "notice", "capture", "form", "sign", "receipt")
NOTICE = (
    "一、当事人起诉应当有明确的被告、具体的诉讼请求和事实理由，并属于人民法院受理民事诉讼的范围和受诉人民法院管辖。",
    "二、当事人应当按规定预交案件受理费；逾期未交又未申请缓交、减交、免交的，按撤诉处理。",
    "三、当事人对自己提出的主张有责任提供证据；不能提供证据或者证据不足以证明其主张的，承担不利后果。",
    "四、当事人提交的材料应当真实；伪造、隐匿、毁灭证据或者提供虚假陈述的，将依法承担法律责任。",
    "五、超过诉讼时效期间起诉的，可能因对方提出诉讼时效抗辩而败诉。",
    "六、自助立案提交后须经立案法官审查；审查通过并编立案号后，方为立案。",
)


def router(ctx) -> APIRouter:
    pages = APIRouter(prefix="/kiosk", include_in_schema=False)

    def filing_of(request: Request, touch: bool = True) -> dict | None:
        sessions.kiosk_client(ctx, request)
        filing_id = sessions.current_filing(ctx, request, touch)
        return ctx.catalogue.filing(filing_id) if filing_id else None

    def step(request: Request, name: str, touch: bool = True):
        """The filing for step `name`, or a redirect to the step still to be done (or the start); once submitted,
        only its receipt."""
        filing = filing_of(request, touch)
        if filing is None:
            return None, _go("/kiosk?idle=1")
        todo = _first_todo(ctx, filing)
        if STEPS.index(name) > STEPS.index(todo) or todo == "receipt" and name != "receipt":
            return None, _go(f"/kiosk/{todo}")
        return filing, None

    def leave(request: Request, response: Response) -> None:
        """The person is done or gone: their captures stop, an unsubmitted draft is set aside, the session ends."""
        filing_id = sessions.end_filing(ctx, request, response)
        if filing_id is not None:
            capture.stop(filing_id)
            filings.set_aside(ctx, filing_id)

    def show(request: Request, template: str, filing: dict | None, **values):
        return render(request, f"kiosk/{template}.html", filing=filing, steps=STEPS, idle_s=ctx.settings.kiosk.idle_s,
                      here=template, **values)

    # the kiosk itself ------------------------------------------------------------------------------------------
    @pages.get("/enrol")
    def enrol_page(request: Request):
        return show(request, "enrol", None, error=None)

    @pages.post("/enrol")
    def enrol(request: Request, token: str = Form(...)):
        response = _go("/kiosk")
        if sessions.enrol(ctx, response, token) is None:
            return show(request, "enrol", None, error="not a device token of this court 不是本院的设备令牌")
        return response

    @pages.get("")
    def welcome(request: Request, idle: int = 0):
        sessions.kiosk_client(ctx, request)
        response = show(request, "welcome", None, idle=bool(idle), error=None)
        leave(request, response)
        return response

    @pages.get("/lang")
    def language(request: Request, to: str = "zh", back: str = "/kiosk"):
        """Switch the language and go back to the same step, the filing kept."""
        response = _go(back if back.startswith("/kiosk") and "//" not in back else "/kiosk")
        response.set_cookie("edossier_lang", to if to in ("zh", "en") else "zh", samesite="strict", path="/")
        return response

    @pages.post("/start")
    def start(request: Request):
        kiosk = sessions.kiosk_client(ctx, request)
        response = _go("/kiosk/identity")
        leave(request, response)
        sessions.start_filing(ctx, response, filings.begin(ctx, kiosk)["id"])
        return response

    @pages.post("/resume")
    def resume(request: Request, code: str = Form(...), number: str = Form(...)):
        sessions.kiosk_client(ctx, request)
        try:
            filing = filings.resume(ctx, code, number)
        except filings.FilingRefused as exc:
            return show(request, "welcome", None, idle=False, error=said(request, exc))
        response = _go("/kiosk/capture")
        sessions.start_filing(ctx, response, filing["id"])
        return response

    @pages.post("/finish")
    def finish(request: Request):
        sessions.kiosk_client(ctx, request)
        response = _go("/kiosk")
        leave(request, response)
        return response

    # 1. identity -----------------------------------------------------------------------------------------------
    @pages.get("/identity")
    def identity_page(request: Request):
        filing, away = step(request, "identity")
        return away or show(request, "identity", filing, error=None, reader=bool(ctx.settings.kiosk.idcard),
                            masked=_masked_identity(filing))

    @pages.post("/identity/card")
    def identity_card(request: Request):
        filing, away = step(request, "identity")
        if away:
            return away
        if not ctx.settings.kiosk.idcard:
            return show(request, "identity", filing, error=_t(request)("no_reader"), reader=False, masked=None)
        reader = open_reader(ctx.settings.kiosk.idcard)
        try:
            card = reader.read(timeout_s=15)
        except CardError as exc:
            return show(request, "identity", filing, error=said(request, exc), reader=True, masked=None)
        finally:
            reader.close()
        if card is None:
            return show(request, "identity", filing, error=_t(request)("no_card"), reader=True, masked=None)
        filings.set_identity(ctx, filing["id"], name=card.name, number=card.number, source="card",
                             card={"sex": card.sex, "birth": card.birth, "valid_to": card.valid_to})
        return _go("/kiosk/identity")

    @pages.post("/identity")
    def identity_typed(request: Request, name: str = Form(""), number: str = Form("")):
        filing, away = step(request, "identity")
        if away:
            return away
        try:
            filings.set_identity(ctx, filing["id"], name=name, number=number, source="typed")
        except filings.FilingRefused as exc:
            return show(request, "identity", filing, error=said(request, exc), reader=bool(ctx.settings.kiosk.idcard),
                        masked=None)
        return _go("/kiosk/identity")

    # 2. what to file ------------------------------------------------------------------------------------------
    @pages.get("/what")
    def what_page(request: Request):
        filing, away = step(request, "what")
        return away or show(request, "what", filing, error=None, courts=filings.courts(ctx),
                            causes=known_causes(), kinds=filings.KINDS)

    @pages.post("/what")
    def what(request: Request, kind: str = Form(""), court: str = Form(""), cause: str = Form("")):
        filing, away = step(request, "what")
        if away:
            return away
        try:
            filings.set_what(ctx, filing["id"], kind=kind, court=court, cause=cause)
        except filings.FilingRefused as exc:
            return show(request, "what", filing, error=said(request, exc), courts=filings.courts(ctx), causes=known_causes(),
                        kinds=filings.KINDS)
        return _go("/kiosk/notice")

    # 3. risk notice -------------------------------------------------------------------------------------------
    @pages.get("/notice")
    def notice_page(request: Request):
        filing, away = step(request, "notice")
        return away or show(request, "notice", filing, notice=NOTICE, error=None)

    @pages.post("/notice")
    def notice(request: Request, accepted: str = Form("")):
        filing, away = step(request, "notice")
        if away:
            return away
        if accepted != "yes":
            return show(request, "notice", filing, notice=NOTICE, error=_t(request)("tick_notice"))
        filings.accept_notice(ctx, filing["id"])
        return _go("/kiosk/capture")

    # 4. capture -----------------------------------------------------------------------------------------------
    @pages.get("/capture")
    def capture_page(request: Request, material: str | None = None):
        filing, away = step(request, "capture")
        if away:
            return away
        materials = filings.MATERIALS[filing["kind"]]
        chosen = material if material in materials else materials[0]
        return show(request, "capture", filing, materials=materials, material=chosen,
                    devices=capture.devices(ctx), pages=filings.pages(ctx, filing["id"]),
                    reason=filing["reason"] if filing["state"] == "returned" else None)

    @pages.get("/phone")
    def phone_qr(request: Request):
        """A new one-time link for the person's phone, as a QR code (an earlier link stops working)."""
        filing, away = step(request, "capture")
        if away:
            return away
        link = f"{str(request.base_url).rstrip('/')}/kiosk/upload/{filings.phone_link(ctx, filing['id'])}"
        return show(request, "phone", filing, phone_qr=qr_svg(link),
                    phone_link=link, pages=filings.pages(ctx, filing["id"]))

    @pages.post("/capture/{role}")
    def capture_start(request: Request, role: str, material: str = Form(...), instead_of: int | None = Form(None)):
        filing, away = step(request, "capture")
        if away:
            return away
        try:
            current = capture.start(ctx, filing["id"], role, material, instead_of)
        except filings.FilingRefused as exc:
            return JSONResponse({"error": said(request, exc)}, status_code=409)
        return JSONResponse({"device": current.device, "running": current.running})

    @pages.get("/capture-state")
    def capture_state(request: Request):
        filing, away = step(request, "capture", touch=False)
        if away:
            return JSONResponse({"gone": True}, status_code=410)
        current = capture.state(filing["id"])
        kept = filings.pages(ctx, filing["id"])
        return JSONResponse({"running": bool(current and current.running), "error": current and current.error,
                             "captured": current.pages if current else 0, "preview": bool(current and current.preview),
                             "pages": [{"id": p["id"], "material": p["material"], "source": p["source"]}
                                       for p in kept]}, headers=NO_STORE)

    @pages.get("/capture/preview.jpg")
    def preview(request: Request):
        filing, away = step(request, "capture", touch=False)
        current = capture.state(filing["id"]) if filing else None
        if away or current is None or current.preview is None:
            return Response(status_code=204, headers=NO_STORE)
        return Response(current.preview, media_type="image/jpeg", headers=NO_STORE)

    @pages.get("/pages/{page_id}/thumb.jpg")
    def thumbnail(request: Request, page_id: int):
        filing = filing_of(request, touch=False)
        page = ctx.catalogue.filing_page(page_id)
        if filing is None or page is None or page["filing_id"] != filing["id"]:
            return Response(status_code=404, headers=NO_STORE)
        return Response(thumbnail_jpeg(ctx.blobs.get_bytes(page["sha256"])), media_type="image/jpeg", headers=NO_STORE)

    @pages.post("/pages/{page_id}/{action}")
    def page_action(request: Request, page_id: int, action: str):
        filing, away = step(request, "capture")
        if away:
            return away
        if action == "delete":
            filings.delete_page(ctx, filing["id"], page_id)
        elif action in ("up", "down"):
            filings.move_page(ctx, filing["id"], page_id, -1 if action == "up" else 1)
        else:
            return Response(status_code=404, headers=NO_STORE)
        page = ctx.catalogue.filing_page(page_id)
        return _go(f"/kiosk/capture?material={page['material']}")

    # the phone's one-time upload page (no kiosk cookie: it is the person's own phone) ---------------------------
    @pages.get("/upload/{secret}")
    def phone_page(request: Request, secret: str):
        try:
            filing = filings.phone_filing(ctx, secret)
        except filings.FilingRefused as exc:
            return render(request, "kiosk/upload.html", status=410, error=said(request, exc), filing=None, materials=())
        return render(request, "kiosk/upload.html", error=None, filing=filing, secret=secret, uploaded=None,
                      materials=filings.MATERIALS[filing["kind"]])

    @pages.post("/upload/{secret}")
    def phone_upload(request: Request, secret: str, material: str = Form(...), done: str = Form(""),
                     files: list[UploadFile] = File(default=[])):
        try:
            filing = filings.phone_filing(ctx, secret)
            for upload in files:
                filings.add_page(ctx, filing["id"], upload.file.read(), material=material, source="phone",
                                 provenance={"device": "phone", "name": upload.filename or ""})
            if done:
                filings.phone_done(ctx, secret)
        except filings.FilingRefused as exc:
            return render(request, "kiosk/upload.html", status=422, error=said(request, exc), filing=None, materials=())
        return render(request, "kiosk/upload.html", error=None, filing=None if done else filing, secret=secret,
                      uploaded=len(files), finished=bool(done), materials=filings.MATERIALS[filing["kind"]])

    # 5. the pre-filled form ----------------------------------------------------------------------------------
    @pages.get("/form")
    def form_page(request: Request):
        filing, away = step(request, "form")
        return away or show(request, "form", filing, fields=filings.read_form(ctx, filing["id"]), error=None)

    @pages.post("/form")
    async def form(request: Request):
        filing, away = step(request, "form")
        if away:
            return away
        values = {k: str(v) for k, v in (await request.form()).items()}
        try:
            filings.save_form(ctx, filing["id"], values)
        except filings.FilingRefused as exc:
            fields = [f | {"value": values.get(f["name"], f["value"])} for f in filings.read_form(ctx, filing["id"])]
            return show(request, "form", filing, fields=fields, error=said(request, exc))
        return _go("/kiosk/sign")

    # 6. confirm and sign ------------------------------------------------------------------------------------
    @pages.get("/sign")
    def sign_page(request: Request):
        filing, away = step(request, "sign")
        return away or show(request, "sign", filing, counts=filings.material_counts(ctx, filing["id"]),
                            fields=filing["form"], masked=_masked_identity(filing), error=None)

    @pages.post("/sign")
    def sign(request: Request, signature: str = Form("")):
        filing, away = step(request, "sign")
        if away:
            return away
        try:
            filings.submit(ctx, filing["id"], _png_of(signature))
        except filings.FilingRefused as exc:
            return show(request, "sign", filing, counts=filings.material_counts(ctx, filing["id"]),
                        fields=filing["form"], masked=_masked_identity(filing), error=said(request, exc))
        return _go("/kiosk/receipt")

    # 7. receipt ---------------------------------------------------------------------------------------------
    @pages.get("/receipt")
    def receipt_page(request: Request):
        filing, away = step(request, "receipt")
        return away or show(request, "receipt", filing, counts=filings.material_counts(ctx, filing["id"]),
                            masked=_masked_identity(filing))

    @pages.get("/receipt.pdf")
    def receipt_pdf(request: Request):
        filing, away = step(request, "receipt")
        if away:
            return away
        return Response(filings.receipt(ctx, filing["id"]), media_type="application/pdf",
                        headers=NO_STORE | {"Content-Disposition": f'inline; filename="{filing["code"]}.pdf"'})

    return pages


def _png_of(data_url: str) -> bytes:
    """The signature canvas's data: URL as bytes (nothing drawn or not a data URL: no bytes)."""
    try:
        return base64.b64decode(data_url.partition(",")[2] or "", validate=True)
    except ValueError:
        return b""


def said(request: Request, exc: Exception) -> str:
    lang = request.cookies.get("edossier_lang", "zh")
    return exc.said(lang) if isinstance(exc, filings.FilingRefused) else str(exc)


def _t(request: Request):
    return translator(request.cookies.get("edossier_lang", "zh"))


def _first_todo(ctx, filing: dict) -> str:
    if filing["state"] not in filings.OPEN:
        return "receipt"
    done = {"identity": bool(filing["identity"]), "what": bool(filing["kind"]),
            "notice": bool(filing["notice_accepted_at"]), "capture": False, "form": filings.form_confirmed(filing),
            "sign": False}
    done["capture"] = done["notice"] and bool(filings.pages(ctx, filing["id"]))
    return next((name for name in STEPS if not done.get(name)), "receipt")


def _masked_identity(filing: dict | None) -> dict | None:
    identity = (filing or {}).get("identity")
    if not identity:
        return None
    return {"name": identity["name"], "number": mask_identifier(identity["number"]), "source": identity["source"]}


def thumbnail_jpeg(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((360, 360))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)
