"""The printable separator sheet (分隔页) placed in front of each document before a batch is scanned.

The sheet carries a large QR code with :func:`classify.separator.separator_payload` (case number, document type,
volume) and the same facts in human-readable form. The scanner pipeline recognises the sheet, starts a new document
with it and drops the sheet itself from the case file.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from classify.separator import Separator, parse_separator_text, separator_payload

__all__ = ["coversheet_pdf", "receipt_pdf", "QR_SIZE", "VOLUME_NAMES"]

#: Printed edge length of the QR code (without its quiet zone).
QR_SIZE = 8 * cm
#: QR error correction level (segno may raise it when that costs no extra size).
QR_ERROR = "q"
VOLUME_NAMES = {"ZJ": "正卷", "FJ": "副卷"}

# An embedded CJK font so the sheet prints the same on any machine (TrueType outlines; index 0 of the collection).
CJK_FONT_NAME = "WenQuanYiMicroHei"
CJK_FONT_FILES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),
)
_font_lock = threading.Lock()


def _cjk_font() -> str:
    """Register the CJK font with reportlab on first use (once per process) and return its name."""
    with _font_lock:
        if CJK_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            path = next((p for p in CJK_FONT_FILES if p.is_file()), None)
            if path is None:
                raise FileNotFoundError(
                    "no CJK font for separator sheets; install fonts-wqy-microhei (looked for "
                    + ", ".join(str(p) for p in CJK_FONT_FILES) + ")")
            pdfmetrics.registerFont(TTFont(CJK_FONT_NAME, str(path), subfontIndex=0))
    return CJK_FONT_NAME


def _fit(text: str, font: str, size: float, width: float, smallest: float = 8) -> float:
    """Largest font size ≤ ``size`` at which ``text`` fits into ``width`` points (not below ``smallest``)."""
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def qr_svg(payload: str, scale: int = 6) -> str:
    """A QR code as inline SVG, for a screen (the kiosk's phone link)."""
    return segno.make(payload, error=QR_ERROR, micro=False).svg_inline(scale=scale)


def _draw_qr(pdf: canvas.Canvas, payload: str, x: float, y: float, size: float) -> None:
    """QR code as one filled vector path (runs of dark modules merged), lower-left corner at (x, y)."""
    qr = segno.make(payload, error=QR_ERROR, micro=False)
    matrix = qr.matrix
    module = size / len(matrix)
    path = pdf.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                path.rect(x + start * module, top, (col - start) * module, module)
            else:
                col += 1
    pdf.setFillColorRGB(0, 0, 0)
    pdf.drawPath(path, stroke=0, fill=1)


def coversheet_pdf(case_no: str, type_code: str, type_name: str, volume: str = "ZJ") -> bytes:
    """One A4 page: QR separator code plus case number, document type and volume in words."""
    case_no, type_code, type_name = case_no.strip(), type_code.strip(), type_name.strip()
    payload = _checked_payload(case_no, type_code, volume)
    font = _cjk_font()
    buf = io.BytesIO()
    pdf = _sheet(buf, font, f"分隔页 {case_no} {type_code} {volume}", "edossier separator sheet")
    y = _heading(pdf, font, A4[1] - _MARGIN, "分隔页 / SEPARATOR SHEET")
    y = _qr_block(pdf, payload, y - 1.2 * cm)
    y = _facts(pdf, font, y - 1.4 * cm, [
        ("案号", "Case No.", case_no),
        ("文书类型", "Document type", f"{type_code}  {type_name}".strip()),
        ("卷别", "Volume", f"{VOLUME_NAMES[volume]} {volume}"),
    ])
    _handling_note(pdf, font, y - 0.3 * cm)
    _payload_footer(pdf, font, payload)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


_MARGIN = 2 * cm
_TEXT_WIDTH = A4[0] - 2 * _MARGIN


def _sheet(buf: io.BytesIO, font: str, title: str, subject: str) -> canvas.Canvas:
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1, initialFontName=font)
    pdf.setTitle(title)
    pdf.setSubject(subject)
    pdf.setCreator("edossier")
    return pdf


def _checked_payload(case_no: str, type_code: str, volume: str, receipt: str | None = None) -> str:
    if not case_no or not type_code:
        raise ValueError("a separator sheet needs a case number and a document type code")
    payload = separator_payload(case_no, type_code, volume, receipt)  # validates the volume
    if parse_separator_text(payload) != Separator(case_no, type_code, volume, receipt):
        raise ValueError(f"case number / type code cannot be encoded losslessly: {case_no!r}, {type_code!r}")
    return payload


