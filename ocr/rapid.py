"""Thin adapter around RapidOCR (PaddleOCR's PP-OCR models run by onnxruntime): one engine kept loaded in each worker
process, limited to its own threads; an image in, tesseract's TSV out (each text box a line, each Chinese character
a word, each run of Latin letters or digits a word), typed errors. The models are the ones inside the
rapidocr_onnxruntime wheel: nothing is downloaded, ever."""
from __future__ import annotations

import functools
import importlib.metadata
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image

from config.errors import MissingDependency, OcrFailed

PACKAGE = "rapidocr_onnxruntime"
PINNED = "1.4.4"            # the adapter reads the library's per-box results (`_PageReader`): another version is untried
INSTALL = (f"run `bash scripts/setup.sh`, or `.venv/bin/python -m pip install --no-deps {PACKAGE}=={PINNED}` and "
           "`.venv/bin/python -m pip install onnxruntime pyclipper shapely six tqdm` (no-deps: it asks for "
           "opencv-python, whose cv2 would overwrite the opencv-python-headless edossier uses)")
TEXT_SCORE = 0.5            # a box read with less (RapidOCR's own default) is not text: specks, seal strokes, rules
BOX_THRESH = 0.5            # detection: a box whose mean text probability is lower is dropped (RapidOCR's default)
UNCLIP_RATIO = 1.6          # detection: how far a found text kernel is grown back to the glyphs (RapidOCR's default)
DIRECTION_SCORE = 0.9       # a line the direction model finds upside down with more than this is read turned
TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"


@functools.cache
def _library():
    """rapidocr_onnxruntime, imported on first use (it loads onnxruntime), so a process that never reads with it pays
    nothing."""
    try:
        import rapidocr_onnxruntime
    except ImportError as exc:
        raise MissingDependency(f"the OCR engine rapidocr is not installed ({exc}): {INSTALL}") from exc
    return rapidocr_onnxruntime


def check_installed() -> None:
    """Raise MissingDependency, with the install command, unless the engine and its models are there."""
    models()


@functools.cache
def version() -> str:
    _library()
    return importlib.metadata.version(PACKAGE)


@functools.cache
def runtime_version() -> str:
    return importlib.metadata.version("onnxruntime")


@functools.cache
def models() -> dict[str, str]:
    """The model files the engine loads (detection, direction, recognition), all inside the installed package."""
    folder = Path(_library().__file__).parent / "models"
    found = {"det": "ch_PP-OCRv4_det_infer.onnx", "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
             "rec": "ch_PP-OCRv4_rec_infer.onnx"}
    missing = [name for name in found.values() if not (folder / name).is_file()]
    if missing:
        raise MissingDependency(f"RapidOCR's models are missing from {folder}: {', '.join(missing)}; {INSTALL}")
    return found


@functools.cache
def _engine(threads: int):
    """This process's engine, loaded once: onnxruntime sessions of `threads` threads each (a worker process per
    core reads one page at a time; more threads would only fight the other workers)."""
    library = _library()

    class _PageReader(library.RapidOCR):
        def get_final_res(self, dt_boxes, cls_res, rec_res, *elapsed):
            """Every box with its direction and its reading, unfiltered (the library's own answer drops the
            direction, which the adapter needs to report a page that lies upside down)."""
            return list(zip(dt_boxes, cls_res, rec_res)), elapsed

    try:
        return _PageReader(intra_op_num_threads=threads, inter_op_num_threads=1, print_verbose=False,
                           cls_thresh=DIRECTION_SCORE)
    except (RuntimeError, ValueError, OSError) as exc:     # onnxruntime's own errors derive from RuntimeError
        raise OcrFailed(f"RapidOCR could not start: {exc}") from exc


def _failures() -> tuple[type[BaseException], ...]:
    from rapidocr_onnxruntime.utils.infer_engine import ONNXRuntimeError
    return RuntimeError, ValueError, ONNXRuntimeError


def settings(threads: int) -> dict:
    """What the engine runs with, for the page's record."""
    engine = _engine(threads)
    return {"threads": threads, "text_score": TEXT_SCORE, "det_box_thresh": BOX_THRESH,
            "det_unclip_ratio": UNCLIP_RATIO, "det_limit_side_len": engine.text_det.limit_side_len,
            "max_side_len": engine.max_side_len, "cls_thresh": DIRECTION_SCORE}


