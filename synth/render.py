"""Draw synthetic pages as clean 300-dpi A4 greyscale images and return the exact text drawn on them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import segno
from PIL import Image, ImageChops, ImageDraw, ImageFont

from classify.separator import PATCH_T, separator_payload
from synth.documents import TYPE_NAMES, Line, Page

DPI = 300
A4 = (2480, 3508)
MARGIN = 295  # 2.5 cm
TEXT_WIDTH = A4[0] - 2 * MARGIN
BOTTOM = A4[1] - MARGIN
TITLE_PX = 94  # ≈ 22.5 pt
COURT_PX = 76  # ≈ 18 pt
BODY_SIZES = (62, 60, 58)  # ≈ 15 pt, shrunk to 14 pt when a page is full
PITCH = 1.6
INK = 20
BODY_STROKE = 1  # UMing is a light face; one pixel of stroke gives the weight of a printed Song body text
TITLE_STROKE = 2  # titles and the court line in a heavy Song, like 小标宋
RULE_PX = 2  # table rules of 0.5 pt, a word processor's default border
SEAL_GREY = 190  # a red seal as a greyscale scanner sees it, lighter than any ink
SONG = ("/usr/share/fonts/truetype/arphic/uming.ttc", 0)  # AR PL UMing CN
HEI = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0)  # WenQuanYi Micro Hei
NO_LINE_START = set("，。、；：！？）》」』”’%,.;:!?)")
TOKEN = re.compile(r"[0-9A-Za-z.\-+*/%]+|.", re.S)
CODE39 = {
    "0": "000110100", "1": "100100001", "2": "001100001", "3": "101100000", "4": "000110001",
    "5": "100110000", "6": "001110000", "7": "000100101", "8": "100100100", "9": "001100100",
    "A": "100001001", "B": "001001001", "C": "101001000", "D": "000011001", "E": "100011000",
    "F": "001011000", "G": "000001101", "H": "100001100", "I": "001001100", "J": "000011100",
    "K": "100000011", "L": "001000011", "M": "101000010", "N": "000010011", "O": "100010010",
    "P": "001010010", "Q": "000000111", "R": "100000110", "S": "001000110", "T": "000010110",
    "U": "110000001", "V": "011000001", "W": "111000000", "X": "010010001", "Y": "110010000",
    "Z": "011010000", "-": "010000101", ".": "110000100", " ": "011000100", "*": "010010100",
    "$": "010101000", "/": "010100010", "+": "010001010", "%": "000101010",
}


class PageOverflow(ValueError):
    """A page's text does not fit on A4 even at the smallest body size."""


@dataclass(frozen=True, eq=False)
class RenderedPage:
    """A clean page image (H×W uint8, 255 = paper) and the text drawn on it, one drawn line per text line."""
    image: np.ndarray
    text: str


@dataclass(frozen=True)
class _Op:
    """One drawing operation: a text run, a rectangle outline or a filled rectangle."""
    kind: str
    xy: tuple[float, ...]
    text: str = ""
    font: tuple[str, int] = ("song", 0)
    fill: int = INK
    stroke: int = 0


@lru_cache(maxsize=64)
def font(face: str, px: int) -> ImageFont.FreeTypeFont:
    """Song ('song', AR PL UMing CN) or Hei ('hei', WenQuanYi Micro Hei) at a pixel size."""
    path, index = SONG if face == "song" else HEI
    return ImageFont.truetype(path, px, index=index)


@lru_cache(maxsize=8192)
def _width(face: str, px: int, token: str) -> float:
    return font(face, px).getlength(token)


def wrap(text: str, face: str, px: int, width: float, indent: float = 0.0) -> list[str]:
    """Break CJK text into lines at most width wide; Latin/digit runs stay whole; no line starts with a closing mark."""
    lines, current, used, avail = [], "", 0.0, width - indent
    for token in TOKEN.findall(text):
        w = _width(face, px, token)
        if current and used + w > avail and token not in NO_LINE_START:
            lines.append(current)
            current, used, avail = "", 0.0, width
        current, used = current + token, used + w
    lines.append(current)
    return lines


