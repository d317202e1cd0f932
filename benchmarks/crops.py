"""Crops of one region of a page at 100 % zoom (the page drawn at its own resolution), from a PDF or an image."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

CONTRAST = 40              # grey levels darker than the paper from which a pixel is something on it
EDGE_PX = 3                # mid-grey this close to dark ink is a stroke's edge, not a seal or a photograph


def render(pdf: Path, dpi: int) -> np.ndarray:
    """Page 1 as RGB pixels at `dpi`, drawn as a viewer draws it (pdfium, smoothing on)."""
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument(str(pdf))
    try:
        return np.asarray(document[0].render(scale=dpi / 72).to_pil().convert("RGB"))
    finally:
        document.close()


def region(weight: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the `size` window holding most `weight`, on a 16-px grid."""
    step = 16
    rows, cols = weight.shape[0] // step, weight.shape[1] // step
    cells = weight[:rows * step, :cols * step].reshape(rows, step, cols, step).sum(axis=(1, 3))
    span_x, span_y = min(cols, size[0] // step), min(rows, size[1] // step)
    table = np.zeros((rows + 1, cols + 1), dtype=np.int64)
    table[1:, 1:] = cells.cumsum(axis=0).cumsum(axis=1)
    sums = table[span_y:, span_x:] - table[:-span_y, span_x:] - table[span_y:, :-span_x] + table[:-span_y, :-span_x]
    top, left = (int(v) * step for v in np.unravel_index(int(sums.argmax()), sums.shape))
    return left, top, left + size[0], top + size[1]


def grey_marks(page: np.ndarray) -> np.ndarray:
    """Mid-grey pixels away from dark ink: a seal, a photograph (what keeps a page from being two-level)."""
    grey = page.mean(axis=2) if page.ndim == 3 else page.astype(np.float64)
    paper = float(np.median(grey))
    mid = (grey < paper - CONTRAST) & (grey > paper - 3 * CONTRAST)
    return mid & ~_near(grey < paper - 3 * CONTRAST, EDGE_PX)


def characters(pdf: Path, dpi: int, shape: tuple[int, ...]) -> np.ndarray:
    """Where the page's text layer has characters (one count at each character's centre): text, not pictures."""
    import pypdfium2 as pdfium
    counts = np.zeros(shape[:2], dtype=np.int32)
    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[0]
        height_pt = page.get_height()
        text = page.get_textpage()
        for index in range(text.count_chars()):
            left, bottom, right, top = text.get_charbox(index)
            x, y = round((left + right) / 2 * dpi / 72), round((height_pt - (top + bottom) / 2) * dpi / 72)
            if 0 <= y < shape[0] and 0 <= x < shape[1]:
                counts[y, x] += 1
    finally:
        document.close()
    return counts


def _near(mask: np.ndarray, reach: int) -> np.ndarray:
    """Pixels within `reach` (a square) of a True pixel."""
    grown = mask.copy()
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            grown |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return grown


def to_captured(box: tuple[int, int, int, int], geometry: dict) -> tuple[int, int, int, int]:
    """The same region in the captured image: the kept page's 180° turn, deskew and border crop undone (for the
    region's centre; within a crop the skew of a few degrees moves the corners by a few pixels)."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    height, width = geometry["shape"]
    if geometry["flipped"]:
        x, y = width - 1 - x, height - 1 - y
    x, y = _unrotated(x, y, geometry["skew"], width / 2 - 0.5, height / 2 - 0.5)
    left, top = (geometry["crop"] or (0, 0))[:2]
    half_w, half_h = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    return (round(x + left - half_w), round(y + top - half_h), round(x + left + half_w), round(y + top + half_h))


def _unrotated(x: float, y: float, degrees: float, cx: float, cy: float) -> tuple[float, float]:
    """Where a point of a page turned `degrees` counter-clockwise about (cx, cy) was before the turn."""
    a, b = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    dx, dy = x - cx, y - cy
    return a * dx - b * dy + cx, b * dx + a * dy + cy


def cut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box out of the image, white where it reaches past the image's edges."""
    left, top, right, bottom = box
    out = np.full((bottom - top, right - left, 3), 255, dtype=np.uint8)
    source = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(source.shape[1], right), min(source.shape[0], bottom)
    if x1 > x0 and y1 > y0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = source[y0:y1, x0:x1, :3]
    return out


def upright(pixels: np.ndarray, geometry: dict) -> np.ndarray:
    """A crop of the captured page turned as the kept page is, when the product turned it 180°."""
    return np.ascontiguousarray(pixels[::-1, ::-1]) if geometry["flipped"] else pixels


def side_by_side(crops: list[np.ndarray], gap: int = 12) -> np.ndarray:
    """Crops of equal height in a row, a grey gap between them."""
    spacer = np.full((crops[0].shape[0], gap, 3), 160, dtype=np.uint8)
    parts = [part for crop in crops for part in (crop, spacer)][:-1]
    return np.hstack(parts)


def save(pixels: np.ndarray, path: Path) -> Path:
    from PIL import Image
    Image.fromarray(pixels).save(path)
    return path
