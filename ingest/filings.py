"""A filing made at a kiosk (自助立案), read top to bottom as the person makes it and a filing judge decides on it:

    begin → identity (card reader, or typed and checked by the ID checksum) → what is filed (civil first instance or
    enforcement, court, cause) → risk notice accepted → pages captured: each stored and hashed the moment it is
    captured, then shown; taken out, retaken or moved before submitting → the form pre-filled from the complaint's
    OCR text, each pre-filled field marked so, corrected by the person → signed and submitted: a receipt with a
    lookup code → a filing judge accepts it with the case number the court issued (or returns it once for
    correction, or refuses it with a reason) → on acceptance every page kept follows into that case: the paper is
    registered as received (a receipt per material) and the pages are filed in the person's order, so the case's
    dossier holds them and its figures count them.

Acceptance can be repeated after a crash half way: the stack, the receipts and each page's position are keyed by
the filing, so nothing is filed twice.
"""
from __future__ import annotations

import hashlib
import io
import logging
import secrets
import tempfile
import time
from pathlib import Path

from classify.cause import known_causes
from classify.filing_form import FIELDS, prefill
from classify.identifiers import mask_identifier, valid_resident_id
from config.errors import EdossierError, ExitCode
from dossier import audit
from ingest import cases as cases_flow
from ingest import pipeline
from ingest.sniff import sniff

log = logging.getLogger("edossier.filings")

KINDS = {"civil": "民初", "enforcement": "执"}
MATERIALS = {"civil": ("COMPLAINT", "PARTY_ID", "EVIDENCE"),
             "enforcement": ("ENF_APPLICATION", "PARTY_ID", "ENF_BASIS", "EVIDENCE")}
READ_FOR_FORM = {"COMPLAINT", "ENF_APPLICATION"}
ZH_FIELDS = {"plaintiff": "原告", "plaintiff_id": "原告身份号码", "defendant": "被告", "defendant_id": "被告身份号码",
             "claims": "诉讼请求"}
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: read aloud and typed without doubt
OPEN = ("draft", "returned")
DECIDED = ("accepted", "refused")


class FilingRefused(EdossierError):
    """What the person or the judge asked cannot be done; the message says why, in words for them — in Chinese
    too (`zh`) where the person at the kiosk reads it."""
    exit_code = ExitCode.usage

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh

    def said(self, lang: str) -> str:
        return self.zh if lang == "zh" and self.zh else str(self)


# the person at the kiosk ----------------------------------------------------------------------------------------
def begin(ctx, kiosk: str) -> dict:
    return ctx.catalogue.add_filing(_new_code(), kiosk)


def set_identity(ctx, filing_id: int, *, name: str, number: str, source: str, card: dict | None = None) -> dict:
    number = (number or "").strip().upper()
    if not (name or "").strip():
        raise FilingRefused("enter your name as on your ID card", "请输入身份证上的姓名")
    if not valid_resident_id(number):
        shown = mask_identifier(number) if len(number) == 18 else ""
        raise FilingRefused(f"{shown or 'the number'} is not a valid 18-digit ID number: check each digit",
                            f"{shown or '该号码'}不是有效的18位公民身份号码，请逐位核对")
    identity = {"name": name.strip(), "number": number, "source": source} | \
        {k: card[k] for k in ("sex", "birth", "address", "valid_to") if card and card.get(k)}
    return _change(ctx, filing_id, identity=identity)


def set_what(ctx, filing_id: int, *, kind: str, court: str, cause: str) -> dict:
    if kind not in KINDS:
        raise FilingRefused(f"choose one of: {', '.join(KINDS)}", "请选择立案类型")
    if court not in courts(ctx):
        raise FilingRefused(f"{court!r} is not a court this kiosk files with", "请选择本机可受理的法院")
    if cause not in known_causes():
        raise FilingRefused(f"{cause!r} is not a cause of action on the list", "请从列表中选择案由")
    return _change(ctx, filing_id, kind=kind, court=court, cause=cause)


def accept_notice(ctx, filing_id: int) -> dict:
    return _change(ctx, filing_id, notice_accepted_at=time.time())