def _tracked_width(text: str, face: str, px: int, tracking: float) -> float:
    return sum(_width(face, px, ch) for ch in text) + tracking * px * (len(text) - 1)


def _text_ops(text: str, x: float, y: float, face: str, px: int, tracking: float = 0.0, stroke: int = 0) -> list[_Op]:
    """Ops drawing a line at baseline y, one op per character when letter-spaced."""
    if not tracking:
        return [_Op("text", (x, y), text, (face, px), stroke=stroke)]
    ops = []
    for ch in text:
        ops.append(_Op("text", (x, y), ch, (face, px), stroke=stroke))
        x += _width(face, px, ch) + tracking * px
    return ops


class _Flow:
    """Lays out a text page top to bottom, collecting drawing ops and the ground-truth lines."""

    def __init__(self, body_px: int):
        self.px = body_px
        self.y = float(MARGIN)
        self.ops: list[_Op] = []
        self.text: list[str] = []
        self.last_right_y = None

    def line(self, text: str, x: float, face: str, px: int, tracking: float = 0.0, stroke: int = BODY_STROKE) -> None:
        self.y += px
        self.ops += _text_ops(text, x, self.y, face, px, tracking, stroke)
        self.text.append(text)
        self.y += (PITCH - 1.0) * px

    def add(self, line: Line) -> None:
        getattr(self, "_" + line.style)(line)

    def _title(self, line: Line) -> None:
        tracking = 0.8 if len(line.text) <= 2 else 0.35 if len(line.text) <= 4 else 0.1
        width = _tracked_width(line.text, "song", TITLE_PX, tracking)
        self.y += 0.3 * TITLE_PX
        self.line(line.text, MARGIN + (TEXT_WIDTH - width) / 2, "song", TITLE_PX, tracking, TITLE_STROKE)
        self.y += 0.3 * TITLE_PX

    def _court(self, line: Line) -> None:
        width = _tracked_width(line.text, "song", COURT_PX, 0.05)
        self.line(line.text, MARGIN + (TEXT_WIDTH - width) / 2, "song", COURT_PX, 0.05, TITLE_STROKE)

    def _caseno(self, line: Line) -> None:
        self._right(line)
        self.y += 0.4 * self.px

    def _right(self, line: Line) -> None:
        width = _tracked_width(line.text, "song", self.px, 0)
        self.last_right_y = self.y + self.px
        self.line(line.text, MARGIN + TEXT_WIDTH - 2 * self.px - width, "song", self.px)

    def _center(self, line: Line) -> None:
        width = _tracked_width(line.text, "song", self.px, 0)
        self.line(line.text, MARGIN + (TEXT_WIDTH - width) / 2, "song", self.px)

    def _paragraph(self, text: str, indent: float) -> None:
        for i, part in enumerate(wrap(text, "song", self.px, TEXT_WIDTH, indent)):
            self.line(part, MARGIN + (indent if i == 0 else 0), "song", self.px)

    def _body(self, line: Line) -> None:
        self._paragraph(line.text, 2 * self.px)

    def _plain(self, line: Line) -> None:
        self._paragraph(line.text, 0)

    def _gap(self, line: Line) -> None:
        self.y += 0.8 * self.px

    def _row(self, line: Line) -> None:
        fractions = {2: (0.34, 0.66), 3: (0.1, 0.33, 0.57)}[len(line.cells)]
        pad, pitch = 0.35 * self.px, PITCH * self.px
        xs = [MARGIN + sum(fractions[:i]) * TEXT_WIDTH for i in range(len(fractions) + 1)]
        cells = [wrap(c, "song", self.px, xs[i + 1] - xs[i] - 2 * pad) for i, c in enumerate(line.cells)]
        rows = max(len(c) for c in cells)
        top, height = self.y, rows * pitch + 2 * pad - (PITCH - 1.0) * self.px * 0.5
        for k in range(rows):
            baseline = top + pad + self.px + k * pitch
            parts = [c[k] for c in cells if k < len(c) and c[k]]
            self.text.append(" ".join(parts))
            for i, c in enumerate(cells):
                if k < len(c):
                    self.ops.append(_Op("text", (xs[i] + pad, baseline), c[k], ("song", self.px), stroke=BODY_STROKE))
        for i in range(len(cells)):
            self.ops.append(_Op("rect", (xs[i], top, xs[i + 1], top + height), fill=INK, stroke=RULE_PX))
        self.y = top + height

    def fits(self) -> bool:
        return self.y <= BOTTOM


