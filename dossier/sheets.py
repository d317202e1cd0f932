"""Pages a volume adds around its documents: cover, contents, remarks sheet, back cover, and the page-number stamp.

Each function returns the bytes of a PDF drawn with reportlab; Chinese text uses embedded, subset TrueType fonts so the
sheets stay searchable.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from dossier.model import VOLUME_NAMES, ArchiveNote, DocumentEntry, DocumentPlacement, VolumeSpec

HEI = "WQY"      # headings and labels (黑体 style)
SONG = "UMing"   # filled-in values and table text (宋体 style)
FONT_FILES = {
    HEI: Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    SONG: Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
}
NUMBER_FONT = "Helvetica"
NUMBER_SIZE = 11
NUMBER_MARGIN = 1 * cm
PAGE_W, PAGE_H = A4
INK = colors.black

StampPosition = Literal["top-right", "top-left"]


FONT_PACKAGES = {HEI: "fonts-wqy-microhei", SONG: "fonts-arphic-uming"}


def use_fonts(heading: Path, text: Path) -> None:
    """Take the Chinese fonts from these files (settings `dossier.font_heading`, `dossier.font_text`)."""
    FONT_FILES.update({HEI: Path(heading), SONG: Path(text)})
    register_fonts.cache_clear()


def missing_fonts() -> list[str]:
    """The fonts files that are not there, each with the Debian package that provides the default one."""
    return [f"{path} (apt-get install {FONT_PACKAGES[name]})" for name, path in FONT_FILES.items()
            if not path.is_file()]


@cache
def register_fonts() -> None:
    """Register the two Chinese fonts with reportlab once per process."""
    for name, path in FONT_FILES.items():
        if not path.is_file():
            raise FileNotFoundError(f"Chinese font {path} is missing: "
                                    "install the fonts-wqy-microhei and fonts-arphic-uming packages")
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))


def _canvas(buffer: io.BytesIO, title: str) -> Canvas:
    register_fonts()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("edossier")
    return canvas


def _fit_size(text: str, font: str, size: float, width: float, smallest: float = 8) -> float:
    """Largest font size ≤ size (not below smallest) at which text fits in width."""
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _spread(canvas: Canvas, x: float, y: float, width: float, text: str, font: str, size: float) -> None:
    """Draw text justified across width (分散对齐), the way form labels are printed."""
    canvas.setFont(font, size)
    if len(text) < 2:
        canvas.drawString(x, y, text)
        return
    gap = (width - pdfmetrics.stringWidth(text, font, size)) / (len(text) - 1)
    canvas.drawString(x, y, text, charSpace=max(gap, 0))


def _title(canvas: Canvas, text: str, y: float, size: float = 22, spacing: float = 10) -> None:
    canvas.setFont(HEI, size)
    canvas.drawCentredString(PAGE_W / 2, y, text, charSpace=spacing)


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# ---------------------------------------------------------------- cover (卷宗封面)

def cover_pdf(spec: VolumeSpec) -> bytes:
    """卷宗封面: court, 诉讼档案, the volume's particulars in a ruled table, archive-number boxes at the foot."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{spec.case_no} {spec.volume_name} 封面")
    _cover_heading(canvas, spec)
    _cover_table(canvas, _cover_rows(spec))
    _archive_boxes(canvas)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _cover_heading(canvas: Canvas, spec: VolumeSpec) -> None:
    canvas.setFont(HEI, _fit_size(spec.court, HEI, 22, PAGE_W - 50 * mm))
    canvas.drawCentredString(PAGE_W / 2, 250 * mm, spec.court, charSpace=2)
    _title(canvas, "诉讼档案", 226 * mm, size=44, spacing=18)
    canvas.setFont(HEI, 18)
    canvas.drawCentredString(PAGE_W / 2, 208 * mm, f"（{spec.volume_name}）", charSpace=6)


def _cover_rows(spec: VolumeSpec) -> list[tuple[str, str]]:
    return [
        ("案号", spec.case_no),
        ("案由", spec.cause),
        ("类别", spec.case_family_label),
        ("卷别", spec.volume_name),
        ("本卷页数", f"共 {spec.numbered_pages} 页"),
        ("生成日期", _chinese_date(spec.produced_on)),
        ("保管期限", spec.retention),
    ]