def add_page(ctx, filing_id: int, data: bytes, *, material: str, source: str, provenance: dict | None = None,
             instead_of: int | None = None) -> dict:
    """Store the captured page (hashed, fsynced) and record it before it is shown; `instead_of`: a retake, in the
    place of that page (which is taken out, and kept in the record)."""
    filing = _open(ctx, filing_id)
    if material not in MATERIALS.get(filing["kind"] or "civil", ()):
        raise FilingRefused(f"{material} is not a material of this filing", "该材料类型不属于本次申请")
    if instead_of is not None:
        _page_of(ctx, filing_id, instead_of)
    _check_picture(ctx, data)
    sha256, size = ctx.blobs.put_stream(io.BytesIO(data))
    page = ctx.catalogue.add_filing_page(filing_id, material=material, sha256=sha256, size=size, source=source,
                                         provenance=(provenance or {}) | {"media_type": sniff(data[:1024])[0]},
                                         states=OPEN, instead_of=instead_of)
    if page is None:
        raise FilingRefused("this filing is closed: start a new one", "该申请已提交或已结束，请重新开始")
    return page


def delete_page(ctx, filing_id: int, page_id: int) -> None:
    _open(ctx, filing_id)
    ctx.catalogue.set_filing_page(_page_of(ctx, filing_id, page_id)["id"], deleted_at=time.time())


def move_page(ctx, filing_id: int, page_id: int, step: int) -> None:
    """One place earlier (step −1) or later (+1) among the filing's pages of the same material."""
    _open(ctx, filing_id)
    page = _page_of(ctx, filing_id, page_id)
    same = [p for p in ctx.catalogue.filing_pages_of(filing_id) if p["material"] == page["material"]]
    at = next(i for i, p in enumerate(same) if p["id"] == page_id)
    if 0 <= at + step < len(same):
        ctx.catalogue.swap_filing_pages(page["id"], same[at + step]["id"])


def pages(ctx, filing_id: int) -> list[dict]:
    """Kept pages in binding order: by material as the filing lists them, then the person's order."""
    filing = ctx.catalogue.filing(filing_id)
    order = {m: i for i, m in enumerate(MATERIALS.get(filing["kind"] or "civil", ()))}
    return sorted(ctx.catalogue.filing_pages_of(filing_id), key=lambda p: (order.get(p["material"], 99),
                                                                           p["position"], p["id"]))


def read_form(ctx, filing_id: int) -> list[dict]:
    """The form's fields: as the person last confirmed them, else pre-filled from the complaint's OCR text (each
    marked `prefilled` when OCR found it), else empty; the cause as chosen when the complaint prints none."""
    filing = _open(ctx, filing_id)
    if filing["form"]:
        return filing["form"]
    texts = [_text_of(ctx, p) for p in pages(ctx, filing_id) if p["material"] in READ_FOR_FORM]
    found = {f.name: f for f in prefill(texts)}
    fields = [{"name": name, "value": found[name].value, "prefilled": found[name].found, "read": found[name].value}
              for name in FIELDS]
    for field in fields:       # the cause the person chose is theirs, not read: it fills the field, unmarked
        if field["name"] == "cause" and not field["value"] and filing["cause"]:
            field["value"] = filing["cause"]
    return fields


def save_form(ctx, filing_id: int, values: dict[str, str]) -> list[dict]:
    """The fields as the person confirmed them: each keeps what OCR read and whether the person changed it."""
    read = {f["name"]: f for f in read_form(ctx, filing_id)}
    fields = []
    for name in FIELDS:
        value = (values.get(name) or "").strip()
        was = read[name]
        fields.append({"name": name, "value": value, "prefilled": was["prefilled"], "read": was["read"],
                       "corrected": was["prefilled"] and value != was["read"], "confirmed": True})
    _require_form(fields)
    _change(ctx, filing_id, form=fields)
    return fields


def submit(ctx, filing_id: int, signature_png: bytes) -> dict:
    """Signed on the touch screen: the filing waits for a filing judge. Answers it, with its lookup code."""
    filing = _open(ctx, filing_id)
    missing = [what for what, ok in (("identity", filing["identity"]), ("what is filed", filing["kind"]),
                                     ("the risk notice", filing["notice_accepted_at"]),
                                     ("the form", filing["form"]), ("pages", pages(ctx, filing_id))) if not ok]
    if missing:
        raise FilingRefused(f"not yet done: {', '.join(missing)}", "尚有步骤未完成，请返回补充")
    if not _has_ink(signature_png):
        raise FilingRefused("sign in the box before submitting", "请先在签名框内签名，再提交")
    sha256, _ = ctx.blobs.put_stream(io.BytesIO(signature_png))
    if not ctx.catalogue.set_filing(filing_id, expect=OPEN, signature_sha256=sha256, state="submitted",
                                    submitted_at=time.time(), upload_hash=None, upload_expires_at=None):
        raise FilingRefused("this filing is closed: start a new one", "该申请已提交或已结束，请重新开始")
    log.info("filing %s submitted at %s: %d page(s)", filing["code"], filing["kiosk"], len(pages(ctx, filing_id)))
    return ctx.catalogue.filing(filing_id)


