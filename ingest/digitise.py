"""The per-page steps, top to bottom: preprocess → read codes → OCR (trying the page upside down if it reads badly) → title."""
from __future__ import annotations

from dataclasses import dataclass

from classify.codes import Code, find_separator, read_codes
from classify.doctype import find_title
from classify.separator import Separator
from config.settings import Settings
from ingest.pages import Raster
from ocr import preprocess
from ocr.engine import OcrOptions, OcrPage, recognise


@dataclass(frozen=True, eq=False)
class PageResult:
    prepared: preprocess.Prepared
    codes: tuple[Code, ...]
    separator: Separator | None
    ocr: OcrPage | None
    title: str | None
    rotation: int
    steps: tuple[str, ...]


def digitise(raster: Raster, settings: Settings) -> PageResult:
    prepared = prepare(raster, settings)
    if prepared.blank:
        return PageResult(prepared, (), None, None, None, 0, prepared.steps + ("blank: not recognised",))
    codes = read_codes(prepared.image)
    separator = find_separator(codes)
    if separator is not None:
        return PageResult(prepared, codes, separator, None, None, prepared.rotation,
                          prepared.steps + ("separator sheet: not recognised",))
    ocr, rotation, image, steps = recognise_upright(prepared, raster.dpi, settings)
    title = find_title(ocr.layout)
    return PageResult(prepared, codes, None, ocr, title, rotation, steps)


def prepare(raster: Raster, settings: Settings) -> preprocess.Prepared:
    options = settings.preprocess
    return preprocess.prepare(raster.gray, deskew=options.deskew, crop=options.crop,
                              orientation=options.orientation)


def ocr_options(settings: Settings) -> OcrOptions:
    ocr = settings.ocr
    return OcrOptions(ocr.languages, ocr.psm, ocr.jpeg_quality, settings.queue.page_timeout_s * 0.8)


def recognise_upright(prepared: preprocess.Prepared, dpi: int, settings: Settings):
    """OCR the prepared page; when it reads badly, OCR it turned 180° and keep the better reading."""
    options = ocr_options(settings)
    first = recognise(prepared.image, dpi, options)
    steps = prepared.steps + (f"ocr mean confidence {first.mean_conf:.1f}",)
    if first.mean_conf >= settings.ocr.retry_below_confidence or not first.layout.lines:
        return first, prepared.rotation, prepared.image, steps
    turned = preprocess.rotate(prepared.image, 180)
    second = recognise(turned, dpi, options)
    steps += (f"ocr upside down: mean confidence {second.mean_conf:.1f}",)
    if second.mean_conf > first.mean_conf:
        return second, (prepared.rotation + 180) % 360, turned, steps + ("rotate 180",)
    return first, prepared.rotation, prepared.image, steps