def _cover_table(canvas: Canvas, rows: list[tuple[str, str]]) -> None:
    left, right, top, row_h, label_w = 30 * mm, PAGE_W - 30 * mm, 188 * mm, 16 * mm, 38 * mm
    bottom = top - row_h * len(rows)
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(1.2)
    canvas.rect(left, bottom, right - left, top - bottom)
    canvas.setLineWidth(0.6)
    canvas.line(left + label_w, bottom, left + label_w, top)
    for i, (label, value) in enumerate(rows):
        y = top - row_h * (i + 1)
        if i:
            canvas.line(left, y + row_h, right, y + row_h)
        _spread(canvas, left + 6 * mm, y + 6 * mm, label_w - 12 * mm, label, HEI, 14)
        value_w = right - left - label_w - 10 * mm
        canvas.setFont(SONG, _fit_size(value, SONG, 15, value_w))
        canvas.drawString(left + label_w + 5 * mm, y + 6 * mm, value)


def _archive_boxes(canvas: Canvas) -> None:
    """全宗号 / 目录号 / 案卷号: left blank for the archive to fill in."""
    labels = ("全宗号", "目录号", "案卷号")
    left, y, cell_w, h = 30 * mm, 22 * mm, (PAGE_W - 60 * mm) / 3, 14 * mm
    canvas.setLineWidth(0.6)
    for i, label in enumerate(labels):
        x = left + i * cell_w
        canvas.rect(x, y, cell_w, h)
        canvas.line(x + 22 * mm, y, x + 22 * mm, y + h)
        canvas.setFont(HEI, 11)
        canvas.drawCentredString(x + 11 * mm, y + 5 * mm, label)


# ---------------------------------------------------------------- contents (卷内目录)

CONTENTS_COLUMNS = ("序号", "文件名称", "页号", "备注")
CONTENTS_WIDTHS = (15 * mm, 95 * mm, 24 * mm, 32 * mm)   # fits the 170 mm frame less its padding
CONTENTS_LEFT = 20 * mm + 6  # frame margin plus platypus' default frame padding
CONTENTS_RIGHT = CONTENTS_LEFT + sum(CONTENTS_WIDTHS)
CONTENTS_ROW_H = 28          # one line of 12 pt text with its padding; blank rows use the same height
RULE, BORDER = 0.6, 1.2
HEAD_STYLE = ParagraphStyle("contents-head", fontName=HEI, fontSize=12, leading=15, alignment=1)
CELL_STYLE = ParagraphStyle("contents-cell", fontName=SONG, fontSize=12, leading=16, wordWrap="CJK")
CENTRED_STYLE = ParagraphStyle("contents-centred", parent=CELL_STYLE, alignment=1)
REMARK_STYLE = ParagraphStyle("contents-remark", parent=CENTRED_STYLE, fontSize=10, leading=13)


def contents_remark(entry: DocumentEntry) -> str:
    """The 备注 cell: why a document carries no page numbers, or that its catalogue entry awaits a check."""
    notes = []
    if not entry.numbered:
        notes.append(f"不编页号（{len(entry.page_pdfs)}页）")
    if entry.review:
        notes.append("待核")
    return "\n".join(notes)


def contents_pdf(spec: VolumeSpec, placements: Sequence[DocumentPlacement]) -> bytes:
    """卷内目录 over as many pages as needed, the header row repeated, "第 i 页 共 n 页" at the foot.

    Only index, title and page numbers of the placements are printed. The page total is known after a first
    rendering, so the contents are rendered twice.
    """
    _, total = _render_contents(spec, placements, total=None)
    pdf, _ = _render_contents(spec, placements, total=total)
    return pdf


def _render_contents(spec: VolumeSpec, placements: Sequence[DocumentPlacement],
                     total: int | None) -> tuple[bytes, int]:
    register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=42 * mm,
                            bottomMargin=22 * mm, title=f"{spec.case_no} {spec.volume_name} 卷内目录",
                            creator="edossier", invariant=1, pageCompression=1)

    def frame(canvas: Canvas, doc_: SimpleDocTemplate) -> None:
        _contents_frame(canvas, spec, doc_.page, total)

    story = [_contents_table(spec, placements), _BlankRows(CONTENTS_WIDTHS, CONTENTS_ROW_H)]
    doc.build(story, onFirstPage=frame, onLaterPages=frame)
    return buffer.getvalue(), doc.page


def _contents_frame(canvas: Canvas, spec: VolumeSpec, page: int, total: int | None) -> None:
    canvas.saveState()
    _title(canvas, "卷内目录", PAGE_H - 25 * mm)
    canvas.setFont(SONG, 12)
    canvas.drawString(CONTENTS_LEFT, PAGE_H - 36 * mm, f"案号：{spec.case_no}")
    canvas.drawRightString(CONTENTS_RIGHT, PAGE_H - 36 * mm, spec.volume_name)
    canvas.setFont(SONG, 10.5)
    footer = f"第 {page} 页 共 {total} 页" if total else f"第 {page} 页"
    canvas.drawCentredString(PAGE_W / 2, 12 * mm, footer)
    canvas.restoreState()


