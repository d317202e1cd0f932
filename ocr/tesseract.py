"""Thin adapter around the tesseract library (through tesserocr): one engine per language kept loaded in each worker
process, so a page pays for recognition and not for loading the model again; images in, TSV out, typed errors.
Language data comes from the system's tessdata folder (Debian's `tesseract-ocr-*` packages)."""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from PIL import Image

from config.errors import MissingDependency, OcrFailed, TimedOut
from ocr.types import TSV_HEADER

TESSDATA_FOLDERS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                    "/usr/share/tessdata", "/usr/local/share/tessdata")
INSTALL = "run `apt-get install tesseract-ocr tesseract-ocr-chi-sim` (the README's quick start does it)"


@functools.cache
def _library():
    """tesserocr, imported on first use: the library's OpenMP runtime reads OMP_THREAD_LIMIT when it loads, and a
    worker sets that (ocr.omp_thread_limit) as it starts, after the fork server has imported this module."""
    import tesserocr
    return tesserocr


@functools.cache
def tessdata() -> str:
    """The folder with the language data: TESSDATA_PREFIX when set, else the first system folder that exists."""
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else list(TESSDATA_FOLDERS)
    for folder in candidates:
        if Path(folder).is_dir():
            return folder.rstrip("/") + "/"
    raise MissingDependency(f"tesseract language data not found (looked in {', '.join(candidates)}): {INSTALL}")


@functools.cache
def version() -> str:
    return _library().tesseract_version().split()[1]


@functools.cache
def languages() -> frozenset[str]:
    return frozenset(_library().get_languages(tessdata())[1])


def check_languages(spec: str) -> None:
    missing = [lang for lang in spec.split("+") if lang not in languages()]
    if missing:
        raise MissingDependency(f"tesseract language data missing in {tessdata()}: {', '.join(missing)}; install "
                                + " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing))


@functools.cache
def _engine(lang: str):
    """This process's engine for `lang`, loaded once (a worker reads page after page with it)."""
    library = _library()
    try:
        return library.PyTessBaseAPI(path=tessdata(), lang=lang, oem=library.OEM.DEFAULT)
    except RuntimeError as exc:
        check_languages(lang)
        raise OcrFailed(f"tesseract could not start with {lang}: {exc}") from exc


def read(image: Image.Image, *, lang: str, psm: int, dpi: int, timeout: float) -> str:
    """OCR one image: tesseract's TSV of blocks, lines and words (with a header line), boxes in its pixels."""
    api = _engine(lang)
    api.SetPageSegMode(psm)
    api.SetImage(image)
    api.SetSourceResolution(dpi)
    started = time.monotonic()
    if not api.Recognize(timeout=int(timeout * 1000)):
        if time.monotonic() - started >= timeout * 0.95:
            raise TimedOut(f"OCR stopped after {timeout:.0f} s on one page")
        raise OcrFailed("tesseract could not read the image")
    return TSV_HEADER + api.GetTSVText(0)


@functools.cache
def glyphless_font() -> bytes:
    """The font tesseract itself puts under invisible text: one empty glyph, shipped with its language data."""
    path = Path(tessdata()) / "pdf.ttf"
    if not path.is_file():
        raise MissingDependency(f"{path} is missing (tesseract's glyphless font): {INSTALL}")
    return path.read_bytes()
