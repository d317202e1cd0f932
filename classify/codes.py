"""Reading QR and 1-D codes from a scanned page (the only place that talks to zxing-cpp).

Every page goes through :func:`read_codes`, so the common case (a text page without any code) has to be cheap:

1. **Fast pass** on a reduced copy (long side about 1754 px, i.e. an A4 page at 150 dpi; a 300-dpi page is halved),
   restricted to the formats used on court paper. Linear codes, QR and Micro QR are searched in all four directions;
   DataMatrix and PDF417 only upright (their rotated search costs more than the rest of the pass together). Small
   images (under a megapixel, e.g. a photographed label) get the thorough search instead.
2. **Full pass** at the input resolution, every format, every direction, inverted codes too; only when the page
   looks like it holds a code that was not read: zxing located a symbol it could not decode, or nothing was read
   but the page shows a group of long parallel bars (a 1-D barcode). ``full_resolution=True`` always runs it,
   ``full_resolution=False`` never does.
3. **Retries** of each such region still unexplained, cropped from the input image, with other binarizers and at
   other scales: anti-aliased or resampled bars (a barcode embedded as a scaled image in a PDF) often defeat the
   default binarizer at one particular resolution only.

Codes come back in reading order (top to bottom, then left to right) with boxes in the input image's pixels.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from classify.separator import Separator, parse_separator_text

__all__ = ["Code", "read_codes", "find_separator"]

#: Long side of the image searched by the fast pass (an A4 page at 150 dpi).
FAST_LONG_SIDE = 1754
#: Images up to this long side are searched at their own resolution (reducing them would gain little).
_NO_REDUCTION_UP_TO = int(FAST_LONG_SIDE * 1.3)
#: Images this small (after reduction) get the thorough search (all directions, inverted codes) in the fast pass.
_THOROUGH_UP_TO_PIXELS = 1_000_000

_LINEAR = ("Code128", "Code39", "Code93", "EANUPC", "ITF")
_EAN_UPC_PARTS = ("EAN13", "EAN8", "UPCA", "UPCE")  # zxing-cpp releases without the EANUPC group
_FAST_ROTATING = (*_LINEAR, "QRCode", "MicroQRCode")
_FAST_UPRIGHT = ("DataMatrix", "PDF417")
_ALL = (*_FAST_ROTATING, *_FAST_UPRIGHT)
# zxing "finds" DataMatrix symbols in noisy text; such failed reads are no evidence of a real code.
_UNTRUSTED_FAILURES = frozenset({"DataMatrix"})


@dataclass(frozen=True)
class Code:
    """One decoded symbol: zxing format name (``QRCode``, ``Code39`` …), text, bounding box in input pixels."""
    symbology: str
    text: str
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


@dataclass(frozen=True)
class _Hit:
    """A zxing result in input-image pixels; ``valid`` is False for a symbol that was located but not decoded."""
    code: Code
    valid: bool


# --------------------------------------------------------------------------------------------------------------
# zxing-cpp access


def _formats(names: Sequence[str]) -> tuple:
    found = []
    for name in names:
        if hasattr(zxingcpp.BarcodeFormat, name):
            found.append(getattr(zxingcpp.BarcodeFormat, name))
        elif name == "EANUPC":
            found.extend(getattr(zxingcpp.BarcodeFormat, part) for part in _EAN_UPC_PARTS)
    return tuple(found)


_FORMAT_CACHE: dict[tuple[str, ...], object] = {}


def _format_arg(names: Sequence[str]) -> object:
    """The ``formats`` argument: a tuple for zxing-cpp 3 (``|`` is deprecated there), an or-ed set for 2.x."""
    key = tuple(names)
    if key not in _FORMAT_CACHE:
        formats = _formats(names)
        try:
            zxingcpp.read_barcodes(np.full((8, 8), 255, np.uint8), formats=formats)
            _FORMAT_CACHE[key] = formats
        except TypeError:
            combined = formats[0]
            for fmt in formats[1:]:
                combined = combined | fmt
            _FORMAT_CACHE[key] = combined
    return _FORMAT_CACHE[key]


def _zxing(image: np.ndarray, names: Sequence[str], *, scale: float = 1.0, offset: tuple[int, int] = (0, 0),
           bounds: tuple[int, ...], **options) -> list[_Hit]:
    """Decode ``image``; boxes are mapped back by ``/ scale`` and ``+ offset`` and clipped to ``bounds`` (h, w)."""
    results = zxingcpp.read_barcodes(image, formats=_format_arg(names), **options)
    return [_Hit(_to_code(r, scale, offset, bounds), bool(getattr(r, "valid", True))) for r in results]


def _to_code(result, scale: float, offset: tuple[int, int], bounds: tuple[int, ...]) -> Code:
    pos = result.position
    points = (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
    left, right = _span([p.x for p in points], scale, offset[0], bounds[1])
    top, bottom = _span([p.y for p in points], scale, offset[1], bounds[0])
    text = (result.text or "").replace("\r\n", "\n")
    return Code(result.format.name, text, left, top, right - left, bottom - top)


def _span(values: list[int], scale: float, offset: int, limit: int) -> tuple[int, int]:
    """[start, end) in input pixels of pixel coordinates ``values`` found on an image scaled by ``scale``."""
    start = min(max(math.floor(min(values) / scale) + offset, 0), limit)
    end = min(max(math.ceil((max(values) + 1) / scale) + offset, start), limit)
    return start, end


# --------------------------------------------------------------------------------------------------------------
# image preparation


def _as_gray(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3:
        if img.shape[2] == 1:
            img = img[:, :, 0]
        elif img.shape[2] in (3, 4):
            if img.dtype != np.uint8:
                img = _to_uint8(img)
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if img.ndim != 2:
        raise ValueError(f"expected a greyscale page (2-D array), got shape {img.shape}")
    return np.ascontiguousarray(_to_uint8(img))


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        top = 1.0 if img.size and float(np.nanmax(img)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(img) * (255.0 / top), 0, 255).astype(np.uint8)
    if np.issubdtype(img.dtype, np.integer):
        return np.clip(img, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported pixel type {img.dtype}")


def _reduce(img: np.ndarray) -> tuple[np.ndarray, float]:
    """Copy of ``img`` with a long side of about FAST_LONG_SIDE, and the scale applied (1.0 = unchanged)."""
    long_side = max(img.shape)
    if long_side <= _NO_REDUCTION_UP_TO:
        return img, 1.0
    ratio = long_side / FAST_LONG_SIDE
    factor = round(ratio)
    if factor >= 2 and abs(ratio - factor) < 0.25:
        # integer factor: exact box averaging (fast when both sides are multiples of the factor)
        h, w = img.shape[0] // factor * factor, img.shape[1] // factor * factor
        small = cv2.resize(img[:h, :w], (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        return small, 1.0 / factor
    scale = FAST_LONG_SIDE / long_side
    mode = cv2.INTER_AREA if scale < 0.5 else cv2.INTER_LINEAR
    return cv2.resize(img, (0, 0), fx=scale, fy=scale, interpolation=mode), scale


# --------------------------------------------------------------------------------------------------------------
# "does this page look like it holds a 1-D code?"

Box = tuple[int, int, int, int]  # left, top, width, height


def _bar_groups(img: np.ndarray) -> list[Box]:
    """Boxes of groups of at least 8 long parallel bars (1-D barcodes), upright or turned by 90°.

    Bars must be at least 5 mm long and at most 1.6 mm apart, the group at least 8 mm across; millimetres are
    estimated from the image assuming a page of about A4 size. Text strokes are shorter than 5 mm and table rules
    stand alone, so ordinary text pages yield nothing.
    """
    px_per_mm = max(img.shape) / 297.0
    _, ink = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return [box for vertical in (True, False) for box in _bar_groups_one_way(ink, vertical, px_per_mm)]


def _bar_groups_one_way(ink: np.ndarray, vertical: bool, px_per_mm: float) -> list[Box]:
    bar_len = max(3, int(round(5.0 * px_per_mm)))
    bars = cv2.erode(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bar_len) if vertical else (bar_len, 1)))
    if cv2.countNonZero(bars) < 8 * bar_len:
        return []
    boxes = []
    for x, y, w, h in _groups(bars, vertical, max_gap=max(2, int(round(1.6 * px_per_mm)))):
        across, along = (w, h) if vertical else (h, w)
        if across < 8.0 * px_per_mm or along < bar_len:
            continue
        profile = (bars[y:y + h, x:x + w] > 0).any(axis=0 if vertical else 1)
        if _bar_count(profile) >= 8 and 0.15 <= float(profile.mean()) <= 0.85:
            boxes.append((x, y, w, h))
    return boxes


def _groups(bars: np.ndarray, vertical: bool, max_gap: int, cell: int = 4) -> list[Box]:
    """Bounding boxes of bar pixels less than about ``max_gap`` apart across the bars, found on a coarse grid."""
    height, width = bars.shape[0] // cell * cell, bars.shape[1] // cell * cell
    if height == 0 or width == 0:
        return []
    coarse = cv2.resize(bars[:height, :width], (width // cell, height // cell), interpolation=cv2.INTER_AREA)
    reach = -(-max_gap // cell) + 1
    bridge = cv2.getStructuringElement(cv2.MORPH_RECT, (reach, 1) if vertical else (1, reach))
    joined = cv2.dilate((coarse > 0).astype(np.uint8), bridge)
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [tuple(int(v) * cell for v in cv2.boundingRect(contour)) for contour in contours]


def _bar_count(profile: np.ndarray) -> int:
    """Number of runs of True in a 1-D boolean profile."""
    flags = profile.astype(np.int8)
    return int(np.count_nonzero(np.diff(flags) == 1)) + int(flags[0]) if flags.size else 0


# --------------------------------------------------------------------------------------------------------------
# boxes and merging


def _box(code: Code) -> Box:
    return code.left, code.top, code.width, code.height


def _overlaps(a: Box, b: Box, margin_x: int = 0, margin_y: int = 0) -> bool:
    """Whether ``a`` grown by the margins on every side and ``b`` share any pixel."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return (ax - margin_x < bx + bw and bx < ax + aw + margin_x
            and ay - margin_y < by + bh and by < ay + ah + margin_y)


