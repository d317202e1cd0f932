"""The reading copy of a page: what the OCR engine is shown instead of the page as kept. Red seals and stamps are
dropped by colour, seals scanned grey by their lighter ink inside their ring; the paper is evened (uneven paper, a
copy's shading, an ID card's grey ground), a photocopy's toner specks and table rules are removed. The dossier
keeps the page as scanned (ingest.digitise makes the searchable page over it).

Each treatment takes a greyscale page (2-D uint8, 0 = black) and returns the changed page, or None when it found
nothing to do, so that a page it does not concern is read as before. Measured on synthetic court paper of the
kinds tesseract reads worst (synth/courtpaper.py), on the OCR benchmark's pages and on the shared real samples;
tests/test_ocr_kinds.py holds the rates.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from ocr import pageimage, pdfpage, tesseract
from ocr.engine import OcrPage
from ocr.pageimage import ImageOptions

MIN_PAGE_MM = 25.0                # smaller either way: a snippet, not a page

# Red seal dropout. Red ink reflects red light: in the red channel a seal is nearly paper while black print,
# even under the seal, stays black (a scanner's "red dropout"). Pixels whose red exceeds both other channels by
# RED_MARGIN or more are red; light in the red channel they are seal ink and become paper, dark they are print
# under the seal and keep their red channel's grey. A page is treated when at least RED_MIN_SHARE of it is red,
# and only its stamp-shaped red is dropped.
RED_MARGIN = 40                   # of 255: what JPEG chroma noise and tinted paper stay well under
RED_LIGHT = 140                   # red channel from which a red pixel is seal ink over paper: it becomes paper
RED_MIN_SHARE = 0.0005            # of the page (a seal 42 mm across inks about 0.5 % of A4)
STAMP_JOIN_MM = 2.0               # red blots this close belong to one stamp
STAMP_MIN_MM = 12.0               # a seal is 38–58 mm across, a received stamp about 20 × 60 mm
STAMP_MAX_ASPECT = 3.5            # a red head's line of large print is far longer than high

# Uneven paper: the page divided by its paper tone (as ocr.pageimage does to judge a page) before anything else is
# judged on it. A page whose paper tone is WHITE_PAPER or lighter everywhere is left alone.
WHITE_PAPER = 250

# Grey seals (a red seal scanned in grey or photocopied): circles SEAL_RADII_MM in radius found by a Hough
# transform on a SEAL_WORK_DPI copy, kept when their ring is inked in SEAL_RING_SHARE of all directions and that
# share falls by SEAL_RING_CONTRAST SEAL_OUTSIDE_MM outside it (text lines ink any circle in about half).
SEAL_RADII_MM = (15.0, 30.0)      # court seals are 38–58 mm across
SEAL_WORK_DPI = 75
SEAL_CANDIDATES = 8
SEAL_RING_MM = 0.6                # the ring is looked for within this of the circle found
SEAL_RING_SHARE = 0.85
SEAL_OUTSIDE_MM = 2.5
SEAL_RING_CONTRAST = 0.3
SEAL_MARGIN_MM = 2.5              # the disc cleared reaches this far beyond the ring (the circle found is ±1 mm)
SEAL_MIN_CONTRAST = 30            # grey levels the seal's ink must be lighter than the text's

# Toner specks: tesseract takes a scatter of dots for text and loses the lines around them. The full stops, commas
# and colons of 14-pt print are larger than SPECK_MM2 (removing every smaller blot from clean pages changed no
# character read). Smaller print's dots (a decimal point, the stops of a date: 2016.01.16) are as small as specks but
# sit inside a line, with print on both sides within SPECK_BETWEEN_MM: those stay (removed, an ID card's validity
# dates read 20160116-20260116).
SPECK_MM2 = 0.28                  # 39 pixels at 300 dpi
SPECK_ALONE_MM = 2.5
SPECK_MIN_COUNT = 20
SPECK_BETWEEN_MM = 1.5
SPECK_LONG_MM = 1.0               # a blot as long as this is a stroke (the 1 of small print), not a speck

# Ruling lines: ink runs longer than any character stroke, found by a morphological opening with a long thin
# kernel, then painted over with paper (the ink they cross keeps its other pixels).
RULE_H_MM = 18.0                  # a title's widest stroke at 130 px is about 10 mm
RULE_V_MM = 12.0                  # a title's tallest stroke about 9 mm; a table row is 9 mm or more
RULE_MAX_MM = 1.0                 # rules are 0.2–0.6 mm thick; a run thicker on average is part of large print
RULE_CORNER_MM = 8.0              # a rounded corner (an ID card's is 3 mm, a form's box up to 5 mm) spans less
RULE_GROW_PX = 1                  # the mask grown by this much at 300 dpi, to take the rule's soft edge too
RULE_MIN_COUNT = 2                # fewer long lines than this: the page has no ruling worth removing


@dataclass(frozen=True, eq=False)
class Reading:
    """The page to read and what was done to make it."""
    image: np.ndarray
    steps: tuple[str, ...]


def reading_copy(gray: np.ndarray, colour: np.ndarray | None, dpi: int) -> Reading:
    """The greyscale page as OCR should see it (`colour`: the same page in colour, when it was scanned so); each
    treatment that changed something is named in `steps`. A snippet smaller than MIN_PAGE_MM either way (a line
    cut out of a page) is read as it is: the treatments judge a page."""
    if colour is not None and colour.shape != (*gray.shape, 3):
        raise ValueError(f"reading_copy takes the colour page as RGB of the grey page's size, got {colour.shape} "
                         f"for {gray.shape}")
    image, steps = gray, ()
    if min(gray.shape[:2]) < MIN_PAGE_MM * dpi / 25.4:
        return Reading(image, steps)
    red = None if colour is None else drop_red(image, colour, dpi)
    if red is not None:
        image, steps = red, steps + ("red seal dropped for reading",)
    even = even_ground(image, dpi)
    if even is not None:
        image, steps = even, steps + ("paper evened for reading",)
    grey = None if red is not None else drop_grey_seals(image, dpi)
    if grey is not None:
        image, steps = grey[0], steps + (f"grey seal dropped for reading: {grey[1]}",)
    specks = remove_specks(image, dpi)
    if specks is not None:
        image, steps = specks[0], steps + (f"specks removed for reading: {specks[1]}",)
    unruled = remove_rules(image, dpi)
    if unruled is not None:
        image, steps = unruled[0], steps + (f"ruling lines removed for reading: {unruled[1]}",)
    return Reading(image, steps)


# --- red seals --------------------------------------------------------------------------------------------------

def redness(colour: np.ndarray) -> np.ndarray:
    """How much a pixel's red exceeds its green and blue (int16; <= 0 for grey, black and blue ink)."""
    rgb = colour.astype(np.int16)
    return rgb[:, :, 0] - np.maximum(rgb[:, :, 1], rgb[:, :, 2])


