"""`edossier serve`: the HTTP service (FastAPI on uvicorn). Every page enters through the same `pipeline.accept` the
command line uses; every client authenticates with its own token; on the embedded default the same process runs the
in-process workers, so one command is a working service. OpenAPI at /docs."""
from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from classify.identifiers import mask_text, parse_case_number
from devices.registry import declared_devices, describe
from ingest import cases as cases_flow
from ingest import corrections as corrections_flow
from ingest import pipeline, reports
from ingest.auth import ROLES, TokenError, create_token, may
from ingest.metrics import metrics_text
from ingest.retry import RetryRefused, retry_item
from ingest.runner import local_runner
from ingest.sniff import ACCEPTED, sniff
from ocr.pdfpage import page_image

log = logging.getLogger("edossier.service")
API = "/api/v1"
MULTIPART_OVERHEAD = 64 * 1024


class ApiError(Exception):
    """Answered as JSON {code, reason} with `status`."""

    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


@dataclass(frozen=True)
class Client:
    name: str
    role: str

    def require(self, right: str) -> None:
        if not may(self.role, right):
            raise ApiError(403, "forbidden", f"a {self.role} token may not do this")


class StackIn(BaseModel):
    case_no: str | None = Field(None, description="Case number the stack belongs to, when known.")
    device: str | None = Field(None, description="Device the pages come from (scanner, kiosk, camera).")
    volume: Literal["ZJ", "FJ"] | None = Field(None, description="Volume hint: 正卷 ZJ or 副卷 FJ.")
    key: str | None = Field(None, max_length=200, description="The client's own name for this stack (a scan "
                            "session's ID): opening it again answers the same stack, so a retry opens no second one.")


class RetryIn(BaseModel):
    case_no: str | None = Field(None, description="Re-route the file to this case.")
    password: str | None = Field(None, description="Password of a password-protected PDF.")


class CaseIn(BaseModel):
    case_no: str = Field(description="The case number, e.g. （2024）浙0803民初1234号.")
    court: str | None = Field(None, max_length=200)
    tribunal: str | None = Field(None, max_length=200, description="The tribunal hearing it, e.g. 民一庭.")
    parties: list[str] = Field(default_factory=list, description="The parties, by name.")


class EventIn(BaseModel):
    stage: str = Field(description="FILING PRETRIAL TRIAL JUDGMENT SERVICE ENFORCEMENT ARCHIVING (or 立案 审前 庭审 "
                       "裁判 送达 执行 归档).")
    at: str | None = Field(None, description="When it was reached: ISO 8601 date or time (court time when it has "
                           "no zone); now when left out.")


class ReceiptIn(BaseModel):
    type: str = Field(description="What the paper is: a document type's code or Chinese name (EVIDENCE, 证据材料).")
    pages: int = Field(ge=1, le=100_000, description="Pages handed in.")
    handed_in_by: str | None = Field(None, alias="from", max_length=200, description="Who handed it in.")
    at: str | None = Field(None, description="When it was received (ISO 8601; court time without a zone).")
    key: str | None = Field(None, max_length=200, description="The client's own name for this receipt: sending "
                            "it again answers the same receipt.")


class CorrectionIn(BaseModel):
    kind: Literal["type", "split", "merge", "reorder", "move", "rescan", "replace", "remove"] = Field(
        description="type: `document` gets `type` · split: `document` at `page` · merge: `document` and `other` · "
                    "reorder: `document` in `order` · move: `page` to `to_document` or `to_case` · rescan: `page` "
                    "(`reason`) · replace: `page` `by` its rescan · remove: `page` (`reason`)")
    document: int | None = Field(None, description="A document id, as the case's status lists it.")
    other: int | None = Field(None, description="merge: the document whose pages follow.")
    page: int | None = Field(None, description="A page id, as the case's status lists it.")
    type: str | None = Field(None, description="type: a document type's code or Chinese name.")
    order: list[int] | None = Field(None, description="reorder: every page of the document, in the new order.")
    to_document: int | None = None
    to_case: str | None = None
    by: int | None = Field(None, description="replace: the page scanned again.")
    reason: str | None = Field(None, max_length=500)