def _contents_table(spec: VolumeSpec, placements: Sequence[DocumentPlacement]) -> Table:
    rows = [[Paragraph(name, HEAD_STYLE) for name in CONTENTS_COLUMNS]]
    rows += [_contents_row(placement, entry) for placement, entry in zip(placements, spec.documents, strict=True)]
    table = Table(rows, colWidths=CONTENTS_WIDTHS, repeatRows=1,
                  rowHeights=[CONTENTS_ROW_H + 4] + [None] * len(placements), hAlign="LEFT")
    table.setStyle(_contents_style())
    return table


def _contents_row(placement: DocumentPlacement, entry: DocumentEntry) -> list[Paragraph]:
    return [Paragraph(str(placement.index), CENTRED_STYLE),
            Paragraph(_escape(placement.title), CELL_STYLE),
            Paragraph(placement.page_range, CENTRED_STYLE),
            Paragraph(_escape(contents_remark(entry)).replace("\n", "<br/>"), REMARK_STYLE)]


def _contents_style() -> TableStyle:
    """Thick outer rules except the foot, which _BlankRows closes (so the form runs on without a break)."""
    return TableStyle([
        ("INNERGRID", (0, 0), (-1, -1), RULE, INK),
        ("LINEABOVE", (0, 0), (-1, 0), BORDER, INK),
        ("LINEBEFORE", (0, 0), (0, -1), BORDER, INK),
        ("LINEAFTER", (-1, 0), (-1, -1), BORDER, INK),
        ("LINEBELOW", (0, 0), (-1, 0), 1.0, INK),
        ("LINEBELOW", (0, -1), (-1, -1), RULE, INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 1), (-1, -1), 6),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 6),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ])


