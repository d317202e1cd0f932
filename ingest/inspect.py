"""Inspect one received file before any page is queued: type, page count, limits, repair and unlocking."""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image, ImageFile

from config.errors import (DamagedFile, DecompressionBomb, EmptyDocument, InputRejected, PasswordProtected, TooLarge,
                           TruncatedFile, UnsupportedType)
from ingest.sniff import ACCEPTED, sniff

ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_FRAMES = 2000


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_image_pixels: int
    max_page_inches: float

    @classmethod
    def from_settings(cls, limits) -> "Limits":
        return cls(limits.max_file_mb * 1024 * 1024, limits.max_image_pixels, limits.max_page_inches)


@dataclass(frozen=True)
class Inspection:
    """What a received file holds; `work_copy` is set when pages must be read from a repaired or unlocked copy."""
    media_type: str
    page_count: int
    work_copy: bytes | None = None
    note: str | None = None


def inspect_file(path: Path, limits: Limits, password: str | None = None, name: str | None = None) -> Inspection:
    """Raise an InputRejected subclass with a reason a person understands, or describe the file."""
    try:
        return _inspect(path, limits, password, name)
    except InputRejected as exc:
        exc.reason = exc.reason.replace(str(path), name or path.name)  # storage paths mean nothing to a reader
        exc.args = (exc.reason,)
        raise


def _inspect(path: Path, limits: Limits, password: str | None, name: str | None) -> Inspection:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise TooLarge(f"file of {size / 2**20:.0f} MiB exceeds the {limits.max_file_bytes / 2**20:.0f} MiB limit")
    with path.open("rb") as handle:
        media_type, seen = sniff(handle.read(1024))
    if media_type is None and Path(name or path).suffix.lower() == ".pdf" and size:
        raise DamagedFile("named like a PDF but has no PDF header (%PDF-): damaged, or not a PDF at all")
    if media_type is None:
        raise UnsupportedType(f"not a supported file type: this is {seen}; accepted: {ACCEPTED}")
    if media_type == "application/pdf":
        return _inspect_pdf(path, limits, password)
    return _inspect_image(path, media_type, limits)


# images ----------------------------------------------------------------------------------------------------------
def _inspect_image(path: Path, media_type: str, limits: Limits) -> Inspection:
    Image.MAX_IMAGE_PIXELS = None  # our own limit is checked on every frame before decoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                frames = _check_frames(image, limits)
    except (DecompressionBomb, EmptyDocument):
        raise
    except Exception as exc:  # decoders of hostile files raise anything; translated once, here
        raise _image_error(exc) from exc
    return Inspection(media_type, frames)


def _check_frames(image: Image.Image, limits: Limits) -> int:
    count = 0
    for index in range(min(getattr(image, "n_frames", 1), MAX_FRAMES)):
        image.seek(index)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise EmptyDocument(f"page {index + 1} has no pixels ({width}×{height})")
        if width * height > limits.max_image_pixels:
            raise DecompressionBomb(f"page {index + 1} would decode to {width}×{height} = {width * height:,} pixels, "
                                    f"over the limit of {limits.max_image_pixels:,} (a decompression bomb or an "
                                    f"absurd scan resolution)")
        image.load()
        count += 1
    if count == 0:
        raise EmptyDocument("the image holds no page")
    return count


def _image_error(exc: Exception) -> DamagedFile | TruncatedFile:
    text = str(exc)
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return TruncatedFile(f"truncated image: the file ends before the picture does ({text})")
    return DamagedFile(f"damaged image that cannot be decoded: {text}")


# PDFs ------------------------------------------------------------------------------------------------------------
def _inspect_pdf(path: Path, limits: Limits, password: str | None) -> Inspection:
    pdf = _open_pdf(path, password)
    with pdf:
        count = _pdf_page_count(pdf)
        for index, page in enumerate(pdf.pages):
            _check_pdf_page(page, index, limits)
        repaired = bool(pdf.get_warnings())
        if not (repaired or pdf.is_encrypted):
            return Inspection("application/pdf", count)
        note = _work_copy_note(pdf.is_encrypted, password)
        return Inspection("application/pdf", count, _rewrite(pdf), note)


def _work_copy_note(encrypted: bool, password: str | None) -> str:
    if encrypted and password:
        return "unlocked with the password given"
    if encrypted:
        return "encryption removed (the file had no open password)"
    return "repaired damaged PDF structure"


def _rewrite(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    try:
        pdf.save(out, encryption=False, fix_metadata_version=False)
    except Exception as exc:  # qpdf raises on objects it cannot write back
        raise DamagedFile(f"damaged PDF that could not be repaired: {_short(exc)}") from exc
    return out.getvalue()


def _open_pdf(path: Path, password: str | None) -> pikepdf.Pdf:
    try:
        return pikepdf.open(path, password=password or "")
    except pikepdf.PasswordError as exc:
        raise PasswordProtected(wrong_password=bool(password)) from exc
    except Exception as exc:  # qpdf's recovery failed; translated once, here
        raise DamagedFile(f"damaged PDF that could not be repaired: {_short(exc)}") from exc


def _pdf_page_count(pdf: pikepdf.Pdf) -> int:
    try:
        count = len(pdf.pages)
    except Exception as exc:  # loops and broken trees surface here
        raise DamagedFile(f"damaged PDF page tree: {_short(exc)}") from exc
    if count == 0:
        raise EmptyDocument("the PDF has no pages")
    return count


def _check_pdf_page(page: pikepdf.Page, index: int, limits: Limits) -> None:
    try:
        box = page.mediabox
        width, height = abs(float(box[2]) - float(box[0])) / 72, abs(float(box[3]) - float(box[1])) / 72
        images = list(page.get_images().values())
    except Exception as exc:  # a broken page dictionary raises from deep inside qpdf
        raise DamagedFile(f"damaged page {index + 1}: {_short(exc)}") from exc
    if max(width, height) > limits.max_page_inches:
        raise TooLarge(f"page {index + 1} measures {width:.0f}×{height:.0f} inches, larger than any sheet of paper "
                       f"(limit {limits.max_page_inches:.0f} inches)")
    for image in images:
        pixels = int(image.get("/Width", 0)) * int(image.get("/Height", 0))
        if pixels > limits.max_image_pixels:
            raise DecompressionBomb(f"page {index + 1} holds an image of {pixels:,} pixels, over the limit of "
                                    f"{limits.max_image_pixels:,} (a decompression bomb or an absurd resolution)")


def _short(exc: Exception) -> str:
    """First line of a library message, without the file path qpdf puts in front of it."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return re.sub(r"^\S+\.pdf(?: \(object [^)]*\))?: ", "", text)[:200]
