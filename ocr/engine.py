"""Recognise one prepared page: tesseract's words grouped into lines, the page text, and a searchable PDF page."""
from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ocr import pageimage, pdfpage, tesseract
from ocr.pageimage import ImageOptions
from ocr.types import Line, PageLayout, Word


@dataclass(frozen=True)
class OcrOptions:
    engine: str = "tesseract"    # a name in READERS
    languages: str = "chi_sim"
    psm: int = 4
    timeout: float = 180.0
    recognition_dpi: int = 150   # pages are read at this resolution at most; the kept image keeps its own
    image: ImageOptions = ImageOptions()   # how the page image is kept in the searchable PDF


@dataclass(frozen=True)
class OcrPage:
    layout: PageLayout
    mean_conf: float
    pdf: bytes | None
    engine: dict

    @property
    def text(self) -> str:
        return self.layout.text


def recognise(gray: np.ndarray, dpi: int, options: OcrOptions, pdf: bool = True,
              keep: np.ndarray | None = None, two_level: bool = False) -> OcrPage:
    """OCR a greyscale page. Tesseract reads a copy scaled down to `recognition_dpi` (its models read 10–16 pt
    print best there, and faster); word boxes come back in the page's own pixels, and the searchable PDF page is
    the page image under an invisible text layer of the lines read — `keep` (the colour page, same geometry) when
    given, else the greyscale page, kept two-level when it is black on white (`two_level`: it was scanned so),
    see ocr.pageimage."""
    scale = min(1.0, options.recognition_dpi / dpi)
    read_dpi = round(dpi * scale)
    tsv, engine = READERS[options.engine](_scaled(gray, scale), read_dpi, options)
    layout = _rescaled(parse_tsv(tsv, gray.shape[1], gray.shape[0]), 1 / scale)
    page_pdf = None
    if pdf:
        kept = pageimage.kept_image(gray, dpi, options.image, colour=keep, two_level=two_level)
        page_pdf = pdfpage.searchable_page(kept, dpi, layout, tesseract.glyphless_font())
        engine["image"] = kept.record
    return OcrPage(layout, mean_confidence(layout), page_pdf, engine)


def _tesseract(picture: Image.Image, dpi: int, options: OcrOptions) -> tuple[str, dict]:
    tsv = tesseract.read(picture, lang=options.languages, psm=options.psm, dpi=dpi, timeout=options.timeout)
    return tsv, {"engine": "tesseract", "version": tesseract.version(), "languages": options.languages,
                 "psm": options.psm, "dpi": dpi}


def _nothing(picture: Image.Image, dpi: int, options: OcrOptions) -> tuple[str, dict]:
    """The no-op engine (`ocr.engine: none`): reads no text. It measures the pipeline around OCR; never for paper."""
    return "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext", \
        {"engine": "none", "dpi": dpi}


# The engines that read a page's words, by the name `ocr.engine` gives; each answers tesseract's TSV and a record
# of itself kept with the page.
READERS = {"tesseract": _tesseract, "none": _nothing}


def _scaled(gray: np.ndarray, scale: float) -> Image.Image:
    picture = Image.fromarray(gray)
    if scale >= 1.0:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _rescaled(layout: PageLayout, factor: float) -> PageLayout:
    """Word and line boxes multiplied by `factor` (back to the page's own pixels)."""
    if factor == 1.0:
        return layout

    def box(item):
        return replace(item, left=round(item.left * factor), top=round(item.top * factor),
                       width=round(item.width * factor), height=round(item.height * factor))
    lines = tuple(replace(box(line), words=tuple(box(w) for w in line.words)) for line in layout.lines)
    return replace(layout, lines=lines)


def with_line_text(page: OcrPage, line: Line, text: str) -> OcrPage:
    """The page with one line's text replaced by a better reading of it (word boxes kept)."""
    lines = tuple(replace(l, text=text) if l is line else l for l in page.layout.lines)
    return replace(page, layout=replace(page.layout, lines=lines))


def read_line(gray: np.ndarray, dpi: int, options: OcrOptions, scale: float = 1.0) -> str:
    """Text of an image holding one line (tesseract --psm 7), optionally read at a smaller scale."""
    picture = Image.fromarray(gray)
    if scale < 1.0:
        picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
                                 Image.Resampling.LANCZOS)
        dpi = max(72, round(dpi * scale))
    tsv = tesseract.read(picture, lang=options.languages, psm=7, dpi=dpi, timeout=options.timeout)
    return parse_tsv(tsv, gray.shape[1], gray.shape[0]).text.replace("\n", "")


def parse_tsv(tsv: str, width: int, height: int) -> PageLayout:
    """Tesseract TSV (level 5 rows are words) → lines in reading order."""
    groups: dict[tuple[int, ...], list[Word]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        key = tuple(int(c) for c in cells[1:5])
        left, top, w, h = (int(c) for c in cells[6:10])
        groups.setdefault(key, []).append(Word(cells[11].strip(), float(cells[10]), left, top, w, h))
    return PageLayout(width, height, tuple(_line(words) for words in _rows(list(groups.values()))))


def _rows(lines: list[list[Word]]) -> list[list[Word]]:
    """Reading order for single-column court paper: words regrouped into printed rows, top to bottom, each row
    left to right. Tesseract sometimes puts a label column beside its text into another block, or reads a column
    of labels as one tall "line"; rows built from word boxes put every word back beside its neighbours."""
    rows: list[list[Word]] = []
    for word in sorted((w for ws in lines for w in ws), key=lambda w: w.top + w.height / 2):
        if rows and _in_row(word, rows[-1]):
            rows[-1].append(word)
        else:
            rows.append([word])
    return [sorted(words, key=lambda w: w.left) for words in rows]


def _in_row(word: Word, row: list[Word]) -> bool:
    """The word's vertical centre lies within the row's typical band (medians, so specks and tall misreads
    do not stretch it)."""
    top = statistics.median(w.top for w in row)
    bottom = statistics.median(w.top + w.height for w in row)
    return top <= word.top + word.height / 2 <= bottom


def _line(words: list[Word]) -> Line:
    left = min(w.left for w in words)
    top = min(w.top for w in words)
    right = max(w.left + w.width for w in words)
    bottom = max(w.top + w.height for w in words)
    text = join_words([w.text for w in words])
    return Line(text, left, top, right - left, bottom - top, _weighted_conf(words), tuple(words))


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def join_words(words: list[str]) -> str:
    """Join words with spaces, except next to an East Asian character (tesseract splits CJK runs into words)."""
    out = ""
    for word in words:
        if out and not (_is_cjk(out[-1]) or _is_cjk(word[0])):
            out += " "
        out += word
    return out


def _weighted_conf(words) -> float:
    pairs = [(max(w.conf, 0.0), len(w.text)) for w in words]
    total = sum(n for _, n in pairs)
    return sum(c * n for c, n in pairs) / total if total else 0.0


def mean_confidence(layout: PageLayout) -> float:
    """Character-weighted mean word confidence (0..100); 0 for a page with no text."""
    return _weighted_conf([w for line in layout.lines for w in line.words])
