"""The per-page steps, top to bottom: preprocess → read codes → the reading copy (seals dropped, paper evened, specks
and table rules removed: ocr.dropout) → OCR (trying the page as scanned when its quarter turn reads little, and upside down if it reads
badly) → title."""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass

import numpy as np

from classify.codes import Code, find_separator, read_codes
from classify.doctype import clean_title, could_be_title, find_title_line, is_listed_title
from classify.separator import Separator
from classify.taxonomy import Taxonomy
from config.settings import Settings
from ingest.pages import Raster
from ocr import dropout, pageimage, preprocess
from ocr.engine import OcrOptions, OcrPage, ink_read, read_line, recognise, with_line_text
from ocr.pageimage import ImageOptions
from ocr.types import Line


@dataclass(frozen=True, eq=False)
class PageResult:
    prepared: preprocess.Prepared
    codes: tuple[Code, ...]
    separator: Separator | None
    ocr: OcrPage | None
    title: str | None
    rotation: int
    steps: tuple[str, ...]
    layout_hash: str | None = None     # perceptual fingerprint of the page's ink layout (ocr.preprocess.fingerprint)


def digitise(raster: Raster, settings: Settings) -> PageResult:
    prepared = prepare(raster, settings)
    if prepared.blank:
        return PageResult(prepared, (), None, None, None, 0, prepared.steps + ("blank: not recognised",))
    codes = read_codes(prepared.image)
    separator = find_separator(codes)
    if separator is not None:
        return PageResult(prepared, codes, separator, None, None, prepared.rotation,
                          prepared.steps + ("separator sheet: not recognised",))
    keep = None if raster.color is None else preprocess.apply_geometry(raster.color, prepared)
    two_level = keep is None and pageimage.is_two_level(raster.gray)
    reading = dropout.reading_copy(prepared.image, keep, raster.dpi) if _reads_a_copy(settings) else None
    ocr, rotation, image, steps = recognise_upright(prepared, raster.dpi, settings, keep, two_level, reading)
    steps += (_kept_step(ocr.engine["image"]),)
    line = find_title_line(ocr.layout)
    title = title_of(image, line, raster.dpi, settings) if line else None
    if title is not None and not could_be_title(title):
        steps += ("title line read again as body text: no title",)
        line, title = None, None
    if line is not None and title != _tidy_title(line.text):
        ocr = with_line_text(ocr, line, title)
        steps += (f"title re-read: {title}",)
    return PageResult(prepared, codes, None, ocr, title, rotation, steps, preprocess.fingerprint(prepared.image))


def _reads_a_copy(settings: Settings) -> bool:
    return settings.ocr.reading_copy and settings.ocr.engine != "none"


def title_of(image, line: Line, dpi: int, settings: Settings) -> str:
    """A title the taxonomy lists is taken as read; any other is read a second time."""
    if is_listed_title(line.text, taxonomy()):
        return _tidy_title(line.text)
    return reread_title(image, line, dpi, settings)


@functools.cache
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


TITLE_GLYPH_PX = 40   # tesseract's models read large, letter-spaced titles far better at about this height


def reread_title(image, line: Line, dpi: int, settings: Settings) -> str:
    """Read the title line again at body-text scale; large spaced titles are where page OCR errs most.
    The second reading wins unless it lost characters (then the band held something else)."""
    pad = int(line.height * 0.2)
    band = image[max(0, line.top - pad): line.top + line.height + pad,
                 max(0, line.left - 2 * pad): line.right + 2 * pad]
    scale = min(1.0, TITLE_GLYPH_PX / max(1, line.height))
    first = _tidy_title(line.text)
    second = _tidy_title(read_line(band, dpi, ocr_options(settings), scale))
    return second if len(second) >= len(first) - 1 and second else first


def _tidy_title(text: str) -> str:
    """Title without spaces and without punctuation or specks read at its ends."""
    return clean_title(text).strip(" ,.;:'\"`~!|_-—、，。：；“”‘’·*")


def prepare(raster: Raster, settings: Settings) -> preprocess.Prepared:
    options = settings.preprocess
    return preprocess.prepare(raster.gray, deskew=options.deskew, crop=options.crop,
                              orientation=options.orientation, max_skew=options.max_skew_degrees)


def ocr_options(settings: Settings) -> OcrOptions:
    ocr = settings.ocr
    image = ImageOptions(bitonal=ocr.bitonal, jpeg_quality=ocr.jpeg_quality, jpeg_dpi=ocr.jpeg_dpi)
    return OcrOptions(engine=ocr.engine, languages=ocr.languages, psm=ocr.psm, timeout=settings.queue.page_timeout_s * 0.8,
                      recognition_dpi=ocr.recognition_dpi, image=image, threads=ocr.omp_thread_limit,
                      cascade_below_confidence=ocr.cascade_below_confidence,
                      cascade_line_below_confidence=ocr.cascade_line_below_confidence)