def _layout(page: Page) -> _Flow:
    for px in BODY_SIZES:
        flow = _Flow(px)
        for line in page.lines:
            flow.add(line)
        if flow.fits():
            return flow
    raise PageOverflow(f"page titled {page.title!r} does not fit on A4")


def _paint(ops: list[_Op], image: Image.Image | None = None) -> Image.Image:
    image = image or Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    for op in ops:
        if op.kind == "text":
            _draw_text(image, op)
        elif op.kind == "rect":
            draw.rectangle(op.xy, outline=op.fill, width=op.stroke)
        elif op.kind == "box":
            draw.rectangle(op.xy, fill=op.fill)
        elif op.kind == "rounded":
            draw.rounded_rectangle(op.xy, radius=60, fill=op.fill, outline=INK + 60, width=op.stroke)
        elif op.kind == "ellipse":
            draw.ellipse(op.xy, fill=op.fill)
    return image


@lru_cache(maxsize=8192)
def _glyph(face: str, px: int, stroke: int, char: str) -> tuple[Image.Image, int, int]:
    """Coverage mask of one character and its offset from the pen position on the baseline (cached)."""
    core, (cx, cy) = font(face, px).getmask2(char, mode="L", anchor="ls")
    core_image = Image.frombytes("L", core.size, bytes(core))
    if not stroke:
        return core_image, cx, cy
    outline, (dx, dy) = font(face, px).getmask2(char, mode="L", stroke_width=stroke, anchor="ls")
    mask = Image.frombytes("L", outline.size, bytes(outline))
    filled = Image.new("L", mask.size, 0)
    filled.paste(core_image, (cx - dx, cy - dy))
    return ImageChops.lighter(mask, filled), dx, dy


def _draw_text(image: Image.Image, op: _Op) -> None:
    """Draw a text run glyph by glyph from the cache, advancing by each character's width."""
    face, px = op.font
    x, y = op.xy
    for char in op.text:
        mask, dx, dy = _glyph(face, px, op.stroke, char)
        if mask.size[0] and mask.size[1]:
            left, top = round(x) + dx, round(y) + dy
            image.paste(op.fill, (left, top, left + mask.size[0], top + mask.size[1]), mask)
        x += _width(face, px, char)


def _seal(centre: tuple[float, float]) -> Image.Image:
    """A blank page stamped with a court seal (ring and star, as red ink looks in greyscale); text is drawn over it."""
    image = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    cx, cy, r = centre[0], centre[1], 190
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=SEAL_GREY, width=10)
    angles = [np.pi / 2 + k * 4 * np.pi / 5 for k in range(5)]
    star = [(cx + 70 * np.cos(a), cy - 70 * np.sin(a)) for a in angles]
    draw.polygon(star, fill=SEAL_GREY + 10)
    return image


def page_text(page: Page) -> str:
    """The ground-truth text render_page() would draw, without drawing (raises PageOverflow like it)."""
    if page.layout == "idcard":
        return "\n".join(_idcard_layout(page)[1])
    return "\n".join(_layout(page).text)


