"""Thin adapter around the tesseract program (through pytesseract): arguments in, files out, typed errors."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytesseract

from ingest.errors import MissingDependency, OcrFailed, TimedOut


@dataclass(frozen=True)
class TesseractRun:
    """What tesseract wrote for one image: the TSV of words and, if asked, a one-page searchable PDF."""
    tsv: str
    pdf: bytes | None


@functools.cache
def version() -> str:
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError as exc:
        raise MissingDependency("tesseract is not installed: run `apt-get install tesseract-ocr "
                                "tesseract-ocr-chi-sim` (the README's quick start does it)") from exc


@functools.cache
def languages() -> frozenset[str]:
    return frozenset(pytesseract.get_languages(config=""))


def check_languages(spec: str) -> None:
    missing = [lang for lang in spec.split("+") if lang not in languages()]
    if missing:
        raise MissingDependency(f"tesseract language data missing: {', '.join(missing)}; install "
                                + " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing))


def run(image: Path, *, lang: str, psm: int, dpi: int, pdf: bool, timeout: float,
        text_only: bool = False) -> TesseractRun:
    """OCR one image file; the PDF is the image with an invisible text layer, or only the text layer."""
    base = image.with_suffix("")
    config = f"--psm {psm} --dpi {dpi} -c tessedit_create_tsv=1" + (" -c textonly_pdf=1" if text_only else "")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        pytesseract.pytesseract.run_tesseract(str(image), str(base), "pdf" if pdf else "", lang, config,
                                              timeout=timeout)
    except pytesseract.TesseractError as exc:
        raise OcrFailed(f"tesseract failed: {exc.message.strip()[:300]}") from exc
    except RuntimeError as exc:  # pytesseract's only other RuntimeError here: it killed tesseract at the timeout
        raise TimedOut(f"OCR stopped after {timeout:.0f} s on one page") from exc
    tsv = base.with_suffix(".tsv").read_text(encoding="utf-8")
    pdf_bytes = base.with_suffix(".pdf").read_bytes() if pdf else None
    return TesseractRun(tsv, pdf_bytes)