def _covered(box: Box, codes: Sequence[Code]) -> bool:
    return any(_overlaps(box, _box(code)) for code in codes)


def _same_place(a: Code, b: Code) -> bool:
    """Near enough to be one symbol. zxing places a 1-D code on the scan lines it decoded, a thin strip anywhere
    along the bars, so across such a strip the tolerance is a quarter of the code's length."""
    span = max(a.width, a.height, b.width, b.height)
    margin_x = margin_y = max(8, span // 10)
    if any(c.height * 4 < c.width for c in (a, b)):
        margin_y = max(margin_y, span // 4)
    if any(c.width * 4 < c.height for c in (a, b)):
        margin_x = max(margin_x, span // 4)
    return _overlaps(_box(a), _box(b), margin_x, margin_y)


def _merge(codes: Iterable[Code]) -> tuple[Code, ...]:
    """Codes without repeats (same symbology and text at the same place; the first found is kept), in reading order."""
    kept: list[Code] = []
    for code in codes:
        if not any(code.text == other.text and code.symbology == other.symbology and _same_place(code, other)
                   for other in kept):
            kept.append(code)
    return tuple(sorted(kept, key=lambda c: (c.top, c.left)))


# --------------------------------------------------------------------------------------------------------------
# the reader


def read_codes(gray: np.ndarray, *, full_resolution: bool | None = None) -> tuple[Code, ...]:
    """All QR / 1-D / 2-D codes readable on a greyscale page (uint8 2-D array; colour arrays are taken as BGR).

    ``full_resolution``: None (default) searches the input resolution only when the fast pass suggests an unread
    code; True always searches it too (slower, also finds very small codes); False never does.
    """
    img = _as_gray(gray)
    if min(img.shape) < 8:
        return ()
    small, scale = _reduce(img)
    thorough = small.size <= _THOROUGH_UP_TO_PIXELS
    hits = _fast_pass(small, scale, img.shape, thorough)
    found = [hit.code for hit in hits if hit.valid]
    if full_resolution is False:
        return _merge(found)
    unread = _unread_regions(hits, small, scale, look_for_bars=bool(full_resolution) or not found)
    if not unread and not full_resolution:
        return _merge(found)
    if not (thorough and scale == 1.0):  # otherwise the fast pass already was the full one
        found = _full_pass(img) + found
    for box in unread:
        if not _covered(box, found):
            found += _retry_region(img, box)
    return _merge(found)


def _fast_pass(small: np.ndarray, scale: float, bounds: tuple[int, int], thorough: bool) -> list[_Hit]:
    """Formats we use, on the reduced image; a small image (a photographed label) gets the thorough search."""
    if thorough:
        return _zxing(small, _ALL, scale=scale, bounds=bounds, try_rotate=True, try_downscale=True,
                      try_invert=True, return_errors=True)
    return (_zxing(small, _FAST_ROTATING, scale=scale, bounds=bounds, try_rotate=True, try_downscale=False,
                   try_invert=False, return_errors=True)
            + _zxing(small, _FAST_UPRIGHT, scale=scale, bounds=bounds, try_rotate=False, try_downscale=False,
                     try_invert=False, return_errors=True))


def _unread_regions(hits: list[_Hit], small: np.ndarray, scale: float, look_for_bars: bool) -> list[Box]:
    """Places (input pixels) that look like a code but were not decoded: failed zxing reads, then bar groups."""
    found = [hit.code for hit in hits if hit.valid]
    regions = [_box(hit.code) for hit in hits if not hit.valid and hit.code.symbology not in _UNTRUSTED_FAILURES]
    if look_for_bars or regions:
        regions += [tuple(int(round(v / scale)) for v in box) for box in _bar_groups(small)]
    return [box for box in regions if not _covered(box, found)]


def _full_pass(img: np.ndarray) -> list[Code]:
    """Every format, every direction, inverted codes too, at the input resolution."""
    hits = _zxing(img, _ALL, bounds=img.shape, try_rotate=True, try_downscale=True, try_invert=True)
    return [hit.code for hit in hits]


_RETRY_SCALES = (1.0, 0.75, 1.5, 0.5)
_RETRY_BINARIZERS = ("FixedThreshold", "GlobalHistogram", "LocalAverage")


def _retry_region(img: np.ndarray, box: Box) -> list[Code]:
    """Decode one suspicious region cropped from the input image with other binarizers and at other scales."""
    x, y, w, h = box
    pad = max(16, int(0.15 * max(w, h)))
    x0, y0 = max(0, x - pad), max(0, y - pad)
    crop = np.ascontiguousarray(img[y0:y + h + pad, x0:x + w + pad])
    if min(crop.shape) < 8:
        return []
    for factor in _RETRY_SCALES:
        view = crop if factor == 1.0 else cv2.resize(
            crop, (0, 0), fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
        for name in _RETRY_BINARIZERS:
            if name == "LocalAverage" and factor == 1.0:
                continue  # the default binarizer at this scale was the full pass
            hits = _zxing(view, _ALL, scale=factor, offset=(x0, y0), bounds=img.shape, try_rotate=True,
                          try_downscale=False, try_invert=False, binarizer=getattr(zxingcpp.Binarizer, name))
            if hits:
                return [hit.code for hit in hits]
    return []


def find_separator(codes: Iterable[Code]) -> Separator | None:
    """The separator meant by a page's codes: our QR payload wins over a plain Patch-T; None if there is none."""
    patch_t = None
    for code in codes:
        separator = parse_separator_text(code.text)
        if separator is None:
            continue
        if not separator.is_patch_t:
            return separator
        if patch_t is None:
            patch_t = separator
    return patch_t
