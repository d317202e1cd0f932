"""Synthetic court paper of the kinds OCR finds hardest, with ground truth: dense text pages, short notices, decisions
sealed in red over their signature, bordered forms filled by hand, and ID-card photocopies, scanned in colour.

    kind_pages(kinds=KINDS, per_kind=5, seed=0) -> list[KindPage]

Each page is drawn in layers: black print, coloured ink (a red seal, a red received stamp, blue ballpoint) laid over
it as ink is (multiplied: black under red stays black), a slip of paper pasted over part of the page, then scanned:
a faint second-generation photocopy on some pages (grey, low contrast, toner specks: the seal turns grey too), a
slight skew, blur, noise, uneven paper and colour JPEG. The ground truth is every line printed or written in black
or blue, in reading order (a table row by row, its cells left to right), lines joined by "\\n"; the seal's own
ring text, the stamp's text and whatever the slip covers are not in it.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from classify.identifiers import resident_id_check
from synth import documents as docs
from synth.degrade import degrade, scan_params
from synth.documents import CaseFacts, Line
from synth.people import Person, fake_region, make_lawyer, make_name, make_party, make_person, make_phone
from synth.render import A4, DPI, MARGIN, TEXT_WIDTH, font, wrap

KINDS = ("long_text", "short_notice", "sealed", "form", "id_copy")

INK = 20                                  # black print
HAND_INKS = ((28, 38, 112), (22, 30, 70), (30, 30, 36))   # blue, blue-black and black ballpoint
SEAL_RED = (214, 36, 44)
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"   # the card's number face (OCR-B like)
PHOTOCOPY_SHARE = 0.25                    # of pages: a faint second-generation photocopy (ID copies are copies anyway)
SLIP_SHARE = 0.2                          # of pages other than ID copies
TWO_CARD_SHARE = 0.4                      # of ID-copy pages


@dataclass(frozen=True, eq=False)
class KindPage:
    """One scanned page: its kind, the RGB image (A4, 300 dpi), the text printed on it (lines joined by "\n") and
    the title of the document it belongs to (a judgment's middle page has none printed); `variations` names what
    the page carries beyond plain print: "seal", "stamp", "slip", "photocopy" (faint, second generation), "two
    cards"."""
    kind: str
    image: Image.Image
    text: str
    title: str
    variations: tuple[str, ...] = ()


def kind_pages(kinds: Sequence[str] = KINDS, per_kind: int = 5, seed: int = 0) -> list[KindPage]:
    """`per_kind` pages of each kind, in the order of `kinds`; the same arguments give the same pages."""
    unknown = [kind for kind in kinds if kind not in MAKERS]
    if unknown:
        raise ValueError(f"unknown page kinds {unknown}; known: {', '.join(KINDS)}")
    return [kind_page(kind, random.Random(f"{seed}:{kind}:{index}")) for kind in kinds for index in range(per_kind)]


def kind_page(kind: str, rng: random.Random) -> KindPage:
    """One page of `kind`: drawn, varied and scanned with `rng`."""
    sheet, title = MAKERS[kind](rng)
    variations = list(sheet.marks)
    if kind != "id_copy" and rng.random() < SLIP_SHARE and _paste_slip(sheet, rng):
        variations.append("slip")
    faint = rng.random() < PHOTOCOPY_SHARE
    if faint:
        variations.append("photocopy")
    image = _scan(sheet.composed(), rng, copied=faint or kind == "id_copy", faint=faint)
    return KindPage(kind, image, sheet.truth(), title, tuple(variations))


# ---- the sheet: layers and the lines drawn -----------------------------------------------------------------------

@dataclass
class _Printed:
    """One line of the ground truth and the band of the page it occupies."""
    text: str
    top: float
    bottom: float
    left: float = MARGIN
    right: float = MARGIN + TEXT_WIDTH


@dataclass
class _Sheet:
    """A page being drawn: black print, a colour layer multiplied over it, and the truth lines in reading order."""
    ink: Image.Image = field(default_factory=lambda: Image.new("L", A4, 255))
    colour: Image.Image = field(default_factory=lambda: Image.new("RGB", A4, (255, 255, 255)))
    lines: list[_Printed] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    clear: list[tuple[float, float]] = field(default_factory=list)   # bands a slip must not cover (a seal)
    y: float = float(MARGIN)

    def draw(self, text: str, x: float, baseline: float, face: str, px: int, tracking: float = 0.0,
             stroke: int = 0, fill: int = INK) -> float:
        """Print `text` with its baseline at `baseline`; returns the x where it ends."""
        return _draw(ImageDraw.Draw(self.ink), text, x, baseline, face, px, tracking, stroke, fill)

    def record(self, text: str, top: float, bottom: float, left: float = MARGIN,
               right: float = MARGIN + TEXT_WIDTH) -> None:
        self.lines.append(_Printed(text, top, bottom, left, right))

    def line(self, text: str, x: float, face: str, px: int, tracking: float = 0.0, stroke: int = 1,
             pitch: float = 1.6) -> None:
        """Print one line below the last and record it."""
        baseline = self.y + px
        end = self.draw(text, x, baseline, face, px, tracking, stroke)
        self.record(text, self.y, baseline + 0.25 * px, x, end)
        self.y += pitch * px

    def composed(self) -> Image.Image:
        return ImageChops.multiply(self.ink.convert("RGB"), self.colour)

    def truth(self) -> str:
        return "\n".join(line.text for line in self.lines if line.text)


def _draw(draw: ImageDraw.ImageDraw, text: str, x: float, baseline: float, face: str, px: int,
          tracking: float = 0.0, stroke: int = 0, fill=INK) -> float:
    face_font = font(face, px) if face in ("song", "hei") else _font(face, px)
    if not tracking:
        draw.text((x, baseline), text, font=face_font, fill=fill, anchor="ls", stroke_width=stroke,
                  stroke_fill=fill)
        return x + face_font.getlength(text)
    for char in text:
        draw.text((x, baseline), char, font=face_font, fill=fill, anchor="ls", stroke_width=stroke, stroke_fill=fill)
        x += face_font.getlength(char) + tracking * px
    return x - tracking * px


@lru_cache(maxsize=32)
def _font(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


def _width(text: str, face: str, px: int, tracking: float = 0.0) -> float:
    face_font = font(face, px) if face in ("song", "hei") else _font(face, px)
    return face_font.getlength(text) + tracking * px * max(0, len(text) - 1)


# ---- laying out a document page (the Line styles of synth.documents) ------------------------------------------

def _lay_out(sheet: _Sheet, lines: Sequence[Line], px: int, title_px: int = 94, spaced_title: bool = False) -> None:
    for line in lines:
        STYLE_DRAWERS[line.style](sheet, line, px, title_px, spaced_title)


def _title(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    text = spaced_title(line.text) if spaced else line.text
    tracking = 0.0 if spaced else 0.35 if len(text) <= 4 else 0.1
    width = _width(text, "song", title_px, tracking)
    sheet.y += 0.3 * title_px
    sheet.line(text, MARGIN + (TEXT_WIDTH - width) / 2, "song", title_px, tracking, stroke=2)
    sheet.y += 0.3 * title_px


def spaced_title(title: str) -> str:
    """A short title as court forms print it, letter-spaced with ideographic spaces: 传　　票, 报 告 财 产 令."""
    gap = "\u3000" * (2 if len(title) <= 2 else 1)
    return gap.join(title) if len(title) <= 5 else title


def _court(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    court_px = round(title_px * 0.8)
    width = _width(line.text, "song", court_px, 0.05)
    sheet.line(line.text, MARGIN + (TEXT_WIDTH - width) / 2, "song", court_px, 0.05, stroke=2)


def _caseno(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    _right(sheet, line, px, title_px, spaced)
    sheet.y += 0.4 * px


def _right(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    sheet.line(line.text, MARGIN + TEXT_WIDTH - 2 * px - _width(line.text, "song", px), "song", px)


def _center(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    sheet.line(line.text, MARGIN + (TEXT_WIDTH - _width(line.text, "song", px)) / 2, "song", px)


def _paragraph(sheet: _Sheet, text: str, px: int, indent: float) -> None:
    for i, part in enumerate(wrap(text, "song", px, TEXT_WIDTH, indent)):
        sheet.line(part, MARGIN + (indent if i == 0 else 0), "song", px)


def _body(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    _paragraph(sheet, line.text, px, 2 * px)


def _plain(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    _paragraph(sheet, line.text, px, 0)


def _gap(sheet: _Sheet, line: Line, px: int, title_px: int, spaced: bool) -> None:
    sheet.y += 0.8 * px


STYLE_DRAWERS: dict[str, Callable] = {"title": _title, "court": _court, "caseno": _caseno, "right": _right,
                                      "center": _center, "body": _body, "plain": _plain, "gap": _gap}


def _fitting(lines: Sequence[Line], sizes: Sequence[int], **kwargs) -> _Sheet:
    """The lines laid out at the largest body size in `sizes` that fits on the page."""
    for px in sizes:
        sheet = _Sheet()
        _lay_out(sheet, lines, px, **kwargs)
        if sheet.y <= A4[1] - MARGIN:
            return sheet
    raise ValueError(f"{len(lines)} lines do not fit on A4 at {min(sizes)} px")


# ---- case facts ---------------------------------------------------------------------------------------------------

def _facts(rng: random.Random, kind: str = "民初") -> CaseFacts:
    court = docs.make_court(rng)
    filed = dt.date(2024, 1, 5) + dt.timedelta(days=rng.randrange(300))
    cause = rng.choice(docs.CAUSES)
    return CaseFacts(
        case_no=docs.case_number(filed.year, court, kind, rng.randint(100, 9999)), court=court, cause=cause,
        plaintiff=make_party(rng, court.place, 0.3), defendant=make_party(rng, court.place, 0.4),
        lawyer=make_lawyer(rng, court.place), judge=make_name(rng), clerk=make_name(rng),
        amount=rng.randrange(20, 600) * 1000, deal_date=filed - dt.timedelta(days=rng.randrange(200, 700)),
        filed=filed, office_phone=make_phone(rng),
        basis_no=docs.case_number(filed.year - 1, court, "民初", rng.randint(100, 9999)))


# ---- long text ----------------------------------------------------------------------------------------------------

def _long_text(rng: random.Random) -> tuple[_Sheet, str]:
    """A dense page of running text: a judgment's first or middle page, a trial record or a complaint."""
    f = _facts(rng)
    hearing = dt.datetime.combine(f.filed + dt.timedelta(days=40), dt.time(rng.choice((9, 14)), 30))
    judgment = docs.judgment(f, hearing, 3)
    choices = [(judgment.pages[0], "民事判决书"), (judgment.pages[1], "民事判决书"),
               (docs.complaint(f).pages[0], "民事起诉状"), (docs.enf_application(f, f.filed).pages[0], "强制执行申请书")]
    page, title = rng.choice(choices)
    return _fitting(page.lines, (64, 62, 60, 58, 56, 54)), title


# ---- short notices ------------------------------------------------------------------------------------------------

def _short_notice(rng: random.Random) -> tuple[_Sheet, str]:
    """A short court notice with a large letter-spaced title; half of them sealed over the date."""
    title, lines = rng.choice(SHORT_NOTICES)(_facts(rng, rng.choice(("民初", "执"))), rng)
    sheet = _fitting(lines, (68, 66, 64, 62), title_px=rng.choice((110, 120, 130)), spaced_title=True)
    if rng.random() < 0.5:
        _seal_over_date(sheet, lines, rng)
    return sheet, title


def _summons(f: CaseFacts, rng: random.Random) -> tuple[str, list[Line]]:
    hearing = f.filed + dt.timedelta(days=rng.randrange(20, 50))
    return "传票", [
        Line(f.court.name, "court"), Line("传票", "title"), Line(f.case_no, "caseno"),
        Line(f"被传唤人：{f.defendant.name}", "plain"), Line(f"案由：{f.cause.name}", "plain"),
        Line("传唤事由：开庭", "plain"),
        Line(f"应到时间：{docs.ymd(hearing)}{rng.choice((9, 14))}时{rng.choice(('00', '30'))}分", "plain"),
        Line(f"应到处所：本院第{docs._cn_number(rng.randint(1, 9))}法庭", "plain"), Line("", "gap"),
        Line("被传唤人必须准时到达应到处所，无正当理由拒不到庭的，可以按撤诉处理或者缺席判决。", "body"),
        Line("", "gap"), Line(f.court.name, "right"), Line(docs.cn_date(f.filed + dt.timedelta(days=3)), "right")]


def _property_order(f: CaseFacts, rng: random.Random) -> tuple[str, list[Line]]:
    day = f.filed + dt.timedelta(days=rng.randrange(5, 30))
    return "报告财产令", [
        Line(f.court.name, "court"), Line("报告财产令", "title"), Line(f.case_no, "caseno"),
        Line(f"{f.defendant.name}：", "plain"),
        Line(f"本院在执行申请执行人{f.plaintiff.name}与被执行人{f.defendant.name}{f.cause.name}一案中，"
             "因你未按执行通知履行法律文书确定的义务，依照《中华人民共和国民事诉讼法》第二百五十二条规定，"
             "责令你在收到本令后五日内，向本院如实报告当前以及收到执行通知之日前一年的财产情况。"),
        Line("拒绝报告或者虚假报告的，本院将根据情节轻重对你予以罚款、拘留；构成犯罪的，依法追究刑事责任。"),
        Line("特此令。"), Line("", "gap"), Line(f.court.name, "right"), Line(docs.cn_date(day), "right")]


def _accept_short(f: CaseFacts, rng: random.Random) -> tuple[str, list[Line]]:
    day = f.filed + dt.timedelta(days=2)
    return "受理案件通知书", [
        Line(f.court.name, "court"), Line("受理案件通知书", "title"), Line(f.case_no, "caseno"),
        Line(f"{f.plaintiff.name}：", "plain"),
        Line(f"你诉{f.defendant.name}{f.cause.name}一案的起诉状已收到。经审查，起诉符合法定受理条件，本院决定立案审理。"),
        Line(f"请在接到本通知书后七日内预交案件受理费{docs.court_fee(f.amount)}元。"),
        Line("", "gap"), Line(f.court.name, "right"), Line(docs.cn_date(day), "right"),
        Line(f"联系人：{f.clerk}　联系电话：{f.office_phone}", "plain")]


SHORT_NOTICES = (_summons, _property_order, _accept_short)


# ---- sealed decisions ---------------------------------------------------------------------------------------------

def _sealed(rng: random.Random) -> tuple[_Sheet, str]:
    """A decision or notice whose signature block and date carry the court's red seal, and a received stamp."""
    f = _facts(rng, rng.choice(("民初", "执")))
    title, lines = rng.choice(SEALED_DOCUMENTS)(f, rng)
    sheet = _fitting(lines, (62, 60, 58, 56))
    _seal_over_date(sheet, lines, rng)
    _received_stamp(sheet, f, rng)
    return sheet, title


def _withdrawal_ruling(f: CaseFacts, rng: random.Random) -> tuple[str, list[Line]]:
    p, d = f.plaintiff.name, f.defendant.name
    fee = docs.court_fee(f.amount)
    applied = f.filed + dt.timedelta(days=rng.randrange(10, 40))
    return "民事裁定书", [
        Line(f.court.name, "court"), Line("民事裁定书", "title"), Line(f.case_no, "caseno"),
        Line(f"原告：{p}，住{f.plaintiff.address}。"), Line(f"被告：{d}，住{f.defendant.address}。"),
        Line(f"原告{p}与被告{d}{f.cause.name}一案，本院于{docs.ymd(f.filed)}立案。原告{p}于{docs.ymd(applied)}"
             "向本院提出撤诉申请。"),
        Line(f"本院认为，原告{p}在本案审理期间提出撤诉申请，是其真实意思表示，且不违反法律规定，依法应予准许。"
             "依照《中华人民共和国民事诉讼法》第一百四十八条第一款、第一百五十七条第一款第五项规定，裁定如下："),
        Line(f"准许原告{p}撤诉。"), Line(f"案件受理费{fee}元，减半收取{fee // 2}元，由原告{p}负担。"),
        Line("", "gap"), Line(f"审判员　{f.judge}", "right"), Line(docs.cn_date(applied + dt.timedelta(days=3)), "right"),
        Line("本件与原本核对无异", "plain"), Line(f"书记员　{f.clerk}", "right")]


def _document_lines(make: Callable[[CaseFacts], docs.Document]) -> Callable:
    def lines(f: CaseFacts, rng: random.Random) -> tuple[str, list[Line]]:
        document = make(f)
        return document.title, list(document.pages[-1].lines)
    return lines


SEALED_DOCUMENTS = (_withdrawal_ruling, _document_lines(docs.response_notice), _document_lines(docs.enf_notice),
                    _document_lines(docs.accept_notice),
                    _document_lines(lambda f: docs.enf_ruling(f, make_name(random.Random(f.case_no)), f.clerk)))


def _date_line(sheet: _Sheet, lines: Sequence[Line]) -> _Printed | None:
    """The recorded line of the last signing date (Chinese numerals, 〇 in the year)."""
    dates = [line.text for line in lines if line.style == "right" and "〇" in line.text]
    return next((p for p in reversed(sheet.lines) if dates and p.text == dates[-1]), None)


def _seal_over_date(sheet: _Sheet, lines: Sequence[Line], rng: random.Random) -> None:
    """The court's round seal centred a little above the signing date, over the line above it too."""
    date = _date_line(sheet, lines)
    if date is None:
        return
    px = (date.bottom - date.top) / 1.25
    text = next((line.text for line in lines if line.style == "court"), "人民法院")
    centre = ((date.left + date.right) / 2 + rng.uniform(-60, 60),
              (date.top + date.bottom) / 2 - rng.uniform(0.2, 0.9) * px)
    seal = seal_image(text, rng)
    _stamp(sheet, seal, centre, rng)
    sheet.clear.append((centre[1] - seal.height / 2, centre[1] + seal.height / 2))
    sheet.marks.append("seal")


def seal_image(ring_text: str, rng: random.Random, radius: int = 248) -> Image.Image:
    """Coverage (L, 255 = full ink) of a round official seal 42 mm across: ring, star, the name around the ring."""
    size = 2 * radius + 20
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    c = size / 2
    width = rng.randint(12, 16)
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=width)
    star = [(c + 0.32 * radius * math.cos(a), c - 0.32 * radius * math.sin(a))
            for a in (math.pi / 2 + k * 4 * math.pi / 5 for k in range(5))]
    draw.polygon(star, fill=255)
    _ring_text(mask, ring_text, c, radius - width - 48, rng)
    if rng.random() < 0.5:
        label = rng.choice(("业务专用章", "执行专用章", "立案专用章"))
        _draw(draw, label, c - _width(label, "hei", 40) / 2, c + 0.62 * radius, "hei", 40)
    return _uneven(mask, rng)


def _ring_text(mask: Image.Image, text: str, c: float, radius: float, rng: random.Random) -> None:
    """`text` around the top of the ring, each character upright to the centre, over about 240 degrees."""
    span = math.radians(min(250, 22 * len(text) + 30))
    px = round(min(64, 0.9 * span * radius / max(1, len(text))))
    for i, char in enumerate(text):
        angle = math.pi / 2 + span / 2 - span * (i + 0.5) / len(text)
        glyph = Image.new("L", (px + 8, px + 8), 0)
        _draw(ImageDraw.Draw(glyph), char, 4, px, "hei", px, fill=255)
        glyph = glyph.rotate(math.degrees(angle - math.pi / 2), resample=Image.Resampling.BICUBIC, expand=True)
        x, y = c + radius * math.cos(angle), c - radius * math.sin(angle)
        mask.paste(255, (round(x - glyph.width / 2), round(y - glyph.height / 2)), glyph)


def _uneven(mask: Image.Image, rng: random.Random) -> Image.Image:
    """Stamped ink: stronger and weaker patches, a few gaps, soft edges."""
    field_ = np.random.default_rng(rng.getrandbits(32)).uniform(0.55, 1.0, (8, 8)).astype(np.float32)
    strength = np.asarray(Image.fromarray((field_ * 255).astype(np.uint8)).resize(mask.size, Image.Resampling.BICUBIC))
    grain = np.random.default_rng(rng.getrandbits(32)).random(mask.size[::-1]) > 0.04
    ink = np.asarray(mask, dtype=np.float32) * strength / 255 * grain
    return Image.fromarray(ink.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))


def _stamp(sheet: _Sheet, coverage: Image.Image, centre: tuple[float, float], rng: random.Random,
           colour: tuple[int, int, int] = SEAL_RED) -> None:
    """Lay a stamp's coverage in `colour` over the colour layer at `centre`, turned a little."""
    coverage = coverage.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC, expand=True)
    tint = tuple(min(255, max(0, v + rng.randint(-12, 12))) for v in colour)
    ink = Image.new("RGB", coverage.size, tint)
    paper = Image.new("RGB", coverage.size, (255, 255, 255))
    layer = Image.composite(ink, paper, coverage)
    left, top = round(centre[0] - coverage.width / 2), round(centre[1] - coverage.height / 2)
    box = (left, top, left + coverage.width, top + coverage.height)
    sheet.colour.paste(ImageChops.multiply(sheet.colour.crop(box), layer), box)


def _received_stamp(sheet: _Sheet, f: CaseFacts, rng: random.Random) -> None:
    """The recipient's rectangular 收文 stamp with a date, over the upper part of the page."""
    day = f.filed + dt.timedelta(days=rng.randrange(3, 30))
    office = f.lawyer.firm if rng.random() < 0.6 else f.court.name + "立案庭"
    rows = (office, f"收文　{day.year}年{day.month}月{day.day}日", f"登记号　{rng.randint(1, 999):03d}")
    mask = Image.new("L", (720, 260), 0)
    draw = ImageDraw.Draw(mask)
    draw.rounded_rectangle((6, 6, 714, 254), radius=24, outline=255, width=8)
    for k, row in enumerate(rows):
        px = 44 if k == 0 else 40
        px = min(px, int(660 / max(1, len(row))))
        _draw(draw, row, 360 - _width(row, "hei", px) / 2, 80 + 72 * k, "hei", px, fill=255)
    centre = (rng.uniform(MARGIN + 500, MARGIN + TEXT_WIDTH - 360), rng.uniform(MARGIN + 150, A4[1] * 0.45))
    _stamp(sheet, _uneven(mask, rng), centre, rng)
    sheet.marks.append("stamp")


# ---- forms --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cell:
    text: str
    hand: bool = False


def _form(rng: random.Random) -> tuple[_Sheet, str]:
    """A bordered form: a proof of service (送达回证) or an evidence list (证据目录), partly filled by hand."""
    f = _facts(rng, rng.choice(("民初", "执")))
    title, head, rows, fractions, tail = rng.choice(FORMS)(f, rng)
    sheet = _Sheet()
    px = rng.choice((56, 58, 60))
    _lay_out(sheet, head, px, title_px=rng.choice((94, 104)), spaced_title=rng.random() < 0.5)
    sheet.y += 0.3 * px
    ink = rng.choice(HAND_INKS)
    for row in rows:
        _table_row(sheet, row, fractions, px, rng, ink)
    sheet.y += 0.6 * px
    _lay_out(sheet, tail, px)
    if title == "送达回证" and rng.random() < 0.5:
        _seal_over_date(sheet, tail, rng)
    return sheet, title


def _service_proof(f: CaseFacts, rng: random.Random):
    served = f.filed + dt.timedelta(days=rng.randrange(5, 60))
    papers = rng.choice(("民事判决书一份", "起诉状副本、应诉通知书、举证通知书、传票各一份", "执行通知书、报告财产令各一份"))
    to = f.defendant
    rows = [(_Cell("案号"), _Cell(f.case_no)), (_Cell("案由"), _Cell(f.cause.name)),
            (_Cell("受送达人"), _Cell(to.name)), (_Cell("送达地址"), _Cell(to.address)),
            (_Cell("送达文书名称及件数"), _Cell(papers)),
            (_Cell("受送达人签名或者盖章"), _Cell(f"{to.name}　{served.year}.{served.month}.{served.day}", True)),
            (_Cell("代收人及代收理由"), _Cell(rng.choice(("", f"{make_name(rng)}　同住成年家属")), True)),
            (_Cell("送达人"), _Cell(f"{f.clerk}、{make_name(rng)}", True)),
            (_Cell("备考"), _Cell(rng.choice(("直接送达", "留置送达", "")), True))]
    head = [Line(f.court.name, "court"), Line("送达回证", "title")]
    tail = [Line(f"填发人：{f.clerk}", "plain"), Line(docs.cn_date(served - dt.timedelta(days=2)), "right")]
    return "送达回证", head, rows, (0.3, 0.7), tail


def _evidence_list(f: CaseFacts, rng: random.Random):
    p = f.plaintiff.name
    money = "借条" if f.cause.story == "loan" else "《建材买卖合同》"
    items = [("原告身份证明", "原件", f"证明原告{p}的诉讼主体资格"), ("被告身份信息", "复印件", "证明被告的诉讼主体资格"),
             (money, "原件", f"证明双方存在{f.cause.name[:-2]}关系"),
             ("银行转账凭证" if f.cause.story == "loan" else "送货单及对账单", "原件", f"证明欠款{f.amount}元"),
             ("催款短信记录", "打印件", "证明原告多次催讨未果")]
    items = items[:rng.randint(3, 5)]
    hand = rng.random() < 0.5
    rows = [tuple(_Cell(t) for t in ("序号", "证据名称", "来源", "证明目的", "页码"))]
    page = 1
    for i, (name, source, goal) in enumerate(items, 1):
        pages = rng.randint(1, 4)
        span = f"{page}" if pages == 1 else f"{page}-{page + pages - 1}"
        rows.append((_Cell(str(i)), _Cell(name, hand), _Cell(source, hand), _Cell(goal, hand), _Cell(span, hand)))
        page += pages
    head = [Line("证据目录", "title"), Line(f"案号：{f.case_no}", "plain"),
            Line(f"提交人：原告{p}", "plain")]
    tail = [Line(f"提交人（签名）：{p}", "right"), Line(docs.ymd(f.filed), "right")]
    return "证据目录", head, rows, (0.08, 0.27, 0.12, 0.43, 0.10), tail


FORMS = (_service_proof, _evidence_list)


def _table_row(sheet: _Sheet, cells, fractions, px: int, rng: random.Random, hand_ink) -> None:
    """One ruled table row: each cell's text wrapped in its column, top-aligned; a truth line per printed row."""
    pad = 0.45 * px
    xs = [MARGIN + sum(fractions[:i]) * TEXT_WIDTH for i in range(len(fractions) + 1)]
    wrapped = [wrap(c.text, "hei" if c.hand else "song", px, xs[i + 1] - xs[i] - 2 * pad) if c.text else []
               for i, c in enumerate(cells)]
    count = max(1, max(len(w) for w in wrapped))
    pitch = 1.5 * px
    top = sheet.y
    height = count * pitch + 2 * pad - 0.5 * px
    for k in range(count):
        baseline = top + pad + px + k * pitch
        parts = []
        for i, (cell, parts_i) in enumerate(zip(cells, wrapped)):
            if k < len(parts_i) and parts_i[k]:
                parts.append(parts_i[k])
                if cell.hand:
                    _handwrite(sheet, parts_i[k], xs[i] + pad, baseline, px, rng, hand_ink)
                else:
                    sheet.draw(parts_i[k], xs[i] + pad, baseline, "song", px, stroke=1)
        sheet.record(" ".join(parts), baseline - px, baseline + 0.25 * px)
    draw = ImageDraw.Draw(sheet.ink)
    for i in range(len(cells)):
        draw.rectangle((xs[i], top, xs[i + 1], top + height), outline=INK, width=3)
    sheet.y = top + height


def _handwrite(sheet: _Sheet, text: str, x: float, baseline: float, px: int, rng: random.Random, ink) -> None:
    """Text written by hand: another face, each character a little bigger or smaller and off the line, the whole
    fill turned a degree or two."""
    size = round(px * rng.uniform(0.95, 1.15))
    tile = Image.new("L", (round(_width(text, "hei", size) * 1.3) + 40, 2 * size), 0)
    draw = ImageDraw.Draw(tile)
    pen = 10.0
    for char in text:
        char_px = max(12, round(size * rng.uniform(0.9, 1.08)))
        pen = _draw(draw, char, pen, 1.4 * size + rng.uniform(-4, 4), "hei", char_px, fill=255) + rng.uniform(-2, 6)
    tile = tile.rotate(rng.uniform(-2.5, 2.5), resample=Image.Resampling.BICUBIC, center=(10, 1.4 * size))
    left, top = round(x - 10 + rng.uniform(-6, 10)), round(baseline - 1.4 * size)
    layer = Image.composite(Image.new("RGB", tile.size, ink), Image.new("RGB", tile.size, (255, 255, 255)), tile)
    box = (left, top, left + tile.width, top + tile.height)
    sheet.colour.paste(ImageChops.multiply(sheet.colour.crop(box), layer), box)


# ---- ID-card photocopies ------------------------------------------------------------------------------------------

CARD = (1011, 638)                        # 85.6 × 54 mm at 300 dpi: copied at actual size
CARD_GAP = 70


def _id_copy(rng: random.Random) -> tuple[_Sheet, str]:
    """Front and back of one resident identity card, or of two, photocopied at actual size on one A4 sheet."""
    two = rng.random() < TWO_CARD_SHARE
    sheet = _Sheet()
    left = rng.randint(MARGIN, A4[0] - MARGIN - CARD[0])
    top = rng.randint(260, 420) if two else rng.randint(300, 900)
    background = rng.randint(196, 218)
    text_grey = rng.randint(40, 80)
    for _ in range(2 if two else 1):
        person = _card_holder(rng)
        for front in (True, False):
            _card_face(sheet, person, front, (left, top), background, text_grey, rng)
            top += CARD[1] + CARD_GAP
    if not two:
        sheet.y = top + 60
        note = "本复印件与原件核对一致"
        _handwrite(sheet, note, left + 80, sheet.y + 60, 58, rng, rng.choice(HAND_INKS))
        sheet.record(note, sheet.y, sheet.y + 80)
    if two:
        sheet.marks.append("two cards")
    return sheet, "居民身份证"


def _card_holder(rng: random.Random) -> Person:
    """A person whose ID number is synthetic: a 99xxxx region that does not exist, a valid check character."""
    person = make_person(rng)
    order = rng.randrange(0, 500) * 2 + (1 if person.sex == "男" else 0)
    first17 = f"{fake_region(rng)}{person.birth:%Y%m%d}{order:03d}"
    return replace(person, id_number=first17 + resident_id_check(first17))


def _card_face(sheet: _Sheet, person: Person, front: bool, at: tuple[int, int], background: int, text_grey: int,
               rng: random.Random) -> None:
    x0, y0 = at
    draw = ImageDraw.Draw(sheet.ink)
    draw.rounded_rectangle((x0, y0, x0 + CARD[0], y0 + CARD[1]), radius=36, fill=background,
                           outline=max(0, background - 70), width=3)
    _guilloche(draw, x0, y0, background, rng)
    rows = _card_front(person, rng) if front else _card_back(person, rng)
    if front:
        draw.rectangle((x0 + 640, y0 + 70, x0 + 945, y0 + 440), fill=background - 25)
        draw.ellipse((x0 + 720, y0 + 110, x0 + 865, y0 + 290), fill=background - 80)
        draw.ellipse((x0 + 670, y0 + 300, x0 + 915, y0 + 440), fill=background - 80)
    else:
        draw.ellipse((x0 + 60, y0 + 50, x0 + 250, y0 + 240), outline=text_grey + 40, width=10)
    for text, dx, dy, face, px, tracking, _ in rows:
        sheet.draw(text, x0 + dx, y0 + dy, face, px, tracking, fill=text_grey)
    for text, dy, px in _card_truth(rows):
        sheet.record(text, y0 + dy - px, y0 + dy + 0.25 * px)


def _guilloche(draw: ImageDraw.ImageDraw, x0: int, y0: int, background: int, rng: random.Random) -> None:
    """The card's fine background pattern as a copier renders it: faint wavy lines."""
    phase, period = rng.uniform(0, 6.28), rng.uniform(90, 140)
    for k in range(0, CARD[1] - 40, 22):
        points = [(x0 + 20 + t, y0 + 20 + k + 6 * math.sin(t / period * 6.28 + phase + k / 40))
                  for t in range(0, CARD[0] - 40, 12)]
        draw.line(points, fill=background - 10, width=1)


def _card_front(person: Person, rng: random.Random) -> list[tuple]:
    """(text, dx, dy, face, px, tracking, truth row) of a card front; the truth row groups what shares a line."""
    birth = person.birth
    address = wrap(person.address, "hei", 38, 470)
    rows = [("姓名", 60, 115, "hei", 28, 0.0, 0), (person.name, 175, 115, "hei", 40, 0.1, 0),
            ("性别", 60, 200, "hei", 28, 0.0, 1), (person.sex, 175, 200, "hei", 38, 0.0, 1),
            ("民族", 300, 200, "hei", 28, 0.0, 1), (person.ethnicity, 410, 200, "hei", 38, 0.0, 1),
            ("出生", 60, 285, "hei", 28, 0.0, 2), (f"{birth.year}", 175, 285, "hei", 38, 0.0, 2),
            ("年", 275, 285, "hei", 30, 0.0, 2), (f"{birth.month}", 330, 285, "hei", 38, 0.0, 2),
            ("月", 385, 285, "hei", 30, 0.0, 2), (f"{birth.day}", 440, 285, "hei", 38, 0.0, 2),
            ("日", 495, 285, "hei", 30, 0.0, 2), ("住址", 60, 370, "hei", 28, 0.0, 3)]
    rows += [(part, 175, 370 + 52 * i, "hei", 38, 0.0, 3 + i) for i, part in enumerate(address)]
    rows += [("公民身份号码", 60, 565, "hei", 28, 0.0, 9), (person.id_number, 330, 567, MONO, 44, 0.08, 9)]
    return rows


def _card_back(person: Person, rng: random.Random) -> list[tuple]:
    place = person.address
    city = place[place.index("省") + 1: place.index("市")] if "省" in place else place[:2]
    district = place[place.index("市") + 1: place.index("区")] if "区" in place else "新城"
    issued = dt.date(rng.randint(2012, 2023), rng.randint(1, 12), rng.randint(1, 28))
    valid = f"{issued:%Y.%m.%d}-{docs.add_years(issued, rng.choice((10, 20))):%Y.%m.%d}"
    return [("中华人民共和国", 330, 135, "hei", 48, 0.25, 0), ("居民身份证", 300, 280, "hei", 84, 0.3, 1),
            ("签发机关", 170, 480, "hei", 28, 0.0, 2), (f"{city}市公安局{district}分局", 330, 480, "hei", 36, 0.0, 2),
            ("有效期限", 170, 560, "hei", 28, 0.0, 3), (valid, 330, 560, "hei", 36, 0.0, 3)]


def _card_truth(rows: list[tuple]) -> list[tuple[str, float, int]]:
    """The truth lines of a card face: the parts of each row, left to right, joined by a space."""
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[6], []).append(row)
    out = []
    for key in sorted(grouped):
        parts = sorted(grouped[key], key=lambda r: r[1])
        out.append((" ".join(p[0] for p in parts), max(p[2] for p in parts), max(p[4] for p in parts)))
    return out


# ---- a pasted slip ------------------------------------------------------------------------------------------------

SLIP_TEXTS = (
    lambda rng: ["更正：", f"上文第{docs._cn_number(rng.randint(2, 6))}行“{make_name(rng)}”应为“{make_name(rng)}”。"],
    lambda rng: [f"邮件号：{rng.randint(10**12, 10**13 - 1)}", f"收件人：{make_name(rng)}　电话：{make_phone(rng)}"],
    lambda rng: ["补充：", "原告于开庭前已补交证据原件，经核对无误。"],
)


def _paste_slip(sheet: _Sheet, rng: random.Random) -> bool:
    """Paste a smaller slip of paper with its own lines over the lower body of the page, across the text width;
    the lines it covers leave the truth, its own take their place. False when no place was found."""
    texts = rng.choice(SLIP_TEXTS)(rng)
    px = 54
    height = round(len(texts) * 1.6 * px + 1.2 * px)
    band = _slip_band(sheet, height, rng)
    if band is None:
        return False
    top, bottom = band
    left, right = MARGIN - rng.randint(20, 60), MARGIN + TEXT_WIDTH - rng.randint(100, 400)
    covered = [p for p in sheet.lines if p.bottom > top and p.top < bottom]
    if any(_ink_right_of(sheet, p, right) for p in covered):
        right = MARGIN + TEXT_WIDTH + rng.randint(20, 60)
    _slip_paper(sheet, (left, top, right, bottom), rng)
    own = []
    for k, text in enumerate(texts):
        baseline = top + 0.6 * px + px + k * 1.6 * px
        sheet.draw(text, left + 60, baseline, "song", px, stroke=1)
        own.append(_Printed(text, baseline - px, baseline + 0.25 * px))
    index = sheet.lines.index(covered[0]) if covered else len(sheet.lines)
    sheet.lines[:] = [p for p in sheet.lines[:index] if p not in covered] + own + \
        [p for p in sheet.lines[index:] if p not in covered]
    return True


def _slip_band(sheet: _Sheet, height: int, rng: random.Random) -> tuple[float, float] | None:
    """Top and bottom edge of a slip at least `height` high, each in a gap between lines, in the lower half of
    the page, clear of the seal."""
    gaps = [(a.bottom + b.top) / 2 for a, b in zip(sheet.lines, sheet.lines[1:])
            if b.top > A4[1] * 0.45 and b.top - a.bottom > 8]
    room = [g for g in gaps if g + height < A4[1] - MARGIN / 2]
    if not room:
        return None
    room = [g for g in room if not any(g < b and g + height > a for a, b in sheet.clear)]
    if not room:
        return None
    top = rng.choice(room)
    bottom = top + height
    cut = [p.bottom for p in sheet.lines if p.top < bottom < p.bottom]   # never through a line: below it
    return top, (max(cut) + 10 if cut else bottom)


def _ink_right_of(sheet: _Sheet, printed: _Printed, x: float) -> bool:
    band = np.asarray(sheet.ink.crop((round(x), round(printed.top), A4[0], round(printed.bottom))))
    return bool((band < 128).any())


def _slip_paper(sheet: _Sheet, box: tuple[float, float, float, float], rng: random.Random) -> None:
    """Blank slip paper over the box: whiter than the page, with a soft shadow along its lower and right edges;
    the print and the colour ink under it disappear."""
    left, top, right, bottom = (round(v) for v in box)
    draw = ImageDraw.Draw(sheet.ink)
    draw.rectangle((left + 6, top + 6, right + 6, bottom + 6), fill=170)
    sheet.ink.paste(sheet.ink.crop((left, top, right + 12, bottom + 12)).filter(ImageFilter.GaussianBlur(3)),
                    (left, top))
    draw.rectangle((left, top, right, bottom), fill=255, outline=200, width=2)
    ImageDraw.Draw(sheet.colour).rectangle((left, top, right, bottom), fill=(255, 255, 255))


# ---- scanning -----------------------------------------------------------------------------------------------------

def _scan(page: Image.Image, rng: random.Random, copied: bool, faint: bool) -> Image.Image:
    """The page as a colour scanner delivers it: a photocopy first when `copied` (grey, toner specks; `faint`: of
    a copy, low contrast), then slight skew, blur, noise and uneven paper (synth.degrade, the same on each
    channel) and colour JPEG."""
    if copied:
        page = _photocopy(page, rng, faint)
    params = scan_params(rng, border=False)
    params = replace(params, skew_deg=round(rng.uniform(0.2, 1.2) * rng.choice((-1, 1)), 2),
                     blur_sigma=round(rng.uniform(0.4, 1.1), 2))
    rgb = np.asarray(page)
    channels = [degrade(np.ascontiguousarray(rgb[:, :, c]), params) for c in range(3)]
    scanned = Image.fromarray(np.dstack(channels))
    buffer = io.BytesIO()
    scanned.save(buffer, "JPEG", quality=params.jpeg_quality, dpi=(DPI, DPI))
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    image.info["dpi"] = (DPI, DPI)
    return image


def _photocopy(page: Image.Image, rng: random.Random, faint: bool) -> Image.Image:
    """A photocopy: grey, toner specks scattered over it; `faint`, a copy of a copy: the ink faded towards the
    paper."""
    grey = np.asarray(page.convert("L"), dtype=np.float32)
    contrast = rng.uniform(0.55, 0.8) if faint else rng.uniform(0.9, 1.0)
    paper = rng.uniform(228, 242) if faint else rng.uniform(236, 248)
    grey = paper - (255 - grey) * contrast * paper / 255
    generator = np.random.default_rng(rng.getrandbits(32))
    specks = generator.random(grey.shape) < rng.uniform(0.00005, 0.0003)
    dots = Image.fromarray((specks * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(rng.choice((3, 5))))
    grey = np.where(np.asarray(dots) > 0, np.minimum(grey, rng.uniform(60, 130)), grey)
    copied = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    return copied.convert("RGB")


MAKERS: dict[str, Callable[[random.Random], tuple[_Sheet, str]]] = {
    "long_text": _long_text, "short_notice": _short_notice, "sealed": _sealed, "form": _form, "id_copy": _id_copy}
