"""Thin adapter around RapidOCR (PaddleOCR's PP-OCR models run by onnxruntime): one engine kept loaded in each worker
process, limited to its own threads; an image in, tesseract's TSV out (each text box a line, each Chinese character
a word, each run of Latin letters or digits a word), typed errors. The models are the ones inside the
rapidocr_onnxruntime wheel: nothing is downloaded, ever."""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image

from config.errors import MissingDependency, OcrFailed
from ocr.types import TSV_HEADER, is_wide

PACKAGE = "rapidocr_onnxruntime"
PINNED = "1.4.4"            # the adapter reads the library's per-box results (`_PageReader`): others are untried
INSTALL = (f"run `bash scripts/setup.sh`, or `.venv/bin/python -m pip install --no-deps {PACKAGE}=={PINNED}` and "
           "`.venv/bin/python -m pip install onnxruntime pyclipper shapely six tqdm` (no-deps: it asks for "
           "opencv-python, whose cv2 would overwrite the opencv-python-headless edossier uses)")
TEXT_SCORE = 0.5            # a box read with less (RapidOCR's own default) is not text: specks, seal strokes, rules
BOX_THRESH = 0.5            # detection: a box whose mean text probability is lower is dropped (RapidOCR's default)
UNCLIP_RATIO = 1.6          # detection: how far a found text kernel is grown back to the glyphs (RapidOCR's default)
DET_LONG_SIDE = 1472        # text detection runs on the page scaled to at most this many pixels on its long side
                            # (A4 at 150 dpi is 1754): about 20 % faster a page than at full size, and no worse read
                            # (benchmarks/README.md); at 1280 a thin bracket opening a line fell outside its box
DIRECTION_SCORE = 0.9       # a line the direction model finds upside down with more than this is read turned
REC_BATCH = 1               # lines recognised at once: a batch is padded to its widest line, and on one thread
                            # the padding costs more than batching saves (single lines: 1.8× faster on a page)
MARK_SCORE = 0.6            # a half-width punctuation mark read with less is a speck: the dots read in the blank
                            # gaps of a form or an ID card; one between two digits is not (2016.01.16-2026.01.16)
ARC_RATIO = 2.5             # a box taller than this many times its text's width per character holds no straight
                            # line: the ring text of a seal that is not red (photocopied), read as a line