def render_page(page: Page) -> RenderedPage:
    """A clean A4 image of a document page and the exact text drawn, lines joined by \\n."""
    if page.layout == "idcard":
        ops, text = _idcard_layout(page)
        return RenderedPage(np.array(_paint(ops), dtype=np.uint8), "\n".join(text))
    flow = _layout(page)
    stamped = page.seal and flow.last_right_y is not None
    base = _seal((MARGIN + TEXT_WIDTH - 5 * flow.px, flow.last_right_y - 0.4 * flow.px)) if stamped else None
    image = _paint(flow.ops, base)
    return RenderedPage(np.array(image, dtype=np.uint8), "\n".join(flow.text))


# ---- ID card photocopy -------------------------------------------------------------------------------------------

CARD_W, CARD_H = 1618, 1020  # an 85.6 × 54 mm card copied at 160 %
CARD_X = (A4[0] - CARD_W) // 2


def _card_heading(line: Line, x: float, y: float) -> tuple[list[_Op], float]:
    """中华人民共和国 / 居民身份证 on the back face; returns the ops and the next top."""
    px = 120 if line.style == "card_title" else 78
    return _text_ops(line.text, x, y + px, "hei", px, 0.3 if px > 100 else 0.1), y + 1.5 * px


def _card_row(line: Line, x0: float, y: float, value_width: float) -> tuple[list[_Op], list[str], float]:
    """One label/value row of a card face at baseline y; returns ops, text lines and the next baseline."""
    label, *values = line.cells
    parts = _card_values(values, x0 + max(200, 110 + 44 * len(label)), value_width)
    ops = [_Op("text", (x0 + 70, y), label, ("hei", 44), fill=70)]
    for i, (x, part) in enumerate(parts):
        ops += _text_ops(part, x, y + (i if label == "住址" else 0) * 68, "hei", 50, 0.12 if part.isascii() else 0)
    return ops, _card_text(label, parts), y + 120 + 68 * (len(parts) - 1 if label == "住址" else 0)


def _card_values(values: list[str], x: float, width: float) -> list[tuple[float, str]]:
    """Positions of the values of one card row: side by side (性别 男 民族 汉) or one value, wrapped."""
    if len(values) == 3:
        return [(x, values[0]), (x + 240, values[1]), (x + 410, values[2])]
    return [(x, part) for part in wrap(values[0], "hei", 50, width)]


def _card_text(label: str, parts: list[tuple[float, str]]) -> list[str]:
    if label == "性别":
        return [" ".join([label, *(p for _, p in parts)])]
    return [f"{label} {parts[0][1]}"] + [p for _, p in parts[1:]]


def _card_face(lines: list[Line], y0: int, front: bool) -> tuple[list[_Op], list[str]]:
    """Outline, picture and text of one face of the card whose top edge is at y0."""
    x0 = CARD_X
    ops = [_Op("rounded", (x0, y0, x0 + CARD_W, y0 + CARD_H), fill=236, stroke=4)]
    if front:
        ops += [_Op("box", (x0 + 1110, y0 + 130, x0 + 1500, y0 + 640), fill=226),
                _Op("ellipse", (x0 + 1215, y0 + 190, x0 + 1395, y0 + 410), fill=200),
                _Op("ellipse", (x0 + 1150, y0 + 430, x0 + 1460, y0 + 640), fill=200)]
    else:
        ops.append(_Op("ellipse", (x0 + 110, y0 + 90, x0 + 380, y0 + 360), fill=215))
    text: list[str] = []
    top, baseline = y0 + 110.0, y0 + 150.0
    for line in lines:
        if not line.cells:
            more, top = _card_heading(line, x0 + 520, top)
            ops += more
            text.append(line.text)
            continue
        if line.cells[0] in ("公民身份号码", "签发机关"):
            baseline = max(baseline, y0 + (860 if front else 740))
        more, texts, baseline = _card_row(line, x0, baseline, 860)
        ops += more
        text += texts
    return ops, text