def resume(ctx, code: str, number: str) -> dict:
    """A filing returned for correction, taken up again by the person with its lookup code and their ID number."""
    filing = ctx.catalogue.filing_by(code=(code or "").strip().upper())
    if filing is None or (filing["identity"] or {}).get("number") != (number or "").strip().upper():
        raise FilingRefused("no filing with that lookup code and ID number", "查询码与身份号码不符，未找到该立案申请")
    if filing["state"] != "returned":
        raise FilingRefused(f"this filing is {filing['state']}: only a filing returned for correction is taken up",
                            "只有被退回补正的申请可以继续办理")
    form = [f | {"confirmed": False} for f in filing["form"] or []]     # kept, to be confirmed again
    ctx.catalogue.set_filing(filing["id"], form=form)
    return ctx.catalogue.filing(filing["id"])


def set_aside(ctx, filing_id: int) -> None:
    """The person walked away before submitting: the draft is set aside (its pages stay in the record)."""
    ctx.catalogue.set_filing(filing_id, expect=("draft",), state="abandoned")


def form_confirmed(filing: dict) -> bool:
    return bool(filing["form"]) and all(f.get("confirmed", True) for f in filing["form"])


def phone_link(ctx, filing_id: int) -> str:
    """A one-time secret for the phone upload page, valid `kiosk.upload_minutes`."""
    _open(ctx, filing_id)
    secret = secrets.token_urlsafe(24)
    _change(ctx, filing_id, upload_hash=_hash(secret),
            upload_expires_at=time.time() + ctx.settings.kiosk.upload_minutes * 60)
    return secret


def phone_filing(ctx, secret: str) -> dict:
    filing = ctx.catalogue.filing_by(upload_hash=_hash(secret or ""))
    if filing is None or filing["state"] not in OPEN or (filing["upload_expires_at"] or 0) < time.time():
        raise FilingRefused("this upload link has expired or was used: scan the new QR code at the kiosk",
                            "该上传链接已失效，请在一体机上重新扫描二维码")
    return filing


def phone_done(ctx, secret: str) -> None:
    """The phone's upload is finished: its link works no more."""
    filing = phone_filing(ctx, secret)
    ctx.catalogue.set_filing(filing["id"], upload_hash=None, upload_expires_at=None)


def receipt(ctx, filing_id: int) -> bytes:
    from classify.coversheet import filing_receipt_pdf
    filing = ctx.catalogue.filing(filing_id)
    counts = material_counts(ctx, filing_id)
    taxonomy = cases_flow.rules(ctx.settings.cases).taxonomy
    at = cases_flow.iso(filing["submitted_at"], cases_flow.rules(ctx.settings.cases).calendar) or ""
    return filing_receipt_pdf(code=filing["code"], court=filing["court"] or "", kind=KINDS.get(filing["kind"], ""),
                              cause=filing["cause"] or "", filer=filing["identity"]["name"],
                              filer_id=mask_identifier(filing["identity"]["number"]),
                              materials=[(taxonomy.get(m).name.split("/")[0], n) for m, n in counts.items()],
                              at=at.replace("T", " ")[:16], case_no=filing["case_no"])