def _kept_step(record: dict) -> str:
    share = "" if record["grey_share"] is None else f", grey {record['grey_share']:.2%}"
    return f"kept {record['kind']}: {record['encoding']} at {record['dpi']} dpi{share}"


def recognise_upright(prepared: preprocess.Prepared, dpi: int, settings: Settings, keep=None,
                      two_level: bool = False, reading: dropout.Reading | None = None):
    """OCR the prepared page; a page turned a quarter whose reading misses most of its ink is read as it came too,
    and a page that reads badly is read turned 180°: the better reading is kept. `keep` is the colour copy of the
    page that goes into the dossier, turned along with it; `two_level`: the page was scanned black and white, and
    is kept so; `reading`: the copy OCR reads (see ocr.dropout), when it differs from the page kept. Returns the
    reading, the page's rotation, the image read and the steps."""
    page = _Turned(reading or dropout.Reading(prepared.image, ()), prepared.image, keep, prepared.rotation)
    options = ocr_options(settings)
    first = page.read(dpi, options, two_level)
    steps = prepared.steps + page.reading.steps + (f"ocr mean confidence {first.mean_conf:.1f}",)
    if prepared.rotation == 90 and first.layout.lines and ink_read(first.layout, page.reading.image) < INK_READ:
        back = page.turned(270)
        unturned = back.read(dpi, options, two_level)
        steps += (f"ocr as scanned (not turned): mean confidence {unturned.mean_conf:.1f}",)
        if ink_read(unturned.layout, back.reading.image) > ink_read(first.layout, page.reading.image):
            page, first, steps = back, unturned, steps + ("rotate 270: the quarter turn undone",)
    if first.mean_conf >= settings.ocr.retry_below_confidence or not first.layout.lines:
        return first, page.rotation, page.reading.image, steps
    upside = page.turned(180)
    second = upside.read(dpi, options, two_level)
    steps += (f"ocr upside down: mean confidence {second.mean_conf:.1f}",)
    if second.mean_conf > first.mean_conf:
        return second, upside.rotation, upside.reading.image, steps + ("rotate 180",)
    return first, page.rotation, page.reading.image, steps


INK_READ = 0.5      # a quarter-turned page whose words hold less of its ink is read as it came too (the turn came
                    # from line profiles, which cards stacked down a page fool)


@dataclass(frozen=True)
class _Turned:
    """The page as OCR reads it, as it is kept, its colour copy, and its rotation from the page as scanned."""
    reading: dropout.Reading
    image: np.ndarray
    keep: np.ndarray | None
    rotation: int

    def turned(self, degrees: int) -> _Turned:
        copy = self.reading.image is not self.image
        image = preprocess.rotate(self.image, degrees)
        text = preprocess.rotate(self.reading.image, degrees) if copy else image
        keep = None if self.keep is None else preprocess.rotate(self.keep, degrees)
        return _Turned(dropout.Reading(text, self.reading.steps), image, keep, (self.rotation + degrees) % 360)

    def read(self, dpi: int, options: OcrOptions, two_level: bool) -> OcrPage:
        return _read(self.reading.image, self.image, dpi, options, self.keep, two_level)


def _read(reading, page, dpi: int, options: OcrOptions, keep, two_level: bool) -> OcrPage:
    """OCR of `reading`, with the searchable PDF made over `page` as kept (`keep`, the colour copy, when given)."""
    if reading is page or keep is not None:
        return recognise(reading, dpi, options, keep=keep, two_level=two_level)
    read = recognise(reading, dpi, options, pdf=False)
    return dropout.kept_under(read, page, dpi, options.image, two_level)


def page_values(blobs, result: PageResult) -> dict:
    """What the catalogue keeps of a digitised page; the searchable page PDF and its word boxes go to blobs."""
    ocr = result.ocr
    values = {
        "rotation": result.rotation, "skew": round(result.prepared.skew, 3), "blank": result.prepared.blank,
        "steps": list(result.steps), "title": result.title,
        "codes": [asdict(code) for code in result.codes],
        "role": "blank" if result.prepared.blank else "separator" if result.separator else "content",
        "text": ocr.text if ocr else "", "mean_conf": round(ocr.mean_conf, 2) if ocr else None,
        "engine": ocr.engine if ocr else None, "layout_hash": result.layout_hash,
    }
    if ocr is not None:
        values["pdf_key"] = blobs.put_bytes(ocr.pdf)
        values["layout_key"] = blobs.put_bytes(_layout_json(ocr.layout))
    return values


def _layout_json(layout) -> bytes:
    return json.dumps(asdict(layout), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
