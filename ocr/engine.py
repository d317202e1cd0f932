"""Recognise one prepared page: an engine's words grouped into lines, the page text, and a searchable PDF page."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ocr import pageimage, pdfpage, rapid, tesseract
from ocr.pageimage import ImageOptions
from ocr.types import TSV_HEADER, Line, PageLayout, Word, is_wide


@dataclass(frozen=True)
class OcrOptions:
    engine: str = "tesseract"    # a name in READERS
    languages: str = "chi_sim"
    psm: int = 4
    timeout: float = 180.0
    recognition_dpi: int = 150   # pages are read at this resolution at most; the kept image keeps its own
    image: ImageOptions = ImageOptions()   # how the page image is kept in the searchable PDF
    threads: int = 1             # threads of an engine that has its own pool (rapidocr's onnxruntime sessions)
    cascade_below_confidence: float = 85.0        # cascade: a page tesseract reads with less: rapidocr reads it
    cascade_line_below_confidence: float = 90.0   # cascade: a line tesseract reads with less: rapidocr reads it


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
    """OCR a greyscale page. The engine `options.engine` names (READERS) reads a copy scaled down to
    `recognition_dpi` (tesseract's models read 10–16 pt print best there, and both engines read faster); word
    boxes come back in the page's own pixels, and the searchable PDF page is the page image under an invisible
    text layer of the lines read — `keep` (the colour page, same geometry) when given, else the greyscale page,
    kept two-level when it is black on white (`two_level`: it was scanned so), see ocr.pageimage."""
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


def _rapidocr(picture: Image.Image, dpi: int, options: OcrOptions) -> tuple[str, dict]:
    tsv = rapid.read(picture, threads=options.threads)
    return tsv, {"engine": "rapidocr", "version": rapid.version(), "runtime": f"onnxruntime {rapid.runtime_version()}",
                 "models": rapid.models(), "settings": rapid.settings(options.threads), "dpi": dpi}


def _cascade(picture: Image.Image, dpi: int, options: OcrOptions) -> tuple[str, dict]:
    """Tesseract first. A page it reads badly — mean confidence under `cascade_below_confidence`, or most of its ink
    outside the words read (an ID-card copy, a faint photocopy) — is read again whole by rapidocr; on any other page
    the lines read with less than `cascade_line_below_confidence` are read again, each on its own, by rapidocr's
    recognition. The record says which engine read the page (or which lines), and why."""
    tsv, first = _tesseract(picture, dpi, options)
    layout = parse_tsv(tsv, picture.width, picture.height)
    confidence, inked = mean_confidence(layout), ink_read(layout, picture)
    record = {"engine": "cascade", "version": f"tesseract {first['version']}, rapidocr {rapid.version()}",
              "below_confidence": options.cascade_below_confidence, "tesseract_confidence": round(confidence, 2),
              "ink_read": round(inked, 3), "tesseract": first, "dpi": dpi}
    if confidence < options.cascade_below_confidence or inked < INK_READ_AT_LEAST:
        tsv, second = _rapidocr(picture, dpi, options)
        return tsv, {**record, "read_by": "rapidocr", "rapidocr": second}
    return _lines_again(tsv, layout, picture, options, record)


def _lines_again(tsv: str, layout: PageLayout, picture: Image.Image, options: OcrOptions,
                 record: dict) -> tuple[str, dict]:
    """Tesseract's reading, each line it doubts (and that is shaped as a line) read again by rapidocr's
    recognition in tesseract's box; rapidocr's text replaces the line's unless it read nothing there."""
    typical = statistics.median(row.height for row in layout.lines) if layout.lines else 0
    doubtful = [line for line in layout.lines if line.conf < options.cascade_line_below_confidence
                and _line_shaped(line, typical)]
    readings = rapid.read_lines(picture, [_padded(line, picture) for line in doubtful],
                                threads=options.threads) if doubtful else []
    better = {id(line): rapid.words_over(text, conf, (line.left, line.top, line.width, line.height))
              for line, (text, conf) in zip(doubtful, readings) if text}
    record = {**record, "lines_read_again": len(doubtful), "lines_replaced": len(better)}
    if not better:
        return tsv, {**record, "read_by": "tesseract"}
    lines = [better.get(id(line)) or [(w.text, w.conf, (w.left, w.top, w.width, w.height)) for w in line.words]
             for line in layout.lines]
    return layout_tsv(lines), {**record, "read_by": "tesseract, rapidocr by line", "rapidocr": {
        "engine": "rapidocr", "version": rapid.version(), "models": {"rec": rapid.models()["rec"]},
        "recognition_only": True, "settings": rapid.settings(options.threads)}}


INK_READ_AT_LEAST = 0.5     # cascade: a page with less of its ink inside the words tesseract read is read again
LINE_PAD = (0.5, 0.25)      # a line read again alone: its box grown by these shares of its height, across and down
LINE_HEIGHTS = (0.5, 2.0)   # a line is read again only if this many times as high as the page's median line, at most


def ink_read(layout: PageLayout, picture: Image.Image) -> float:
    """The share of the page's ink (darker than half way between black and paper) inside the word boxes read."""
    gray = np.asarray(picture)
    ink = gray < (int(gray.min()) + int(np.percentile(gray, 90))) // 2
    total = int(ink.sum())
    if total == 0:
        return 1.0
    inside = np.zeros_like(ink)
    for word in (w for line in layout.lines for w in line.words):
        inside[word.top:word.top + word.height, word.left:word.left + word.width] = True
    return float((ink & inside).sum()) / total


def _line_shaped(line: Line, typical: float) -> bool:
    """A row of text as high as the page's rows are, `typical` (a rule read as a line, or a block of specks, is not)."""
    return LINE_HEIGHTS[0] * typical <= line.height <= LINE_HEIGHTS[1] * typical


def _padded(line: Line, picture: Image.Image) -> tuple[int, int, int, int]:
    across, down = round(line.height * LINE_PAD[0]), round(line.height * LINE_PAD[1])
    left, top = max(0, line.left - across), max(0, line.top - down)
    right, bottom = min(picture.width, line.right + across), min(picture.height, line.top + line.height + down)
    return left, top, right - left, bottom - top


def layout_tsv(lines: list[list[tuple[str, float, tuple[int, int, int, int]]]]) -> str:
    """Tesseract's TSV of lines of (text, confidence, box) words, one block, a line each."""
    rows = [f"5\t1\t1\t1\t{number}\t{index}\t{left}\t{top}\t{width}\t{height}\t{conf:.3f}\t{text}"
            for number, words in enumerate(lines, 1)
            for index, (text, conf, (left, top, width, height)) in enumerate(words, 1)]
    return TSV_HEADER + "\n".join(rows) + "\n"


def _nothing(picture: Image.Image, dpi: int, options: OcrOptions) -> tuple[str, dict]:
    """The no-op engine (`ocr.engine: none`): reads no text. It measures the pipeline around OCR; never for paper."""
    return TSV_HEADER, {"engine": "none", "dpi": dpi}


# The engines that read a page's words, by the name `ocr.engine` gives; each answers tesseract's TSV and a record
# of itself kept with the page.
READERS = {"tesseract": _tesseract, "rapidocr": _rapidocr, "cascade": _cascade, "none": _nothing}


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


def join_words(words: list[str]) -> str:
    """Join words with spaces, except next to an East Asian character (tesseract splits CJK runs into words)."""
    out = ""
    for word in words:
        if out and not (is_wide(out[-1]) or is_wide(word[0])):
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