def material_counts(ctx, filing_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in pages(ctx, filing_id):
        counts[page["material"]] = counts.get(page["material"], 0) + 1
    return counts


# the filing judge -----------------------------------------------------------------------------------------------
def accept(ctx, filing_id: int, case_text: str, judge: str) -> dict:
    """Accepted under the case number the court issued: the case is opened, the paper registered as received, and
    every page kept filed into the case in the person's order."""
    filing = _waiting(ctx, filing_id, also=("accepting", "accepted"))
    case_no = cases_flow.case_number(case_text)
    _check_family(case_no, filing["kind"])
    claimed = ctx.catalogue.set_filing(filing_id, expect=("submitted",), state="accepting", case_no=case_no,
                                       decided_by=judge)
    filing = ctx.catalogue.filing(filing_id)
    if not claimed and filing["case_no"] != case_no:      # accepted meanwhile, or half way, under another number
        raise FilingRefused(f"filing {filing['code']} is {filing['state']} as {filing['case_no']}: it is not "
                            f"filed under {case_no}")
    actor = f"console:{judge}"
    form = {f["name"]: f["value"] for f in filing["form"] or []}
    cases_flow.open_case(ctx, case_no, court=filing["court"], client=actor,
                         parties=[form.get("plaintiff", ""), form.get("defendant", "")])
    cases_flow.record_event(ctx, case_no, "FILING", filing["submitted_at"], actor)
    receipts = {m: cases_flow.receive(ctx, case_no, m, n, handed_in_by=filing["identity"]["name"],
                                      at=filing["submitted_at"], client=actor, key=f"filing:{filing['code']}:{m}")
                for m, n in material_counts(ctx, filing_id).items()}
    stack_id = _file_pages(ctx, filing, case_no, receipts)
    audit.record(ctx, case_no, f"filing:{filing['code']}", "kiosk filing accepted", actor,
                 {"filing": filing["code"], "kiosk": filing["kiosk"], "pages": len(pages(ctx, filing_id)),
                  "submitted_at": filing["submitted_at"], "signature_sha256": filing["signature_sha256"],
                  "corrected": [f["name"] for f in filing["form"] or [] if f.get("corrected")]})
    ctx.catalogue.set_filing(filing_id, expect=("accepting", "accepted"), state="accepted", stack_id=stack_id,
                             decided_at=filing["decided_at"] or time.time(), reason=None)
    log.info("filing %s accepted as %s by %s", filing["code"], case_no, judge)
    return ctx.catalogue.filing(filing_id)


def give_back(ctx, filing_id: int, reason: str, judge: str) -> dict:
    """Returned to the person, once, saying what to correct."""
    filing = _waiting(ctx, filing_id)
    if filing["returned"]:
        raise FilingRefused("a filing is returned for correction once only: accept or refuse it now")
    _decide(ctx, filing, "returned", reason, judge, returned=filing["returned"] + 1)
    return ctx.catalogue.filing(filing_id)


def refuse(ctx, filing_id: int, reason: str, judge: str) -> dict:
    _decide(ctx, _waiting(ctx, filing_id), "refused", reason, judge)
    return ctx.catalogue.filing(filing_id)


def courts(ctx) -> list[str]:
    return list(ctx.settings.kiosk.courts) or [ctx.settings.dossier.court or "人民法院"]


# helpers ------------------------------------------------------------------------------------------------------------
def _file_pages(ctx, filing: dict, case_no: str, receipts: dict[str, dict]) -> int:
    """As at the scanning desk: each material's receipt sheet on top of its pages (it starts a document of that
    type and ties the pages to the receipt, and stays out of the dossier), the pages in the person's order."""
    stack = pipeline.open_stack(ctx, kind="kiosk", client=filing["kiosk"], key=f"filing:{filing['code']}",
                                case_no=case_no, device=filing["kiosk"])
    seq, material = 0, None
    for page in pages(ctx, filing["id"]):
        receipt = receipts[page["material"]]
        if page["material"] != material:
            material = page["material"]
            sheet = cases_flow.receipt_document(ctx, ctx.catalogue.receipt(receipt["id"]))
            pipeline.accept(ctx, stack, io.BytesIO(sheet), name=f"{filing['code']}-{receipt['receipt']}.pdf",
                            source_path=f"kiosk:{filing['kiosk']}/{filing['code']}/{receipt['receipt']}",
                            client=filing["kiosk"], seq=seq, provenance={"filing": filing["code"]})
            seq += 1
        provenance = (page["provenance"] or {}) | {"source": page["source"], "material": page["material"],
                                                   "filing": filing["code"], "receipt": receipt["receipt"]}
        with ctx.blobs.open_stream(page["sha256"]) as stream:
            pipeline.accept(ctx, stack, stream, name=f"{filing['code']}-{seq:03d}{_suffix(page)}",
                            source_path=f"kiosk:{filing['kiosk']}/{filing['code']}/{page['id']}",
                            client=filing["kiosk"], seq=seq, provenance=provenance)
        seq += 1
    pipeline.close_stack(ctx, stack.id)
    return stack.id


def _check_family(case_no: str, kind: str | None) -> None:
    from classify.identifiers import parse_case_number
    type_code = parse_case_number(case_no).type_code
    if kind == "enforcement" and "执" not in type_code or kind == "civil" and "执" in type_code:
        raise FilingRefused(f"{case_no} is not a case number for a {kind} filing")


def _decide(ctx, filing: dict, state: str, reason: str, judge: str, **more) -> None:
    if not (reason or "").strip():
        raise FilingRefused("say why, in words the person can act on")
    if not ctx.catalogue.set_filing(filing["id"], expect=("submitted",), state=state, reason=reason.strip(),
                                    decided_by=judge, decided_at=time.time(), **more):
        raise FilingRefused("this filing was decided on meanwhile")
    log.info("filing %s %s by %s", filing["code"], state, judge)


def _waiting(ctx, filing_id: int, also: tuple[str, ...] = ()) -> dict:
    filing = ctx.catalogue.filing(filing_id)
    if filing is None:
        raise FilingRefused(f"no filing {filing_id}")
    if filing["state"] not in ("submitted",) + also:
        raise FilingRefused(f"filing {filing['code']} is {filing['state']}, not waiting for a decision")
    return filing


def _open(ctx, filing_id: int) -> dict:
    filing = ctx.catalogue.filing(filing_id)
    if filing is None or filing["state"] not in OPEN:
        raise FilingRefused("this filing is closed: start a new one", "该申请已提交或已结束，请重新开始")
    return filing


def _change(ctx, filing_id: int, **values) -> dict:
    _open(ctx, filing_id)
    if not ctx.catalogue.set_filing(filing_id, expect=OPEN, **values):
        raise FilingRefused("this filing is closed: start a new one", "该申请已提交或已结束，请重新开始")
    return ctx.catalogue.filing(filing_id)


def _page_of(ctx, filing_id: int, page_id: int) -> dict:
    page = ctx.catalogue.filing_page(page_id)
    if page is None or page["filing_id"] != filing_id or page["deleted_at"] is not None:
        raise FilingRefused(f"no page {page_id} in this filing", "该页不属于本次申请")
    return page


def _text_of(ctx, page: dict) -> str:
    """The page's OCR text, read once with the same page steps the workers use."""
    if page["text"] is not None:
        return page["text"]
    from ingest.digitise import digitise
    from ingest.pages import load_page
    data = ctx.blobs.get_bytes(page["sha256"])
    media_type, _ = sniff(data[:1024])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"page{_suffix(page)}"
        path.write_bytes(data)
        raster = load_page(path, media_type, 0, ctx.settings.limits, 300)
    result = digitise(raster, ctx.settings)
    text = result.ocr.text if result.ocr else ""
    ctx.catalogue.set_filing_page(page["id"], text=text)
    return text


def _suffix(page: dict) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif", "application/pdf": ".pdf"}.get(
        (page["provenance"] or {}).get("media_type", ""), ".png" if page["source"] != "phone" else ".jpg")