class _BlankRows(Flowable):
    """Empty ruled rows continuing the table to the foot of its last page, as on a printed 卷内目录 form."""

    def __init__(self, widths: Sequence[float], row_height: float) -> None:
        super().__init__()
        self.widths, self.row_height, self.rows = tuple(widths), row_height, 0

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.rows = max(int(avail_height // self.row_height), 0)
        return sum(self.widths), self.rows * self.row_height

    def draw(self) -> None:
        canvas, width, height = self.canv, sum(self.widths), self.rows * self.row_height
        canvas.setLineWidth(RULE)
        for row in range(1, self.rows):
            canvas.line(0, row * self.row_height, width, row * self.row_height)
        x = 0.0
        for column_width in self.widths[:-1]:
            x += column_width
            canvas.line(x, 0, x, height)
        canvas.setLineWidth(BORDER)
        canvas.lines([(0, 0, 0, height), (width, 0, width, height), (0, 0, width, 0)])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- remarks sheet (备考表)

def remarks_pdf(spec: VolumeSpec) -> bytes:
    """备考表: "本卷共 N 件 M 页", a note on unnumbered material, the scanned pages not bound (blank backsides,
    separator sheets, pages that failed) with their counts, blanks for 立卷人, 检查人 and 立卷时间. In an archive
    package it also gives the pages of every volume, who archived the case and when (filled in as 立卷人 and
    立卷时间), and why a case not closed was archived."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{spec.case_no} {spec.volume_name} 备考表")
    _title(canvas, "备考表", PAGE_H - 25 * mm)
    canvas.setFont(SONG, 12)
    canvas.drawString(20 * mm, PAGE_H - 36 * mm, f"案号：{spec.case_no}")
    canvas.drawRightString(PAGE_W - 20 * mm, PAGE_H - 36 * mm, spec.volume_name)
    left, bottom, top = 20 * mm, 25 * mm, PAGE_H - 42 * mm
    canvas.setLineWidth(1.2)
    canvas.rect(left, bottom, PAGE_W - 2 * left, top - bottom)
    line = _remarks_text(canvas, spec, left + 10 * mm, top - 16 * mm)
    if spec.archive is not None:
        _remarks_archive(canvas, spec.archive, left + 10 * mm, line, PAGE_W - 2 * left - 20 * mm)
    _remarks_signatures(canvas, left + 10 * mm, bottom + 40 * mm, spec.archive)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _remarks_text(canvas: Canvas, spec: VolumeSpec, x: float, y: float) -> float:
    """The counts and the pages not bound; answers the height at which the next lines of 说明 go."""
    canvas.setFont(SONG, 14)
    canvas.drawString(x, y, f"本卷共 {len(spec.documents)} 件 {spec.numbered_pages} 页")
    unnumbered = [doc for doc in spec.documents if not doc.numbered]
    if unnumbered:
        pages = sum(len(doc.page_pdfs) for doc in unnumbered)
        canvas.setFont(SONG, 12)
        canvas.drawString(x, y - 10 * mm, f"其中不编页号材料 {len(unnumbered)} 件 {pages} 页，见卷内目录备注。")
    canvas.setFont(HEI, 12)
    canvas.drawString(x, y - 24 * mm, "说明：")
    canvas.setFont(SONG, 12)
    line = y - 34 * mm
    if spec.left_out:
        total = sum(n for _, n in spec.left_out)
        canvas.drawString(x, line, f"本案扫描所得另有 {total} 页未装订入卷：")
        for why, n in spec.left_out:
            line -= 8 * mm
            canvas.drawString(x + 8 * mm, line, f"{why} {n} 页；")
        line -= 12 * mm
    return line


def _remarks_archive(canvas: Canvas, note: ArchiveNote, x: float, y: float, width: float) -> None:
    """The archiving: each volume's archival pages, who archived the case and when, and the reason given (its
    length is bounded where it is given, so it always fits above the signatures)."""
    canvas.setFont(SONG, 12)
    pages = "；".join(f"{VOLUME_NAMES.get(v, v)} {n} 页" for v, n in note.volume_pages)
    lines = [f"本案归档卷宗共 {len(note.volume_pages)} 卷：{pages}。", f"归档人：{note.actor}　归档时间：{note.at}"]
    if note.forced:
        lines.append("本案尚未结案，经操作员决定提前归档。")
    if note.reason:
        lines += wrap(f"{'理由' if note.forced else '说明'}：{note.reason}", SONG, 12, width)
    for number, text in enumerate(lines):
        canvas.drawString(x, y - number * 7 * mm, text)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Text broken into lines no wider than width, character by character (Chinese has no spaces to break at)."""
    lines, current = [], ""
    for char in " ".join(text.split()):
        if current and pdfmetrics.stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = ""
        current += char
    return lines + [current] if current else lines


def _remarks_signatures(canvas: Canvas, x: float, y: float, note: ArchiveNote | None = None) -> None:
    """立卷人, 检查人, 立卷时间: left blank to be signed, or — in an archive package — the archivist and the day."""
    blank = "＿" * 8
    canvas.setFont(SONG, 13)
    canvas.drawString(x + 70 * mm, y, f"立卷人：{note.actor if note else blank}")
    canvas.drawString(x + 70 * mm, y - 11 * mm, f"检查人：{blank}")
    canvas.drawString(x + 70 * mm, y - 22 * mm, f"立卷时间：{note.at.split()[0] if note else '　　　年　　月　　日'}")


# ---------------------------------------------------------------- back cover (卷底)

def back_cover_pdf(spec: VolumeSpec) -> bytes:
    """卷底: an empty page carrying only a small identification line at the foot."""
    buffer = io.BytesIO()
    canvas = _canvas(buffer, f"{spec.case_no} {spec.volume_name} 卷底")
    canvas.setFont(SONG, 9)
    canvas.setFillColor(colors.Color(0.35, 0.35, 0.35))
    canvas.drawRightString(PAGE_W - 20 * mm, 12 * mm, f"卷底　{spec.case_no}　{spec.volume_name}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---------------------------------------------------------------- page-number stamp

def number_overlay(number: int, width_pt: float, height_pt: float, position: StampPosition = "top-right") -> bytes:
    """A transparent page of the given size carrying only the archival page number ~1 cm from the chosen corner.

    Archival practice numbers a sheet's front in the top-right corner and its back in the top-left; scanned pages
    are all fronts here, so "top-right" is the default. Digits use a standard PDF font.
    """
    if number < 1:
        raise ValueError(f"page numbers start at 1, not {number}")
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width_pt, height_pt), invariant=1, pageCompression=0)
    canvas.setFont(NUMBER_FONT, NUMBER_SIZE)
    baseline = height_pt - NUMBER_MARGIN - 0.72 * NUMBER_SIZE   # cap height of the digits ≈ 0.72 em
    if position == "top-right":
        canvas.drawRightString(width_pt - NUMBER_MARGIN, baseline, str(number))
    elif position == "top-left":
        canvas.drawString(NUMBER_MARGIN, baseline, str(number))
    else:
        raise ValueError(f"position must be 'top-right' or 'top-left', not {position!r}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