def read(image: Image.Image, *, threads: int = 1) -> str:
    """OCR one image: tesseract's TSV (page, line and word rows, confidences 0–100), boxes in its pixels.

    A line RapidOCR's direction model finds upside down is read turned, as RapidOCR does, but reported with
    confidence 0: it is not a reading of the page as it lies, and a page of such lines reads as unreadable, so the
    pipeline turns it and reads it again (ingest.digitise.recognise_upright)."""
    gray = np.asarray(image.convert("L"))
    engine = _engine(threads)
    try:
        found, _ = engine(gray, use_det=True, use_cls=True, use_rec=True, return_word_box=True,
                          box_thresh=BOX_THRESH, unclip_ratio=UNCLIP_RATIO)
    except _failures() as exc:
        raise OcrFailed(f"RapidOCR could not read the image: {exc}") from exc
    height, width = gray.shape
    rows = [f"1\t1\t0\t0\t0\t0\t0\t0\t{width}\t{height}\t-1\t"]
    for number, (box, direction, reading) in enumerate(found or [], start=1):
        rows += _line_rows(number, box, direction, reading, width, height)
    return TSV_HEADER + "\n".join(rows) + "\n"


def _line_rows(number: int, box, direction, reading, width: int, height: int) -> list[str]:
    text, score = reading[0], float(reading[1])
    if score < TEXT_SCORE or not text.strip():
        return []
    line = _bounds(box, width, height)
    turned = "180" in str(direction[0]) and float(direction[1]) > DIRECTION_SCORE
    words = [(text.strip(), 0.0, line)] if turned else _words(reading, line, width, height)
    rows = [_row(4, number, 0, line, -1, "")]
    rows += [_row(5, number, index, bounds, conf, word) for index, (word, conf, bounds) in enumerate(words, 1)]
    return rows


def _row(level: int, line: int, word: int, bounds: tuple[int, int, int, int], conf: float, text: str) -> str:
    left, top, w, h = bounds
    return f"{level}\t1\t1\t1\t{line}\t{word}\t{left}\t{top}\t{w}\t{h}\t{conf:.3f}\t{text}"


def _bounds(points, width: int, height: int) -> tuple[int, int, int, int]:
    """Axis-aligned (left, top, width, height) of a quadrilateral, inside the image."""
    xs, ys = np.asarray(points, dtype=float).reshape(-1, 2).T
    left, top = int(max(0, np.floor(xs.min()))), int(max(0, np.floor(ys.min())))
    right, bottom = int(min(width, np.ceil(xs.max()))), int(min(height, np.ceil(ys.max())))
    return left, top, max(1, right - left), max(1, bottom - top)


def _words(reading, line: tuple[int, int, int, int], width: int, height: int) -> list[tuple[str, float, tuple]]:
    """(text, confidence 0–100, box) of each word: a Chinese (full-width) character alone, a run of other characters
    together, spaces between. Character boxes and confidences are RapidOCR's; where they do not line up with the
    text, the line's box is shared out by character widths."""
    text, boxes, confs = reading[0], reading[2] or [], reading[4] if len(reading) > 4 else []
    chars = [c for c in text if not c.isspace()]
    if len(boxes) != len(text) or len(confs) != len(text):
        boxes, confs = _spread(text, line), [float(reading[1])] * len(text)
    words: list[tuple[str, float, tuple]] = []
    run: list[tuple[str, float, tuple]] = []
    for char, box, conf in zip(text, boxes, confs):
        if char.isspace():
            words += _joined(run)
            run = []
            continue
        item = (char, 100 * float(conf), box if isinstance(box, tuple) else _bounds(box, width, height))
        if _is_wide(char):
            words += _joined(run) + [item]
            run = []
        else:
            run.append(item)
    words += _joined(run)
    return words if sum(len(w[0]) for w in words) == len(chars) else [(text.strip(), 100 * float(reading[1]), line)]


def _joined(run: list[tuple[str, float, tuple]]) -> list[tuple[str, float, tuple]]:
    if not run:
        return []
    lefts = [b[0] for _, _, b in run]
    tops = [b[1] for _, _, b in run]
    rights = [b[0] + b[2] for _, _, b in run]
    bottoms = [b[1] + b[3] for _, _, b in run]
    conf = sum(c for _, c, _ in run) / len(run)
    return [("".join(c for c, _, _ in run), conf,
             (min(lefts), min(tops), max(rights) - min(lefts), max(bottoms) - min(tops)))]


def _spread(text: str, line: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """The line's box divided among its characters, a full-width character twice as wide as any other."""
    left, top, width, height = line
    units = [2 if _is_wide(c) else 1 for c in text]
    scale, boxes, x = width / max(1, sum(units)), [], float(left)
    for unit in units:
        boxes.append((round(x), top, max(1, round(unit * scale)), height))
        x += unit * scale
    return boxes


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")