def _require_form(fields: list[dict]) -> None:
    values = {f["name"]: f["value"] for f in fields}
    missing = [name for name in ("plaintiff", "defendant", "claims") if not values.get(name)]
    if missing:
        raise FilingRefused(f"fill in: {', '.join(missing)}", "请填写：" + "、".join(ZH_FIELDS.get(m, m) for m in missing))
    for name in ("plaintiff_id", "defendant_id"):
        number = values.get(name, "")
        if number and len(number) == 18 and number[:17].isdigit() and not valid_resident_id(number):
            raise FilingRefused(f"{name}: {mask_identifier(number)} fails the ID checksum",
                                f"{ZH_FIELDS.get(name, name)}：{mask_identifier(number)} 校验位不符")


def _has_ink(png: bytes, least: int = 200) -> bool:
    """A signature: a PNG of at most a screen's size with at least `least` pixels drawn on it."""
    from PIL import Image, UnidentifiedImageError
    if sniff(png[:1024])[0] != "image/png":
        return False
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.width * image.height > 4096 * 2160:
                return False
            alpha = image.convert("RGBA").getchannel("A")
            return sum(alpha.histogram()[128:]) >= least
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return False


def _check_picture(ctx, data: bytes) -> None:
    """A page captured or sent from a phone: a picture (JPEG, PNG, TIFF …) within the upload limit."""
    limit = ctx.settings.service.max_upload_mb * 2 ** 20
    media_type, seen = sniff(data[:1024])
    if media_type is None or not media_type.startswith("image/"):
        raise FilingRefused(f"not a picture of a page: this is {seen}; send a photo of each page",
                            f"不是页面图片（{seen}），请逐页拍照上传")
    if len(data) > limit:
        raise FilingRefused(f"the picture is over the {limit // 2 ** 20} MiB limit",
                            f"图片超过 {limit // 2 ** 20} MiB 上限")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(8))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