def _idcard_layout(page: Page) -> tuple[list[_Op], list[str]]:
    """Ops and text lines of an ID card copy: front above back, the certification line below."""
    front = [ln for ln in page.lines if ln.style == "front"]
    back = [ln for ln in page.lines if ln.style in ("back", "card_title")]
    rest = [ln for ln in page.lines if ln.style not in ("front", "back", "card_title")]
    front_ops, front_text = _card_face(front, 380, True)
    back_ops, back_text = _card_face(back, 380 + CARD_H + 180, False)
    flow = _Flow(BODY_SIZES[0])
    flow.y = 380 + 2 * CARD_H + 300
    for line in rest:
        flow.add(line)
    return front_ops + back_ops + flow.ops, front_text + back_text + flow.text


# ---- separator sheets --------------------------------------------------------------------------------------------

def qr_matrix(payload: str) -> np.ndarray:
    """Boolean module matrix (True = dark) of a QR code of payload, with its 4-module quiet zone."""
    code = segno.make(payload, error="m", micro=False)
    return np.array([[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=4)], dtype=bool)


def _sheet(lines: list[Line], graphic: np.ndarray, graphic_top: int) -> RenderedPage:
    """A sheet with a centred graphic (True = black) and text lines laid out below it."""
    flow = _Flow(BODY_SIZES[0])
    flow.add(lines[0])
    flow.y = graphic_top + graphic.shape[0] + 120
    for line in lines[1:]:
        flow.add(line)
    image = np.asarray(_paint(flow.ops), dtype=np.uint8).copy()
    left = (A4[0] - graphic.shape[1]) // 2
    image[graphic_top:graphic_top + graphic.shape[0], left:left + graphic.shape[1]][graphic] = 0
    return RenderedPage(image, "\n".join(flow.text))


def render_separator(case_no: str, type_code: str, volume: str = "ZJ") -> RenderedPage:
    """Cover sheet that starts a document: a big QR code of separator_payload() and the same facts in words."""
    matrix = qr_matrix(separator_payload(case_no, type_code, volume))
    scale = 1300 // matrix.shape[0]
    big = np.kron(matrix, np.ones((scale, scale), dtype=bool))
    lines = [Line("材料分隔页", "title"), Line(f"案号：{case_no}", "center"),
             Line(f"材料类型：{TYPE_NAMES.get(type_code, '')} {type_code}".replace("： ", "："), "center"),
             Line(f"卷别：{'正卷' if volume == 'ZJ' else '副卷'} {volume}", "center"),
             Line("", "gap"), Line("扫描时请将本页置于该材料首页之前", "center")]
    return _sheet(lines, big, 560)


def code39_modules(text: str, narrow: int = 10, wide: int = 28) -> np.ndarray:
    """One row of a Code 39 symbol for text with start/stop '*': True = bar; widths in pixels."""
    runs: list[tuple[bool, int]] = []
    for i, ch in enumerate(f"*{text}*"):
        if i:
            runs.append((False, narrow))  # inter-character gap
        for k, bit in enumerate(CODE39[ch]):
            runs.append((k % 2 == 0, wide if bit == "1" else narrow))
    return np.concatenate([np.full(width, bar, dtype=bool) for bar, width in runs])


def render_patch_t() -> RenderedPage:
    """A Patch-T sheet: a Code 39 barcode of PATCHT (narrow 10 px, wide 28 px) with its human-readable text."""
    bars = np.tile(code39_modules(PATCH_T), (700, 1))
    quiet = np.zeros((bars.shape[0], 200), dtype=bool)
    bars = np.hstack([quiet, bars, quiet])
    lines = [Line("文档分隔页", "title"), Line(f"*{PATCH_T}*", "center"), Line("", "gap"),
             Line("本页仅用于分隔文档，不属于卷宗材料", "center")]
    return _sheet(lines, bars, 700)