# Characters the recognition model's dictionary has but court paper never prints, for the one it means.
MEANT = str.maketrans({"丶": "、"})


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
    """Raise MissingDependency, with the install command, unless the engine, onnxruntime and the models are
    installed. Nothing is imported: the command's own process never loads onnxruntime, only its workers do."""
    for module in (PACKAGE, "onnxruntime", "pyclipper", "shapely", "cv2"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(f"the OCR engine rapidocr cannot be loaded: {module} is not installed; {INSTALL}")
    if version() != PINNED:
        raise MissingDependency(f"{PACKAGE} {version()} is installed, but its adapter is written for "
                                f"{PINNED}: {INSTALL}")
    _check_models(Path(importlib.util.find_spec(PACKAGE).origin).parent / "models")


@functools.cache
def version() -> str:
    return importlib.metadata.version(PACKAGE)


@functools.cache
def runtime_version() -> str:
    return importlib.metadata.version("onnxruntime")


# The model files the engine loads (detection, direction, recognition), all inside the installed wheel.
MODELS = {"det": "ch_PP-OCRv4_det_infer.onnx", "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
          "rec": "ch_PP-OCRv4_rec_infer.onnx"}


def models() -> dict[str, str]:
    return dict(MODELS)


def _check_models(folder: Path) -> None:
    missing = [name for name in MODELS.values() if not (folder / name).is_file()]
    if missing:
        raise MissingDependency(f"RapidOCR's models are missing from {folder}: {', '.join(missing)}; {INSTALL}")


@functools.cache
def _engine(threads: int):
    """This process's engine, loaded once: onnxruntime sessions of `threads` threads each (a worker process per
    core reads one page at a time; more threads would only fight the other workers)."""
    library = _library()

    class _PageReader(library.RapidOCR):
        def __init__(self, **settings):
            super().__init__(**settings)
            self.text_cls = _PageDirection(self.text_cls)
            self._library_size = self.text_det.get_preprocess
            self.text_det.get_preprocess = self._detection_size

        def _detection_size(self, longest: int):
            """Detection on a page longer than DET_LONG_SIDE scaled down to it (recognition still crops the lines
            from the page as given); a smaller image as the library does it (a line's snippet grown to 736)."""
            if longest <= DET_LONG_SIDE:
                return self._library_size(longest)
            return library.ch_ppocr_det.utils.DetPreProcess(DET_LONG_SIDE, "max", self.text_det.mean,
                                                            self.text_det.std)

        def get_final_res(self, dt_boxes, cls_res, rec_res, *elapsed):
            """Every box with its direction and its reading, unfiltered (the library's own answer drops the
            direction, which the adapter needs to report a page that lies upside down)."""
            return list(zip(dt_boxes, cls_res, rec_res)), elapsed

    try:
        return _PageReader(intra_op_num_threads=threads, inter_op_num_threads=1, print_verbose=False,
                           cls_thresh=DIRECTION_SCORE, rec_batch_num=REC_BATCH)
    except (RuntimeError, ValueError, OSError) as exc:     # onnxruntime's own errors derive from RuntimeError
        raise MissingDependency(f"RapidOCR could not start ({exc}): {INSTALL}") from exc


class _PageDirection:
    """RapidOCR's direction model asked about the whole page: each line's answer is a vote, weighted by the line's
    width, and the page turns only as a whole. Asked line by line (RapidOCR's way) it turns lines of symmetric
    characters (一、二、十…) that are upright, which then read as nothing."""

    def __init__(self, classifier):
        self.classifier = classifier

    def __call__(self, crops: list[np.ndarray]):
        _, votes, elapsed = self.classifier(crops)        # it turns copies; the crops themselves stay as they are
        turned = _upside_down([crop.shape[1] for crop in crops], votes)
        decided = [["180" if turned else "0", 1.0] for _ in crops]
        return [np.ascontiguousarray(crop[::-1, ::-1]) for crop in crops] if turned else crops, decided, elapsed


def _upside_down(widths: list[int], votes) -> bool:
    """More than half the page's text, by width, found upside down with more than DIRECTION_SCORE."""
    against = sum(w for w, (label, score) in zip(widths, votes) if "180" in label and score > DIRECTION_SCORE)
    return 2 * against > sum(widths)


def _failures() -> tuple[type[BaseException], ...]:
    """What the library raises when onnxruntime cannot run its models on an image; anything else is a defect."""
    from rapidocr_onnxruntime.utils.infer_engine import ONNXRuntimeError
    return (ONNXRuntimeError,)


def settings(threads: int) -> dict:
    """What the engine runs with, for the page's record."""
    engine = _engine(threads)
    return {"threads": threads, "rec_batch": REC_BATCH, "text_score": TEXT_SCORE, "det_box_thresh": BOX_THRESH,
            "det_unclip_ratio": UNCLIP_RATIO, "det_long_side": DET_LONG_SIDE,
            "max_side_len": engine.max_side_len, "cls_thresh": DIRECTION_SCORE}


def read(image: Image.Image, *, threads: int = 1) -> str:
    """OCR one image: tesseract's TSV (page, line and word rows, confidences 0–100), boxes in its pixels.

    A page whose text RapidOCR's direction model finds upside down (`_PageDirection`) is read turned, but its lines
    are reported with confidence 0: they are not a reading of the page as it lies, so the pipeline turns the page
    and reads it again (ingest.digitise.recognise_upright)."""
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


def read_lines(image: Image.Image, boxes: list[tuple[int, int, int, int]], *, threads: int = 1) -> list[tuple]:
    """(text, confidence 0–100) of each box of `image` (left, top, width, height), each read as one line of text by
    recognition alone; a reading under TEXT_SCORE answers no text."""
    gray = np.asarray(image.convert("L"))
    crops = [np.dstack([gray[top:top + h, left:left + w]] * 3) for left, top, w, h in boxes]
    try:
        readings, _ = _engine(threads).text_rec(crops, False)
    except _failures() as exc:
        raise OcrFailed(f"RapidOCR could not read the lines: {exc}") from exc
    return [("", 100 * float(score)) if float(score) < TEXT_SCORE else (text.strip(), 100 * float(score))
            for text, score in readings]


def words_over(text: str, conf: float, box: tuple[int, int, int, int]) -> list[tuple[str, float, tuple]]:
    """The words of a line's text as (text, confidence, box), the line's box shared out by character widths."""
    return _words([text, conf / 100, _spread(text, box), None, [conf / 100] * len(text)], box, box[0] + box[2],
                  box[1] + box[3])


def _line_rows(number: int, box, direction, reading, width: int, height: int) -> list[str]:
    text, score = reading[0], float(reading[1])
    line = _bounds(box, width, height)
    if score < TEXT_SCORE or not text.strip() or _is_arc(text, line):
        return []
    turned = direction[0] == "180"
    words = [(text.strip(), 0.0, line)] if turned else _words(reading, line, width, height)
    rows = [_row(4, number, 0, line, -1, "")]
    rows += [_row(5, number, index, bounds, conf, word) for index, (word, conf, bounds) in enumerate(words, 1)]
    return rows


def _is_arc(text: str, line: tuple[int, int, int, int]) -> bool:
    ems = sum(1.0 if is_wide(c) else 0.5 for c in text if not c.isspace())
    return line[3] > ARC_RATIO * line[2] / max(ems, 1.0)


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
    for index, (char, box, conf) in enumerate(zip(text, boxes, confs)):
        if char.isspace():
            words += _joined(run)
            run = []
            continue
        if float(conf) < MARK_SCORE and _speck(text, index):
            continue
        place = box if isinstance(box, tuple) else _bounds(box, width, height)
        item = (char.translate(MEANT), 100 * float(conf), place)
        if is_wide(char):
            words += _joined(run) + [item]
            run = []
        else:
            run.append(item)
    words += _joined(run)
    return words if sum(len(w[0]) for w in words) <= len(chars) else [(text.strip(), 100 * float(reading[1]), line)]


def _speck(text: str, index: int) -> bool:
    """The character at `index` is a half-width punctuation mark that does not sit between two digits."""
    char = text[index]
    if not unicodedata.category(char).startswith("P") or is_wide(char):
        return False
    return not (0 < index < len(text) - 1 and text[index - 1].isdigit() and text[index + 1].isdigit())


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
    units = [2 if is_wide(c) else 1 for c in text]
    scale, boxes, x = width / max(1, sum(units)), [], float(left)
    for unit in units:
        boxes.append((round(x), top, max(1, round(unit * scale)), height))
        x += unit * scale
    return boxes