class TokenIn(BaseModel):
    name: str
    role: Literal["device", "operator", "admin"]


def create_app(ctx, *, workers: bool = True, pages=None) -> FastAPI:
    """The API; `pages(app, ctx)`, when given, adds the web pages (the kiosk and the console) on top of it."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runner = local_runner(ctx) if workers else None
        if runner is not None:
            runner.start()
        yield
        if runner is not None:
            runner.stop()

    app = FastAPI(title="edossier", version="1", lifespan=lifespan,
                  description="Court paper in, catalogued searchable electronic case files out. Clients send "
                              "`Authorization: Bearer TOKEN` (see `edossier token create`).")
    _error_handlers(app)
    _routes(app, ctx)
    if pages is not None:
        pages(app, ctx)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request, exc: ApiError):
        return JSONResponse({"code": exc.code, "reason": exc.reason}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"code": "invalid_request", "reason": f"{where}: {first.get('msg', 'invalid')}"},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, exc: StarletteHTTPException):
        return JSONResponse({"code": "not_found" if exc.status_code == 404 else "http_error",
                             "reason": str(exc.detail)}, status_code=exc.status_code)


def _routes(app: FastAPI, ctx) -> None:
    def client(authorization: str | None = Header(None, description="Bearer TOKEN")) -> Client:
        scheme, _, secret = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise ApiError(401, "unauthorised", "send Authorization: Bearer TOKEN (edossier token create)")
        row = ctx.catalogue.token_by_secret(secret.strip())
        if row is None:
            raise ApiError(401, "unauthorised", "unknown or revoked token")
        return Client(row["name"], row["role"])

    def own_stack(stack_id: int, who: Client):
        stack = ctx.catalogue.stack(stack_id)
        if stack is None:
            raise ApiError(404, "not_found", f"no stack {stack_id}")
        if who.role == "device" and stack.client != who.name:
            raise ApiError(403, "forbidden", f"stack {stack_id} belongs to another client")
        return stack

    # stacks and files ----------------------------------------------------------------------------------------
    @app.post(f"{API}/stacks", status_code=201, tags=["stacks"], summary="Open a stack (a scan session, a batch)")
    def open_stack(body: StackIn, who: Client = Depends(client)) -> dict:
        who.require("upload")
        case_no = _case_number(body.case_no) if body.case_no else None
        stack = pipeline.open_stack(ctx, kind="scan" if body.device else "upload", client=who.name,
                                    key=f"client:{who.name}:{body.key}" if body.key else None, case_no=case_no,
                                    device=body.device, volume_hint=body.volume)
        return _stack_json(ctx, stack)

    @app.get(f"{API}/stacks/{{stack_id}}", tags=["stacks"], summary="A stack's state, files and pages")
    def get_stack(stack_id: int, who: Client = Depends(client)) -> dict:
        return _stack_json(ctx, own_stack(stack_id, who), files=True)

    @app.post(f"{API}/stacks/{{stack_id}}/files", status_code=201, tags=["stacks"],
              summary="Upload one file into an open stack",
              responses={200: {"description": "the same file at the same position again: the same record"},
                         409: {"description": "stack closed, or other bytes at that position"},
                         413: {"description": "over the size limit"}, 415: {"description": "unsupported type"}})
    def upload(stack_id: int, request: Request, response: Response, file: UploadFile = File(...),
               seq: int | None = Form(None, ge=0, description="Position in the stack; a retry sends the same."),
               provenance: str | None = Form(None, description="JSON object: where a captured page came from "
                                             "(device, source, side, sheet, dpi, captured_at)."),
               who: Client = Depends(client)) -> dict:
        who.require("upload")
        stack = own_stack(stack_id, who)
        if stack.state != "open":
            raise ApiError(409, "stack_closed", f"stack {stack_id} is closed; open a new one")
        _check_upload(ctx, request, file)
        try:
            accepted = pipeline.accept(ctx, stack, file.file, name=file.filename or "upload",
                                       source_path=f"upload:{who.name}/{stack_id}/{file.filename or 'upload'}",
                                       client=who.name, seq=seq, provenance=_provenance(provenance))
        except pipeline.PositionTaken as exc:
            raise ApiError(409, exc.code, exc.reason) from exc
        if not accepted.created:
            response.status_code = 200
        return _entry_json(accepted.entry, duplicate_of=accepted.duplicate_of)

    @app.post(f"{API}/stacks/{{stack_id}}/close", tags=["stacks"], summary="Close a stack: no more files join it")
    def close(stack_id: int, who: Client = Depends(client)) -> dict:
        who.require("upload")
        own_stack(stack_id, who)
        pipeline.close_stack(ctx, stack_id)
        return _stack_json(ctx, ctx.catalogue.stack(stack_id))

    # cases, volumes, pages -----------------------------------------------------------------------------------
    @app.get(f"{API}/cases", tags=["cases"], summary="Every case with its digitisation figures")
    def cases(who: Client = Depends(client)) -> list[dict]:
        who.require("read")
        return reports.overall_status(ctx)["cases"]

    @app.post(f"{API}/cases", tags=["cases"], summary="Open a case (again: the details given replace those held)")
    def open_case(body: CaseIn, response: Response, who: Client = Depends(client)) -> dict:
        who.require("cases")
        result = _case_call(cases_flow.open_case, ctx, body.case_no, court=body.court, tribunal=body.tribunal,
                            parties=body.parties, client=f"api:{who.name}")
        response.status_code = 201 if result["opened"] else 200
        return result

    @app.post(f"{API}/cases/{{case_no}}/events", tags=["cases"],
              summary="A stage the case reached; sent twice or out of order, nothing is recorded twice")
    def case_event(case_no: str, body: EventIn, who: Client = Depends(client)) -> dict:
        who.require("cases")
        return _case_call(cases_flow.record_event, ctx, case_no, body.stage, body.at, f"api:{who.name}")

    @app.post(f"{API}/cases/{{case_no}}/receipts", tags=["cases"],
              summary="Register paper received (签收单); answers the receipt, its PDF at /receipts/{id}.pdf")
    def receive(case_no: str, body: ReceiptIn, response: Response, who: Client = Depends(client)) -> dict:
        who.require("cases")
        result = _case_call(cases_flow.receive, ctx, case_no, body.type, body.pages, handed_in_by=body.handed_in_by,
                            at=body.at, client=f"api:{who.name}",
                            key=f"client:{who.name}:{body.key}" if body.key else None)
        response.status_code = 201 if result["new"] else 200
        return result | {"pdf": f"{API}/receipts/{result['id']}.pdf"}

    @app.post(f"{API}/corrections", tags=["cases"], status_code=201,
              summary="Correct what was filed automatically; the dossier, status and figures update at once")
    def correct(body: CorrectionIn, who: Client = Depends(client)) -> dict:
        who.require("cases")
        given = body.model_dump(exclude={"kind"}, exclude_none=True)
        return _case_call(corrections_flow.correct, ctx, body.kind, f"api:{who.name}", **given)

    @app.get(f"{API}/cases/{{case_no}}/corrections", tags=["cases"],
             summary="The corrections made in a case, oldest first: what, by whom, when")
    def corrections(case_no: str, who: Client = Depends(client)) -> list[dict]:
        who.require("read")
        return corrections_flow.history(ctx, _known_case(ctx, case_no))

    @app.get(f"{API}/receipts/{{receipt_id}}.pdf", tags=["cases"], response_class=Response,
             summary="The receipt as printed (PDF)")
    def receipt_pdf(receipt_id: int, who: Client = Depends(client)):
        who.require("read")
        row = ctx.catalogue.receipt(receipt_id)
        if row is None:
            raise ApiError(404, "not_found", f"no receipt R-{receipt_id}")
        return Response(cases_flow.receipt_document(ctx, row), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="receipt-R-{receipt_id}.pdf"'})

    @app.get(f"{API}/alerts", tags=["cases"],
             summary="Cases to act on: paper overdue against its scanning deadline, documents a stage requires")
    def alerts(who: Client = Depends(client)) -> list[dict]:
        who.require("read")
        return reports.alerts(ctx)

    @app.get(f"{API}/report", tags=["cases"],
             summary="The court's figures over a period, per case, per tribunal and court-wide, with definitions")
    def court_report(start: str | None = Query(None, alias="from", description="first day, YYYY-MM-DD"),
                     end: str | None = Query(None, alias="to", description="last day, YYYY-MM-DD"),
                     tribunal: str | None = None, who: Client = Depends(client)) -> dict:
        who.require("read")
        return _case_call(reports.court_report, ctx, start, end, tribunal)

    @app.get(f"{API}/report.html", tags=["cases"], response_class=HTMLResponse,
             summary="The court's figures as a page with charts (a bar per tribunal, the weekly trend)")
    def court_report_page(start: str | None = Query(None, alias="from"), end: str | None = Query(None, alias="to"),
                          tribunal: str | None = None, who: Client = Depends(client)):
        from dossier.figures_html import render
        who.require("read")
        data = _case_call(reports.court_report, ctx, start, end, tribunal)
        return HTMLResponse(render(data, f"{ctx.settings.dossier.court or 'Court'} — electronic dossiers"))

    @app.get(f"{API}/cases/{{case_no}}", tags=["cases"],
             summary="One case: documents, pages, pending, review, quarantined")
    def case(case_no: str, who: Client = Depends(client)) -> dict:
        who.require("read")
        data = reports.case_status(ctx, _known_case(ctx, case_no))
        data["review"] = [d for d in data["documents"] if d["review"]]
        return data

    @app.get(f"{API}/cases/{{case_no}}/volumes/{{volume}}.pdf", tags=["cases"], response_class=StreamingResponse,
             summary="A volume of the case's dossier (正卷 ZJ, 副卷 FJ)")
    def volume(case_no: str, volume: Literal["ZJ", "FJ"], who: Client = Depends(client)):
        who.require("read")
        case_no = _known_case(ctx, case_no)
        row = next((v for v in ctx.catalogue.volumes_of_case(case_no) if v["volume"] == volume), None)
        if row is None:
            raise ApiError(404, "not_found", f"case {case_no} has no {volume} volume (yet)")
        return StreamingResponse(_chunks(ctx.blobs.open_stream(row["blob_key"])), media_type="application/pdf",
                                 headers={"Content-Disposition": f'inline; filename="{volume}.pdf"'})

    @app.get(f"{API}/cases/{{case_no}}/manifest.json", tags=["cases"], summary="The dossier's manifest")
    def manifest(case_no: str, who: Client = Depends(client)):
        who.require("read")
        row = ctx.catalogue.case(_known_case(ctx, case_no))
        if not row["manifest_key"]:
            raise ApiError(404, "not_found", f"case {case_no} has no dossier yet")
        return Response(ctx.blobs.get_bytes(row["manifest_key"]), media_type="application/json")

    @app.get(f"{API}/pages/{{page_id}}", tags=["pages"], summary="A page: text, word boxes and where its image is")
    def page(page_id: int, who: Client = Depends(client)) -> dict:
        who.require("read")
        row = _page(ctx, page_id)
        words = json.loads(ctx.blobs.get_bytes(row["layout_key"])) if row["layout_key"] else None
        return {"id": row["id"], "status": row["status"], "role": row["role"], "case_no": row["case_no"],
                "file": row["file_name"], "page": row["page_index"] + 1, "text": row["text"] or "",
                "mean_confidence": row["mean_conf"], "rotation": row["rotation"], "error": row["error"],
                "layout": words, "image": f"{API}/pages/{page_id}/image" if row["pdf_key"] else None}

    @app.get(f"{API}/pages/{{page_id}}/image", tags=["pages"], summary="The page image as kept in the dossier",
             response_class=Response)
    def page_picture(page_id: int, who: Client = Depends(client)):
        who.require("read")
        row = _page(ctx, page_id)
        if not row["pdf_key"]:
            raise ApiError(404, "not_found", f"page {page_id} has no image (blank, separator or not done)")
        data, media_type = page_image(ctx.blobs.get_bytes(row["pdf_key"]))
        return Response(data, media_type=media_type)

    # quarantine ----------------------------------------------------------------------------------------------
    @app.get(f"{API}/quarantine", tags=["quarantine"], summary="Files and pages that could not be digitised")
    def quarantined(status: str = "open", who: Client = Depends(client)) -> list[dict]:
        who.require("read")
        return [_quarantine_json(q) for q in ctx.catalogue.quarantine_items(None if status == "all" else status)]

    @app.post(f"{API}/quarantine/{{item_id}}/retry", status_code=202, tags=["quarantine"],
              summary="Queue a quarantined file or page again, re-routed to a case if given")
    def retry(item_id: int, body: RetryIn | None = None, who: Client = Depends(client)) -> dict:
        who.require("retry")
        body = body or RetryIn()
        if ctx.catalogue.quarantine_item(item_id) is None:
            raise ApiError(404, "not_found", f"no quarantine item {item_id}")
        try:
            submission = retry_item(ctx, item_id, password=body.password, case_no=body.case_no, client=who.name)
        except RetryRefused as exc:
            raise ApiError(422, "cannot_retry", str(exc)) from exc
        return {"id": item_id, "status": "retried", "stacks": submission.stack_ids}

    # devices -------------------------------------------------------------------------------------------------
    @app.get(f"{API}/devices", tags=["devices"],
             summary="The capture devices declared in the settings, with their state now and capabilities")
    def devices(who: Client = Depends(client)) -> list[dict]:
        who.require("read")
        declared = declared_devices(ctx.settings.devices)
        return [describe(spec).as_json() | {"name": spec.name} for spec in declared.values()]

    # tokens --------------------------------------------------------------------------------------------------
    @app.get(f"{API}/tokens", tags=["tokens"], summary="Client tokens (never their secrets)")
    def tokens(who: Client = Depends(client)) -> list[dict]:
        who.require("tokens")
        return ctx.catalogue.token_list()

    @app.post(f"{API}/tokens", status_code=201, tags=["tokens"], summary="Create a token; the secret is shown once")
    def new_token(body: TokenIn, who: Client = Depends(client)) -> dict:
        who.require("tokens")
        try:
            secret = create_token(ctx.catalogue, body.name, body.role)
        except TokenError as exc:
            raise ApiError(409, "token_exists", str(exc)) from exc
        return {"name": body.name, "role": body.role, "token": secret}

    @app.delete(f"{API}/tokens/{{name}}", tags=["tokens"], summary="Revoke a token")
    def revoke(name: str, who: Client = Depends(client)) -> dict:
        who.require("tokens")
        if not ctx.catalogue.revoke_token(name):
            raise ApiError(404, "not_found", f"no active token named {name}")
        return {"name": name, "revoked": True}

    # health and metrics --------------------------------------------------------------------------------------
    @app.get("/healthz", tags=["service"], summary="Is the service able to accept pages")
    def healthz():
        try:
            ctx.catalogue.counts()
        except Exception as exc:  # the catalogue down: nothing can be acknowledged; say so, do not crash
            return JSONResponse({"status": "unavailable", "reason": f"{type(exc).__name__}: {exc}"}, 503)
        try:
            depths = ctx.queue.depths()
        except Exception as exc:  # the queue down: uploads are still durable, their work is queued once it is back
            return {"status": "degraded", "queues": None, "reason": f"queue: {type(exc).__name__}: {exc}",
                    "roles": list(ROLES)}
        return {"status": "ok", "queues": depths, "roles": list(ROLES)}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse,
             summary="Prometheus text: queue depth per queue, pages done and failed, page latency")
    def metrics():
        return PlainTextResponse(metrics_text(ctx), media_type="text/plain; version=0.0.4")


# helpers -------------------------------------------------------------------------------------------------------
def _check_upload(ctx, request: Request, file: UploadFile) -> None:
    limit = ctx.settings.service.max_upload_mb * 1024 * 1024
    declared = int(request.headers.get("content-length") or 0)
    size = file.size if file.size is not None else _size(file)
    if declared > limit + MULTIPART_OVERHEAD or size > limit:
        raise ApiError(413, "too_large", f"{file.filename}: {max(size, declared) / 2**20:.0f} MiB is over the "
                                         f"{limit / 2**20:.0f} MiB limit")
    head = file.file.read(1024)
    file.file.seek(0)
    media_type, seen = sniff(head)
    if media_type is None:
        raise ApiError(415, "unsupported_type", f"{file.filename}: not a supported file type: this is {seen}; "
                                                f"accepted: {ACCEPTED}")


def _provenance(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"provenance is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(422, "invalid", "provenance must be a JSON object")
    return value


def _size(file: UploadFile) -> int:
    file.file.seek(0, 2)
    size = file.file.tell()
    file.file.seek(0)
    return size


def _case_call(action, *args, **kwargs) -> dict:
    try:
        return action(*args, **kwargs)
    except cases_flow.CaseRefused as exc:
        raise ApiError(422, "refused", str(exc)) from exc


def _case_number(text: str) -> str:
    number = parse_case_number(text, strict=False)
    if number is None:
        raise ApiError(422, "bad_case_number", f"'{text}' is not a case number, e.g. （2024）浙0803民初1234号")
    return number.text


def _known_case(ctx, text: str) -> str:
    case_no = _case_number(text)
    if ctx.catalogue.case(case_no) is None:
        raise ApiError(404, "not_found", f"no case {case_no}")
    return case_no


def _page(ctx, page_id: int) -> dict:
    row = ctx.catalogue.page(page_id)
    if row is None:
        raise ApiError(404, "not_found", f"no page {page_id}")
    return row


def _chunks(stream, size: int = 1 << 20):
    with stream:
        while chunk := stream.read(size):
            yield chunk


def _stack_json(ctx, stack, files: bool = False) -> dict:
    data = {"id": stack.id, "state": stack.state, "case_no": stack.case_no, "device": stack.device,
            "volume": stack.volume_hint, "client": stack.client, "created_at": stack.created_at,
            "closed_at": stack.closed_at}
    if files:
        progress = ctx.catalogue.stack_progress([stack.id])
        data |= {"pages": progress["pages"], "settled": progress["settled"],
                 "files": [_entry_json(e) for e in ctx.catalogue.entries_of_stack(stack.id)]}
    return data


def _entry_json(entry, duplicate_of=None) -> dict:
    data = {"id": entry.id, "stack_id": entry.stack_id, "seq": entry.seq, "sha256": entry.sha256,
            "name": mask_text(entry.name), "size": entry.size, "status": entry.status, "pages": entry.page_count,
            "received_at": entry.received_at,
            "provenance": json.loads(entry.provenance) if entry.provenance else None}
    if duplicate_of is not None:
        data["duplicate_of"] = duplicate_of.id
    return data


def _quarantine_json(item: dict) -> dict:
    return {"id": item["id"], "file": mask_text(item["name"]), "page": None if item["page_index"] is None
            else item["page_index"] + 1, "code": item["error_code"], "reason": mask_text(item["reason"]),
            "case_no": item["case_no"], "stack_id": item["stack_id"], "status": item["status"],
            "created_at": item["created_at"]}


def run_service(ctx, host: str, port: int, workers: bool = True, pages=None) -> None:
    import uvicorn
    uvicorn.run(create_app(ctx, workers=workers, pages=pages), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=10)