def drop_red(gray: np.ndarray, colour: np.ndarray, dpi: int) -> np.ndarray | None:
    """The page with the red ink of its seals and stamps turned to paper (None when it has none). Red print that
    is not stamp-shaped (the red head of an official letter, a red rule) is left to be read. Where red ink lies
    over black print, or JPEG smeared the seal's colour onto a stroke beside it, the red channel is dark: that
    pixel is read from it, and the print stays."""
    red = redness(colour) >= RED_MARGIN
    if red.mean() < RED_MIN_SHARE:
        return None
    seal = red & _stamp_shaped(red, dpi)
    if not seal.any():
        return None
    channel = colour[:, :, 0]
    out = gray.copy()
    out[seal] = np.where(channel[seal] >= RED_LIGHT, np.uint8(_paper(gray)), np.maximum(gray[seal], channel[seal]))
    return out


def _stamp_shaped(red: np.ndarray, dpi: int) -> np.ndarray:
    """Where the red forms stamps: its blots joined within STAMP_JOIN_MM (a ring, its star and its lettering are
    one), each at least STAMP_MIN_MM across both ways and at most STAMP_MAX_ASPECT times as long as high."""
    factor = max(1, round(dpi / SEAL_WORK_DPI))
    small = cv2.resize(red.view(np.uint8) * np.uint8(255), (red.shape[1] // factor, red.shape[0] // factor),
                       interpolation=cv2.INTER_AREA) > 0
    per_mm = dpi / factor / 25.4
    join = max(1, round(STAMP_JOIN_MM * per_mm))
    joined = cv2.dilate(small.view(np.uint8), np.ones((2 * join + 1, 2 * join + 1), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    width, height = stats[:, cv2.CC_STAT_WIDTH] - 2 * join, stats[:, cv2.CC_STAT_HEIGHT] - 2 * join
    shaped = (np.minimum(width, height) >= STAMP_MIN_MM * per_mm) & \
        (np.maximum(width, height) <= STAMP_MAX_ASPECT * np.maximum(np.minimum(width, height), 1))
    shaped[0] = False
    area = cv2.resize(shaped[labels].view(np.uint8), (red.shape[1], red.shape[0]), interpolation=cv2.INTER_NEAREST)
    return area > 0


def _paper(gray: np.ndarray) -> int:
    """Median grey of the page: the paper tone."""
    return int(np.median(gray[::8, ::8]))


# --- grey seals ---------------------------------------------------------------------------------------------------

def drop_grey_seals(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, int] | None:
    """The page with round seals printed lighter than the text (a red seal scanned in grey or photocopied) turned
    to paper inside their ring, and how many; None when there is none. A seal is a circle SEAL_RADII_MM across
    whose ring is inked nearly all round and stands out from what lies just outside it; inside it, what is lighter
    than half-way between the text's ink and the seal's goes."""
    ink = _ink_mask(gray)
    seals = [c for c in _circles(gray, dpi) if _is_ring(ink, c, dpi)]
    out, dropped = gray.copy(), 0
    for x, y, r in seals:
        if _clear_disc(out, gray, ink, (x, y, r), dpi):
            dropped += 1
    return (out, dropped) if dropped else None


def _circles(gray: np.ndarray, dpi: int) -> list[tuple[float, float, float]]:
    """Candidate circles of a seal's size (Hough), in page pixels, at most SEAL_CANDIDATES."""
    factor = max(1, round(dpi / SEAL_WORK_DPI))
    work = cv2.resize(gray, (gray.shape[1] // factor, gray.shape[0] // factor), interpolation=cv2.INTER_AREA)
    per_mm = dpi / factor / 25.4
    low, high = SEAL_RADII_MM
    found = cv2.HoughCircles(cv2.GaussianBlur(work, (0, 0), 1.5), cv2.HOUGH_GRADIENT, dp=2, minDist=2 * low * per_mm,
                             param1=60, param2=40, minRadius=round(low * per_mm), maxRadius=round(high * per_mm))
    if found is None:
        return []
    return [(x * factor, y * factor, r * factor) for x, y, r in found[0][:SEAL_CANDIDATES]]


def _ring_share(ink: np.ndarray, circle: tuple[float, float, float], radius: float, reach: float) -> float:
    """Share of directions in which there is ink within `reach` of `radius` from the circle's centre."""
    x, y, _ = circle
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    hits = np.zeros(len(angles), dtype=bool)
    for offset in np.arange(-reach, reach + 1, 1.0):
        xs = np.clip(np.round(x + (radius + offset) * np.cos(angles)).astype(int), 0, ink.shape[1] - 1)
        ys = np.clip(np.round(y + (radius + offset) * np.sin(angles)).astype(int), 0, ink.shape[0] - 1)
        hits |= ink[ys, xs] > 0
    return float(hits.mean())


def _is_ring(ink: np.ndarray, circle: tuple[float, float, float], dpi: int) -> bool:
    """The circle's ring is inked nearly all round, and the band just outside it far less."""
    per_mm = dpi / 25.4
    reach = SEAL_RING_MM * per_mm
    on = max(_ring_share(ink, circle, circle[2] + d * per_mm, reach) for d in (-1.0, -0.5, 0.0, 0.5))
    outside = _ring_share(ink, circle, circle[2] + SEAL_OUTSIDE_MM * per_mm, reach)
    return on >= SEAL_RING_SHARE and on - outside >= SEAL_RING_CONTRAST


def _clear_disc(out: np.ndarray, gray: np.ndarray, ink: np.ndarray, circle, dpi: int) -> bool:
    """Inside the circle, pixels lighter than half-way between the text's ink and the seal's ink become paper;
    False (nothing done) when the seal is not lighter than the text by SEAL_MIN_CONTRAST."""
    x, y, r = circle
    r += SEAL_MARGIN_MM * dpi / 25.4
    top, bottom = max(0, int(y - r)), min(gray.shape[0], int(y + r) + 1)
    left, right = max(0, int(x - r)), min(gray.shape[1], int(x + r) + 1)
    yy, xx = np.ogrid[top:bottom, left:right]
    disc = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    inked = ink[top:bottom, left:right] > 0
    outside = ink[::4, ::4].copy()
    outside[top // 4:bottom // 4 + 1, left // 4:right // 4 + 1] = 0
    text = np.percentile(gray[::4, ::4][outside > 0], 25) if outside.any() else 0
    seal = np.median(gray[top:bottom, left:right][disc & inked]) if (disc & inked).any() else 255
    if seal - text < SEAL_MIN_CONTRAST:
        return False
    split = (text + seal) / 2
    window = out[top:bottom, left:right]
    window[disc & (gray[top:bottom, left:right] >= split)] = _paper(gray)
    return True


# --- toner specks -------------------------------------------------------------------------------------------------

def remove_specks(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, int] | None:
    """The page with its specks (a photocopy's toner dots, dust) painted over with paper, and how many; None for a
    clean page. The page is specked when SPECK_MIN_COUNT of its blots under SPECK_MM2 have no other ink within
    SPECK_ALONE_MM (a clean page's punctuation always has); then every blot under SPECK_MM2 goes, but for one
    between two pieces of print on its line (a decimal point)."""
    ink = _ink_mask(gray)
    per_mm = dpi / 25.4
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    small = ((stats[:, cv2.CC_STAT_AREA] < SPECK_MM2 * per_mm ** 2)
             & (stats[:, [cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT]].max(axis=1) < SPECK_LONG_MM * per_mm))
    small[0] = False
    if small.sum() < SPECK_MIN_COUNT or _alone(ink, labels, small, SPECK_ALONE_MM * per_mm).sum() < SPECK_MIN_COUNT:
        return None
    specks = small & ~_between_print(labels, small, round(SPECK_BETWEEN_MM * per_mm))
    out = gray.copy()
    out[specks[labels]] = _paper(gray)
    return out, int(specks.sum())


def _between_print(labels: np.ndarray, small: np.ndarray, reach: int) -> np.ndarray:
    """Which of the `small` blots have larger ink within `reach` pixels both to their left and to their right, in
    the rows they occupy: a mark inside a line of print."""
    larger = ((labels > 0) & ~small[labels]).astype(np.uint8)
    width = reach + 1
    kernel = np.ones((1, width), np.uint8)
    to_right = cv2.dilate(larger, kernel, anchor=(0, 0))            # larger ink at x … x + reach
    to_left = cv2.dilate(larger, kernel, anchor=(width - 1, 0))     # larger ink at x − reach … x
    flanked = np.bincount(labels[(to_left & to_right) > 0], minlength=len(small)) > 0
    return small & flanked


def _alone(ink: np.ndarray, labels: np.ndarray, small: np.ndarray, distance: float) -> np.ndarray:
    """Which of the `small` blots have no other ink within `distance` pixels: each blot is grown by half of it,
    and a grown blot that meets no other holds only its own blot."""
    reach = max(1, round(distance / 2))
    grown = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    groups, grouped = cv2.connectedComponents(grown, connectivity=8)
    group_of = np.zeros(len(small), dtype=np.int64)
    group_of[labels.ravel()] = grouped.ravel()         # every pixel of a blot lies in the same group
    members = np.bincount(group_of[1:], minlength=groups)
    return small & (members[group_of] == 1)


# --- ruling lines -----------------------------------------------------------------------------------------------

def remove_rules(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, str] | None:
    """The page with long, thin horizontal and vertical lines painted over with paper, and the rounded corners
    where a horizontal and a vertical one nearly meet (a card's outline, a rounded box), and how many lines were
    found of each kind (None when there were fewer than RULE_MIN_COUNT)."""
    ink = _ink_mask(gray)
    per_mm = dpi / 25.4
    across, rows = _rules(ink, (round(RULE_H_MM * per_mm), 1), RULE_MAX_MM * per_mm)
    down, columns = _rules(ink, (1, round(RULE_V_MM * per_mm)), RULE_MAX_MM * per_mm)
    if len(rows) + len(columns) < RULE_MIN_COUNT:
        return None
    grow = max(1, round(RULE_GROW_PX * dpi / 300))
    mask = cv2.dilate(across | down, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    for left, top, right, bottom in _corners(rows, columns, RULE_CORNER_MM * per_mm):
        box = slice(max(0, top - grow), bottom + grow + 1), slice(max(0, left - grow), right + grow + 1)
        mask[box] |= _joined(ink[box], mask[box])
    out = gray.copy()
    out[mask > 0] = _paper(gray)
    return out, f"{len(rows)} horizontal, {len(columns)} vertical"


def _joined(ink: np.ndarray, rules: np.ndarray) -> np.ndarray:
    """The ink (255) that touches the rules: in a corner's box the arc that joins two rules, not the print beside it."""
    _, labels = cv2.connectedComponents(ink, connectivity=8)
    touching = np.unique(labels[(rules > 0) & (ink > 0)])
    return np.where(np.isin(labels, touching[touching > 0]), np.uint8(255), np.uint8(0))


def _ink_mask(gray: np.ndarray) -> np.ndarray:
    """Ink as 255: Otsu's split, but never lighter than the paper minus 40 levels."""
    otsu, _ = cv2.threshold(gray[::4, ::4], 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    level = min(int(otsu), _paper(gray) - 40)
    return cv2.compare(gray, level, cv2.CMP_LE)


def _rules(ink: np.ndarray, kernel: tuple[int, int], max_thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """Runs of ink at least `kernel` long (a morphological opening), as a mask, and their boxes (left, top, width,
    height); runs thicker on average than `max_thickness` pixels are the strokes of large print, not rules."""
    runs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel),
                            borderType=cv2.BORDER_CONSTANT, borderValue=0)   # beyond the page is paper
    if not cv2.countNonZero(runs):
        return runs, np.zeros((0, 4), dtype=np.int32)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    length = stats[:, cv2.CC_STAT_WIDTH] if kernel[0] > 1 else stats[:, cv2.CC_STAT_HEIGHT]
    thin = stats[:, cv2.CC_STAT_AREA] <= max_thickness * length
    thin[0] = False
    if thin[1:].all():
        return runs, stats[thin, :4]
    return np.where(thin[labels], np.uint8(255), np.uint8(0)), stats[thin, :4]


def _corners(rows: np.ndarray, columns: np.ndarray, reach: float) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) between the end of a horizontal line and the end of a vertical one less
    than `reach` apart both ways: where a rounded corner joins them."""
    ends_h = [(x, y + h // 2) for x0, y, w, h in rows for x in (x0, x0 + w - 1)]
    ends_v = [(x + w // 2, y) for x, y0, w, h in columns for y in (y0, y0 + h - 1)]
    return [(min(xh, xv), min(yh, yv), max(xh, xv), max(yh, yv)) for xh, yh in ends_h for xv, yv in ends_v
            if 0 < abs(xh - xv) < reach and 0 < abs(yh - yv) < reach]


# --- grey ground --------------------------------------------------------------------------------------------------

def even_ground(gray: np.ndarray, dpi: int) -> np.ndarray | None:
    """The page divided by the paper tone around each point (see ocr.pageimage.paper_tone): uneven paper, a
    copy's shading and an ID card's grey ground become white, the print on them keeps its contrast to them.
    None for a page whose paper is white all over (a bitonal scan): nothing to even."""
    tone = pageimage.paper_tone(gray, dpi)
    if np.asarray(tone).min() >= WHITE_PAPER:
        return None
    tone = tone.resize((gray.shape[1], gray.shape[0]), Image.Resampling.BILINEAR)
    return pageimage.normalised(gray, np.asarray(tone))


# --- the page kept under text read from a reading copy -------------------------------------------------------

def kept_under(read: OcrPage, page: np.ndarray, dpi: int, options: ImageOptions, two_level: bool = False) -> OcrPage:
    """`read` (text read from a reading copy, without a PDF) with its searchable PDF page made over `page`, the
    greyscale page as it is kept: what was dropped for reading stays in the dossier."""
    kept = pageimage.kept_image(page, dpi, options, two_level=two_level)
    pdf = pdfpage.searchable_page(kept, dpi, read.layout, tesseract.glyphless_font())
    return replace(read, pdf=pdf, engine={**read.engine, "image": kept.record})
