"""Split a received file into one file per page at inspection, so a page job fetches its own page and not the file.

A PDF page becomes a one-page PDF holding what the page draws and nothing of the other pages; a frame of a multi-frame
image becomes a single-frame image, losslessly (the pixels the page job decodes are the ones the frame held). A page
that cannot be written on its own is reported as None: its job reads it from the whole file, as before splitting.
"""
from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pikepdf
from PIL import Image, ImageOps

from ingest.inspect import Inspection
from ingest.tiff import Flavour, NotCopied, copy_frame, frame_directories

log = logging.getLogger("edossier.split")
PDF = "application/pdf"
ORIENTATION = 274       # the EXIF / TIFF tag saying which way up a frame is shown


@dataclass(frozen=True)
class PageFile:
    """One page as a file of its own, with the media type its page job reads it as."""
    data: bytes
    media_type: str


def split_pages(path: Path, found: Inspection) -> Iterator[PageFile | None]:
    """The file's pages in order, each as a file of its own (None where a page cannot be separated). A PDF read
    from a repaired or unlocked work copy is split from that copy: the page jobs never see the damage or the lock."""
    if found.media_type == PDF:
        return _split_pdf(found.work_copy or path, found.page_count)
    return _split_frames(path, found.page_count, found.media_type)


# PDFs ------------------------------------------------------------------------------------------------------------
PAGES_PER_OPENING = 20


def _split_pdf(source: Path | bytes, count: int) -> Iterator[PageFile | None]:
    """The file is opened afresh every PAGES_PER_OPENING pages: pikepdf keeps the data of every stream it copied
    out of a file in memory until the file is closed, so one opening for all pages would hold the whole file."""
    for first in range(0, count, PAGES_PER_OPENING):
        with _open(source) as pdf:
            layers = _optional_content(pdf)
            for index in range(first, min(first + PAGES_PER_OPENING, count)):
                yield _one_pdf_page(pdf, index, layers)


def _open(source: Path | bytes) -> pikepdf.Pdf:
    """Read as a stream, not mapped into memory whole."""
    readable = io.BytesIO(source) if isinstance(source, bytes) else source
    return pikepdf.open(readable, access_mode=pikepdf.AccessMode.stream)


def _drop_unused_resources(page: pikepdf.Page) -> None:
    """Pages sharing one resource dictionary (every image of the file listed on every page, as some scanners write)
    would each carry all of it: the page keeps only the resources its content names, in a copy of the dictionary
    of its own (as qpdf --split-pages does)."""
    try:
        page.remove_unreferenced_resources()
    except pikepdf.PdfError as exc:  # a content stream qpdf cannot parse: the page keeps its resources whole
        log.info("resources kept whole: %s", exc)


def _optional_content(pdf: pikepdf.Pdf) -> pikepdf.Object | None:
    """The file's layer settings (which optional content is shown), so layers hidden in the file stay hidden on its
    pages; made an indirect object, the only kind qpdf copies between files."""
    layers = pdf.Root.get("/OCProperties")
    if layers is None or layers.is_indirect:
        return layers
    return pdf.make_indirect(layers)


def _one_pdf_page(pdf: pikepdf.Pdf, index: int, layers: pikepdf.Object | None) -> PageFile | None:
    """Page `index` with what it draws; references to other pages (links, annotations' /P) end at the page, as
    qpdf copies them."""
    try:
        page = pdf.pages[index]
        _drop_unused_resources(page)
        with pikepdf.new() as out:
            out.pages.append(page)
            if layers is not None:
                out.Root.OCProperties = out.copy_foreign(layers)
            buffer = io.BytesIO()
            out.save(buffer, min_version=pdf.pdf_version, deterministic_id=True)   # same page, same bytes, same key
    except Exception as exc:  # qpdf raises on objects it cannot copy or write; that page is read from the file
        log.info("page %d kept in its file: %s", index + 1, exc)
        return None
    return PageFile(buffer.getvalue(), PDF)


# images ----------------------------------------------------------------------------------------------------------
def _split_frames(path: Path, count: int, media_type: str) -> Iterator[PageFile | None]:
    """TIFF frames are copied byte for byte (fast, and as small as they were); a frame that cannot be, and the
    frames of other formats, are decoded and written losslessly."""
    Image.MAX_IMAGE_PIXELS = None  # inspection checked every frame against our own limit
    with warnings.catch_warnings(), path.open("rb") as handle, Image.open(path) as image:
        warnings.simplefilter("ignore")
        flavour, directories = _tiff_directories(handle, count) if media_type == "image/tiff" else (None, [])
        for index in range(count):
            copied = _copied_frame(handle, flavour, directories, image, index) if index < len(directories) else None
            yield copied or _one_frame(image, index)


def _tiff_directories(handle: BinaryIO, count: int) -> tuple[Flavour | None, list[int]]:
    try:
        return frame_directories(handle, count)
    except NotCopied as exc:
        log.info("TIFF frames decoded to be split: %s", exc)
        return None, []


def _copied_frame(handle: BinaryIO, flavour: Flavour, directories: list[int], image: Image.Image,
                  index: int) -> PageFile | None:
    """The frame's own bytes in a TIFF of their own, when it reads back as the same frame (size, mode, one frame).
    A later frame tagged to be shown turned is decoded instead: as the first frame of its own file its tag would
    be read differently (the page job turns a file's first frame by its EXIF orientation)."""
    try:
        image.seek(index)
        if index and image.tag_v2.get(ORIENTATION, 1) != 1:
            return None
        data = copy_frame(handle, flavour, directories[index])
        with Image.open(io.BytesIO(data)) as copy:
            if (copy.size, copy.mode, getattr(copy, "n_frames", 1)) != (image.size, image.mode, 1):
                return None
    except (NotCopied, OSError, ValueError, EOFError) as exc:   # what Pillow says of a directory it cannot read
        log.info("frame %d decoded to be split: %s", index + 1, exc)
        return None
    return PageFile(data, "image/tiff")


def _one_frame(image: Image.Image, index: int) -> PageFile | None:
    """Frame `index` as it decodes, with its resolution. The first frame's EXIF orientation is applied here (the
    page job applies it to a file's first frame only, and every split frame is the first of its file)."""
    try:
        image.seek(index)
        frame = ImageOps.exif_transpose(image) if index == 0 else image.copy()
        return _encode(frame, image.info.get("dpi"))
    except Exception as exc:  # decoders and encoders raise anything; that page is read from the file
        log.info("frame %d kept in its file: %s", index + 1, exc)
        return None


def _encode(frame: Image.Image, dpi: tuple[float, float] | None) -> PageFile:
    """Lossless: PNG when a palette colour is transparent (TIFF cannot say so), else TIFF (any mode), bilevel
    frames in CCITT G4 as scanners write them, the rest deflated."""
    buffer = io.BytesIO()
    options = {"dpi": dpi} if dpi else {}
    if "transparency" in frame.info:
        frame.save(buffer, "PNG", **options)
        return PageFile(buffer.getvalue(), "image/png")
    compression = "group4" if frame.mode == "1" else "tiff_adobe_deflate"
    frame.save(buffer, "TIFF", compression=compression, **options)
    return PageFile(buffer.getvalue(), "image/tiff")