def receipt_pdf(case_no: str, type_code: str, type_name: str, label: str, pages: int, handed_in_by: str,
                received_at: str, court: str = "") -> bytes:
    """The receipt (签收单) for paper handed in: what, how many pages, from whom, when, with a QR code that — this
    sheet scanned first, on top of that paper — files the paper into the case under this receipt."""
    payload = _checked_payload(case_no, type_code, "ZJ", receipt=label)
    font = _cjk_font()
    buf = io.BytesIO()
    pdf = _sheet(buf, font, f"签收单 {label} {case_no}", "edossier receipt")
    y = _heading(pdf, font, A4[1] - _MARGIN, f"{court} 材料签收单".strip() + f" {label}")
    y = _facts(pdf, font, y - 1.3 * cm, [
        ("案号", "Case No.", case_no),
        ("材料", "Material", f"{type_name} ({type_code})"),
        ("页数", "Pages", f"{pages} 页"),
        ("提交人", "Handed in by", handed_in_by or "—"),
        ("签收时间", "Received", received_at),
    ])
    y = _qr_block(pdf, payload, y - 0.2 * cm)
    _handling_note(pdf, font, y - 1.2 * cm, "扫描时置于该材料首页之上", "Scan this sheet on top of the paper it lists")
    _payload_footer(pdf, font, payload)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def filing_receipt_pdf(*, code: str, court: str, kind: str, cause: str, filer: str, filer_id: str,
                       materials: list[tuple[str, int]], at: str, case_no: str | None = None) -> bytes:
    """The receipt a person takes from the filing kiosk (立案回执): the materials and their page counts, when, who
    (the ID number masked), and the lookup code, also as a QR code, to follow the filing until a case number is
    issued — laid out as the scanning desk's receipt."""
    font = _cjk_font()
    buf = io.BytesIO()
    pdf = _sheet(buf, font, f"立案回执 {code}", "edossier filing receipt")
    y = _heading(pdf, font, A4[1] - _MARGIN, f"{court} 自助立案回执".strip())
    y = _facts(pdf, font, y - 1.3 * cm, [
        ("查询码", "Lookup code", code),
        ("案号", "Case No.", case_no or "待立案审查 (pending review)"),
        ("类型 / 案由", "Kind / cause", f"{kind} {cause}".strip() or "—"),
        ("提交人", "Filed by", f"{filer} {filer_id}"),
        ("提交时间", "Submitted", at),
    ] + [("材料", "Material", f"{name} {pages} 页") for name, pages in materials] + [
        ("合计", "Total", f"{sum(n for _, n in materials)} 页"),
    ])
    _draw_qr(pdf, f"EDOSSIER-FILING:{code}", (A4[0] - 5 * cm) / 2, y - 5 * cm, 5 * cm)
    _handling_note(pdf, font, y - 6.2 * cm, "凭查询码查询立案结果；纸质原件请投入材料柜",
                   "Follow the filing with the lookup code; put the paper originals in the locker")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _heading(pdf: canvas.Canvas, font: str, top: float, title: str) -> float:
    """Title and a rule below it; returns the rule's height on the page."""
    pdf.setFont(font, _fit(title, font, 26, _TEXT_WIDTH))
    pdf.drawCentredString(A4[0] / 2, top - 26, title)
    pdf.setLineWidth(2)
    pdf.line(_MARGIN, top - 40, A4[0] - _MARGIN, top - 40)
    return top - 40


def _qr_block(pdf: canvas.Canvas, payload: str, top: float) -> float:
    """The QR code centred below ``top``; returns its lower edge."""
    _draw_qr(pdf, payload, (A4[0] - QR_SIZE) / 2, top - QR_SIZE, QR_SIZE)
    return top - QR_SIZE


def _facts(pdf: canvas.Canvas, font: str, y: float, rows: list[tuple[str, str, str]]) -> float:
    """Label (Chinese over English) and value per row; returns the baseline below the last row."""
    label_width = 4.6 * cm
    for label_zh, label_en, value in rows:
        pdf.setFont(font, 13)
        pdf.drawString(_MARGIN, y, label_zh)
        pdf.setFont(font, 8)
        pdf.drawString(_MARGIN, y - 11, label_en)
        pdf.setFont(font, _fit(value, font, 22, _TEXT_WIDTH - label_width))
        pdf.drawString(_MARGIN + label_width, y - 2, value)
        y -= 1.55 * cm
    return y


def _handling_note(pdf: canvas.Canvas, font: str, y: float, note: str = "请勿装订 — 扫描后自动剔除",
                   english: str = "Do not bind — this sheet is removed automatically after scanning") -> None:
    pdf.setLineWidth(1)
    pdf.line(_MARGIN, y + 0.9 * cm, A4[0] - _MARGIN, y + 0.9 * cm)
    pdf.setFont(font, _fit(note, font, 24, _TEXT_WIDTH))
    pdf.drawCentredString(A4[0] / 2, y - 0.2 * cm, note)
    pdf.setFont(font, 10)
    pdf.drawCentredString(A4[0] / 2, y - 0.9 * cm, english)


def _payload_footer(pdf: canvas.Canvas, font: str, payload: str) -> None:
    """The QR code's text in small grey print, for a person checking a sheet that will not scan."""
    pdf.setFont(font, _fit(payload, font, 6.5, _TEXT_WIDTH, smallest=4))
    pdf.setFillColorRGB(0.35, 0.35, 0.35)
    pdf.drawCentredString(A4[0] / 2, _MARGIN * 0.75, payload)
