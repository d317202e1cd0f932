"""Page preprocessing before OCR: crop scanner borders, spot blank backsides, turn sideways pages and deskew (OpenCV).

Apart from to_gray, every function takes and returns a greyscale page as a 2-D ``uint8`` array (0 = black,
255 = white). The analysis runs on a copy reduced to about 150 dpi (the *work image*); only the final rotation
and deskew touch the full page. Physical sizes are derived from the page width, assumed to be about 210 mm (A4;
US letter is within 3 %).

Angle conventions: ``estimate_skew`` returns the angle to rotate by, in degrees, positive = counter-clockwise as in
``cv2.getRotationMatrix2D``; ``deskew(gray, estimate_skew(gray))`` straightens the page. ``rotate`` and
``Prepared.rotation`` count clockwise quarter turns in degrees.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAGE_WIDTH_MM = 210.0             # short side of the page the size thresholds assume
WORK_LONG_SIDE = 1754             # work image long side in pixels: A4 at 150 dpi

# Ink for skew and orientation: Otsu, but never lighter than paper minus INK_CONTRAST (keeps noise out on
# almost empty pages).
INK_CONTRAST = 40                 # grey levels (of 255) an ink pixel is darker than the paper
MIN_INK_PIXELS = 400              # fewer ink pixels in the work image: no skew or orientation is estimated
COARSE_STEP = 0.5                 # degrees
FINE_STEP = 0.05                  # degrees; the peak is refined by a least-squares parabola over +-FIT_STEPS
FIT_STEPS = 3
COARSE_SAMPLE = 40_000            # ink pixels (evenly spaced) the coarse search and the orientation use at most
FINE_SAMPLE = 60_000              # ink pixels the fine search uses at most (more cost time, gain < 0.01 degrees)
QUARTER_TURN_RATIO = 1.3          # columns must be this much more modulated than rows to call a page sideways
MIN_SPAN = 0.1                    # of the page's long side: shortest span a profile's modulation is averaged over
MAX_SKEW = 5.0                    # degrees searched either way by default
MIN_PEAK = 1.05                   # best coarse score over the median one below which a page has no line direction
MIN_DESKEW = 0.1                  # degrees; smaller skews are left alone (4 px drift across A4 at 300 dpi)

# Dark scanner borders: an edge row or column whose mean grey is below BORDER_LEVEL x the page's median column
# (row) mean belongs to the border; the border is the unbroken run of such lines from the edge inwards. On white
# paper that is a mean under ~95: black or dark grey backing; a line through text would need ~2/3 of it inked.
BORDER_LEVEL = 0.4

# Blank pages (duplex backsides), judged on the work image with a band of BLANK_MARGIN_MM along every edge left
# out (edge shadows, staples). A page whose median grey is below BLANK_MIN_PAPER is mostly dark (a photo, a
# dark print) and never blank. Ink = darker than the median paper grey by BLANK_CONTRAST levels: scanner noise and
# faint show-through stay above that. The ink is then halved (a pixel inked if any of four was) and cut into
# connected components, which are discounted as
#   specks: under SPECK_MM in both directions, or under SPECK_AREA_MM2 (dust, toner dots, noise);
#   blobs: solid (>= BLOB_FILL of their box), roundish and over BLOB_MM (punch holes, dark spots).
# The page has content (is not blank) if a remaining component is longer than STROKE_MM (a signature, a rule,
# a word), or if components whose centres lie within LINE_GAP_MM across and LINE_HEIGHT_MM down of one of them
# (characters or words on a line) are together at least LINE_MM wide: "第 3 页" or "Page 3" are, one character
# or a few scattered specks are not. Over MANY_COMPONENTS remaining components are content whatever their layout.
# Errors lean towards keeping a page.
BLANK_MARGIN_MM = 8.0
BLANK_MIN_PAPER = 128
BLANK_CONTRAST = 40
SPECK_MM = 1.2
SPECK_AREA_MM2 = 0.25
BLOB_MM = 4.5
BLOB_FILL = 0.65
STROKE_MM = 8.0
LINE_MM = 6.0
LINE_GAP_MM = 12.0
LINE_HEIGHT_MM = 4.0
MANY_COMPONENTS = 100


@dataclass(frozen=True, eq=False)
class Prepared:
    """A page ready for OCR and a record of what was done to it."""
    image: np.ndarray
    rotation: int                         # clockwise degrees the page was turned: 0 or 90 (see detect_quarter_turn)
    skew: float                           # degrees rotated counter-clockwise by deskew (0.0 when not applied)
    blank: bool
    crop: tuple[int, int, int, int] | None  # (left, top, right, bottom) kept from the input, right/bottom exclusive
    steps: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class _Ink:
    """Ink pixels of the work image, centred on the page centre, with sub-pixel jitter against binning artefacts."""
    xs: np.ndarray
    ys: np.ndarray
    bins: int                             # profile length that holds every rotation of the points
    min_span: float                       # see _modulation

    def turned(self) -> _Ink:
        """The same ink after a clockwise quarter turn of the page."""
        return _Ink(-self.ys, self.xs, self.bins, self.min_span)

    def sample(self, limit: int) -> _Ink:
        step = max(1, len(self.xs) // limit)
        return _Ink(self.xs[::step], self.ys[::step], self.bins, self.min_span)


# --- conversions -----------------------------------------------------------------------------------------------

def to_gray(image: np.ndarray) -> np.ndarray:
    """Greyscale uint8 from a bool (1-bit), L, LA, RGB or RGBA array; alpha is laid over white.

    uint16 samples are taken as full 16-bit range (the top 8 bits are kept). Palette images must be converted to
    RGB(A) by the reader first.
    """
    image = np.asarray(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a bool, uint8 or uint16 image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected H x W or H x W x 1..4 pixels, got shape {image.shape}")
    channels = image.shape[2]
    gray = image[:, :, 0] if channels <= 2 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    if channels in (2, 4):
        gray = _over_white(gray, image[:, :, -1])
    return np.ascontiguousarray(gray)


def _over_white(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.uint16)
    return ((gray.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def rotate(gray: np.ndarray, degrees_clockwise: int) -> np.ndarray:
    """Turn the page by a multiple of 90 degrees clockwise, losslessly."""
    if degrees_clockwise % 90:
        raise ValueError(f"rotate takes multiples of 90 degrees, got {degrees_clockwise}")
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    turn = degrees_clockwise % 360
    return gray if turn == 0 else cv2.rotate(gray, codes[turn])


def deskew(gray: np.ndarray, angle: float) -> np.ndarray:
    """Rotate by ``angle`` degrees counter-clockwise about the centre; same size, uncovered corners white.
    Works on greyscale and on colour (H x W x 3) pages alike."""
    height, width = gray.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), angle, 1.0)
    white = (255, 255, 255) if gray.ndim == 3 else 255
    return cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=white)


def smoothed(gray: np.ndarray, sigma: float) -> np.ndarray:
    """The page blurred by a Gaussian of ``sigma`` pixels: scanner noise and JPEG ringing taken off stroke edges
    before a page is cut to two levels (see ocr.pageimage)."""
    return cv2.GaussianBlur(gray, (0, 0), sigma)


# --- the work image ------------------------------------------------------------------------------------------

def _work_image(gray: np.ndarray) -> np.ndarray:
    """The page reduced by a whole factor to about 150 dpi (whole factors take OpenCV's fast area path)."""
    factor = max(1, round(max(gray.shape) / WORK_LONG_SIDE))
    if factor == 1:
        return gray
    height, width = gray.shape[0] // factor, gray.shape[1] // factor
    trimmed = gray[:height * factor, :width * factor]
    return cv2.resize(trimmed, (width, height), interpolation=cv2.INTER_AREA)


def _grey_sample(work: np.ndarray) -> np.ndarray:
    """Every 4th pixel of every 4th row: enough for the grey-level statistics, at 1/16 of the cost."""
    return np.ascontiguousarray(work[::4, ::4])


def _paper_level(work: np.ndarray) -> int:
    """Median grey of the page: the paper, on anything but a page covered in ink."""
    sample = _grey_sample(work)
    histogram = cv2.calcHist([sample], [0], None, [256], [0, 256]).ravel()
    return int(np.searchsorted(np.cumsum(histogram), sample.size / 2))


def _ink_level(work: np.ndarray) -> int:
    """Grey below which a pixel is ink: Otsu's split, but at least INK_CONTRAST darker than the paper."""
    otsu, _ = cv2.threshold(_grey_sample(work), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return min(int(otsu) + 1, _paper_level(work) - INK_CONTRAST)   # Otsu's dark class is <= its threshold


def _px_per_mm(work: np.ndarray) -> float:
    return min(work.shape) / PAGE_WIDTH_MM


# --- blank pages ---------------------------------------------------------------------------------------------

def is_blank(gray: np.ndarray) -> bool:
    """True for an empty page: paper with scanner noise, specks, punch holes or faint show-through only."""
    return _is_blank_work(_work_image(gray))


def _is_blank_work(work: np.ndarray) -> bool:
    paper = _paper_level(work)
    if paper < BLANK_MIN_PAPER:
        return False
    mask = _blank_ink_mask(work, paper)
    if not cv2.countNonZero(mask):
        return True
    return not _has_content(_pool(mask), _px_per_mm(work) / 2)


def _blank_ink_mask(work: np.ndarray, paper: int) -> np.ndarray:
    """Pixels clearly darker than the paper, with a band along the edges left out."""
    mask = cv2.compare(work, paper - BLANK_CONTRAST, cv2.CMP_LT)
    band = max(1, round(BLANK_MARGIN_MM * _px_per_mm(work)))
    mask[:band] = 0
    mask[-band:] = 0
    mask[:, :band] = 0
    mask[:, -band:] = 0
    return mask


def _pool(mask: np.ndarray) -> np.ndarray:
    """The mask at half size, a pixel set where any of its four was: thin strokes survive, components cost 1/4."""
    height, width = mask.shape[0] // 2, mask.shape[1] // 2
    halved = cv2.resize(mask[:2 * height, :2 * width], (width, height), interpolation=cv2.INTER_AREA)
    return cv2.compare(halved, 0, cv2.CMP_GT)


def _has_content(mask: np.ndarray, px_per_mm: float) -> bool:
    """A long stroke, or text-sized components side by side over LINE_MM, once specks and blobs are discounted."""
    left, top, width, height = cv2.boundingRect(mask)
    _, _, stats, centres = cv2.connectedComponentsWithStats(mask[top:top + height, left:left + width])
    widths, heights, areas = (stats[1:, i] for i in (cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    longest, shortest = np.maximum(widths, heights), np.minimum(widths, heights)
    specks = (longest < SPECK_MM * px_per_mm) | (areas < SPECK_AREA_MM2 * px_per_mm ** 2)
    blobs = (longest > BLOB_MM * px_per_mm) & (areas >= BLOB_FILL * widths * heights) & (shortest > 0.7 * longest)
    kept = ~specks & ~blobs
    if kept.sum() > MANY_COMPONENTS or (longest[kept] >= STROKE_MM * px_per_mm).any():
        return True
    return _longest_run_mm(centres[1:][kept] / px_per_mm, widths[kept] / px_per_mm) >= LINE_MM


def _longest_run_mm(centres: np.ndarray, widths: np.ndarray) -> float:
    """Widest run of components side by side like characters or words on a line: their summed widths in mm."""
    if not len(widths):
        return 0.0
    across = np.abs(centres[:, None, 0] - centres[None, :, 0]) <= LINE_GAP_MM
    down = np.abs(centres[:, None, 1] - centres[None, :, 1]) <= LINE_HEIGHT_MM
    return float(((across & down) @ widths).max())


# --- borders -------------------------------------------------------------------------------------------------

def crop_borders(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Cut dark scanner borders and black bands off the edges; returns the page and (left, top, right, bottom).

    Only whole rows and columns that are mostly dark, in an unbroken run from an edge, are removed, so a row or
    column with text on paper is never cut. The box is None (and the page returned as is) when nothing was dark.
    """
    columns = cv2.reduce(gray, 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    rows = cv2.reduce(gray, 1, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    left, right = _paper_span(columns)
    top, bottom = _paper_span(rows)
    if (left, top, right, bottom) == (0, 0, gray.shape[1], gray.shape[0]) or right <= left or bottom <= top:
        return gray, None
    return gray[top:bottom, left:right], (left, top, right, bottom)


def _paper_span(means: np.ndarray) -> tuple[int, int]:
    """First and one-past-last line that is not part of a dark edge band."""
    paper = means >= BORDER_LEVEL * float(np.median(means))
    if not paper.any():
        return 0, len(means)
    return int(np.argmax(paper)), len(means) - int(np.argmax(paper[::-1]))


# --- skew and orientation ------------------------------------------------------------------------------------

def estimate_skew(gray: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """Angle in degrees (positive = counter-clockwise) that makes the text lines horizontal; 0.0 without ink.

    Projection profiles: the ink pixels of the work image are rotated by candidate angles (only their
    coordinates, binned into rows) and the angle whose row profile has the largest sum of squares wins, first in
    COARSE_STEP steps, then in FINE_STEP steps around the best one with a parabola fitted to the peak. Assumes
    the lines run roughly across the page: call detect_quarter_turn first for pages that may be sideways.
    """
    ink = _ink(_work_image(gray))
    coarse = None if ink is None else _coarse_angle(ink.sample(COARSE_SAMPLE), max_angle)
    return 0.0 if coarse is None else _fine_angle(ink.sample(FINE_SAMPLE), coarse, max_angle)


def detect_quarter_turn(gray: np.ndarray) -> int:
    """90 when the text lines run down the page (scanned sideways), else 0.

    Text lines make the row profile of a page strongly modulated (lines and gaps), the column profile much less;
    a sideways page shows it the other way round. Both are compared at their best skew. Which way up the page is
    (90 vs 270, 0 vs 180) cannot be told from profiles: the OCR stage decides that by comparing tesseract's
    confidence on the page and on the page turned by 180 degrees.
    """
    ink = _ink(_work_image(gray))
    return 0 if ink is None else _orient(ink.sample(COARSE_SAMPLE), MAX_SKEW)[0]


def _ink(work: np.ndarray) -> _Ink | None:
    """Ink pixels of the work image (Otsu, capped at paper minus INK_CONTRAST); None for a page without ink."""
    points = cv2.findNonZero(cv2.compare(work, _ink_level(work), cv2.CMP_LT))
    if points is None or len(points) < MIN_INK_PIXELS:
        return None
    height, width = work.shape
    xy = points.reshape(-1, 2).astype(np.float32)
    jitter = _jitter(len(xy))
    xs = xy[:, 0] - np.float32(width / 2) + jitter
    ys = xy[:, 1] - np.float32(height / 2) + jitter[::-1]
    return _Ink(xs, ys, int(np.hypot(width, height)) + 3, MIN_SPAN * max(width, height))


def _jitter(count: int) -> np.ndarray:
    """Evenly spread offsets in [-0.5, 0.5) (golden-ratio sequence): dithers the binning of rotated coordinates."""
    sequence = np.arange(count, dtype=np.uint32) * np.uint32(0x9E3779B9) >> np.uint32(8)
    return sequence.astype(np.float32) * np.float32(2.0 ** -24) - np.float32(0.5)


def _profile(ink: _Ink, angle: float) -> np.ndarray:
    """Row profile (ink pixels per row) of the ink rotated by ``angle`` degrees counter-clockwise."""
    theta = np.deg2rad(angle)
    rotated_y = ink.ys * np.float32(np.cos(theta)) - ink.xs * np.float32(np.sin(theta))
    rotated_y += np.float32(ink.bins / 2)
    return np.bincount(rotated_y.astype(np.intp), minlength=ink.bins).astype(np.float64)


def _profile_score(ink: _Ink, angle: float) -> float:
    profile = _profile(ink, angle)
    return float(profile @ profile)


def _scores(ink: _Ink, angles: np.ndarray) -> np.ndarray:
    return np.array([_profile_score(ink, angle) for angle in angles])


def _coarse_angle(ink: _Ink, max_angle: float) -> float | None:
    """Best angle on the coarse grid; None when none stands out (no text lines: a photo, a drawing)."""
    steps = int(np.ceil(max_angle / COARSE_STEP))
    angles = np.linspace(-steps * COARSE_STEP, steps * COARSE_STEP, 2 * steps + 1)
    scores = _scores(ink, angles)
    if scores.max() < MIN_PEAK * np.median(scores):
        return None
    return float(angles[int(np.argmax(scores))])


def _fine_angle(ink: _Ink, around: float, max_angle: float) -> float:
    """Best angle within one coarse step of ``around``, to a fraction of FINE_STEP; 0.0 if not within the limit."""
    count = round(COARSE_STEP / FINE_STEP)
    angles = around + FINE_STEP * np.arange(-count, count + 1)
    scores = _scores(ink, angles)
    best = int(np.argmax(scores))
    angle = round(float(angles[best]) + _peak_offset(scores, best), 2)
    return angle if abs(angle) < max_angle else 0.0      # a peak on the limit lies beyond it, or is no peak


def _peak_offset(scores: np.ndarray, best: int) -> float:
    """Sub-step position of the maximum: vertex of a parabola fitted over +-FIT_STEPS around ``best``."""
    if best < FIT_STEPS or best >= len(scores) - FIT_STEPS:
        return 0.0
    window = scores[best - FIT_STEPS:best + FIT_STEPS + 1] / scores[best]
    curve, slope, _ = np.polyfit(np.arange(-FIT_STEPS, FIT_STEPS + 1), window, 2)
    if curve >= 0:
        return 0.0
    return float(np.clip(-slope / (2 * curve), -FIT_STEPS, FIT_STEPS)) * FINE_STEP


def _modulation(ink: _Ink, angle: float) -> float:
    """How strongly the row profile at ``angle`` is modulated: its mean square over its squared mean.

    The mean is taken over the rows between the 1st and 99th percentile of the ink, but over at least
    ``ink.min_span`` rows. Evenly spread ink scores 1, a block of text lines about 2 (line pitch over line height);
    the floor lets a page with one or two lines score high for rows rather than for their short inked span.
    """
    profile = _profile(ink, angle)
    total = float(profile.sum())
    low, high = np.searchsorted(np.cumsum(profile), [0.01 * total, 0.99 * total])
    return float(profile @ profile) * max(float(high - low + 1), ink.min_span) / total ** 2


def _orient(ink: _Ink, max_angle: float) -> tuple[int, float | None]:
    """Quarter turn of the page (0 or 90) and its coarse skew once turned (skew and quarter turns commute)."""
    rows = _coarse_angle(ink, max_angle)
    turned = ink.turned()
    columns = _coarse_angle(turned, max_angle)
    if columns is not None and _modulation(turned, columns) > QUARTER_TURN_RATIO * _modulation(ink, rows or 0.0):
        return 90, columns
    return 0, rows


# --- the whole step ------------------------------------------------------------------------------------------

def prepare(gray: np.ndarray, *, deskew: bool = True, crop: bool = True, orientation: bool = True,
            max_skew: float = MAX_SKEW) -> Prepared:
    """Crop borders, stop at a blank page, turn a sideways page a quarter clockwise, deskew (up to ``max_skew``).

    A blank page is returned as cropped, without turning or deskewing. ``steps`` lists what was done, in order.
    Whether the result is upside down is left to the OCR stage (see detect_quarter_turn).
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"prepare takes a 2-D uint8 greyscale page (see to_gray), got {gray.dtype} {gray.shape}")
    page, box = crop_borders(gray) if crop else (gray, None)
    cropped = () if box is None else ("crop {},{},{},{}".format(*box),)
    work = _work_image(page)
    if _is_blank_work(work):
        return Prepared(page, 0, 0.0, True, box, (*cropped, "blank"))
    turn, angle = _layout(work, orientation=orientation, deskew=deskew, max_skew=max_skew)
    page, done = _turn_and_straighten(page, turn, angle)
    return Prepared(page, turn, angle, False, box, (*cropped, *done))


def apply_geometry(image: np.ndarray, prepared: Prepared) -> np.ndarray:
    """The same crop, quarter turn and deskew that ``prepare`` gave the greyscale page, applied to another copy of
    it (the colour image that is kept in the dossier)."""
    if prepared.crop is not None:
        left, top, right, bottom = prepared.crop
        image = image[top:bottom, left:right]
    if prepared.blank:
        return image
    return _turn_and_straighten(image, prepared.rotation, prepared.skew)[0]


def _layout(work: np.ndarray, *, orientation: bool, deskew: bool, max_skew: float) -> tuple[int, float]:
    """Quarter turn and skew correction for a page, from its work image; 0 for what was not asked or not found."""
    ink = _ink(work) if orientation or deskew else None
    if ink is None:
        return 0, 0.0
    sample = ink.sample(COARSE_SAMPLE)
    turn, coarse = _orient(sample, max_skew) if orientation else (0, _coarse_angle(sample, max_skew))
    if not deskew or coarse is None:
        return turn, 0.0
    angle = _fine_angle((ink.turned() if turn else ink).sample(FINE_SAMPLE), coarse, max_skew)
    return turn, angle if abs(angle) >= MIN_DESKEW else 0.0


def _turn_and_straighten(page: np.ndarray, turn: int, angle: float) -> tuple[np.ndarray, tuple[str, ...]]:
    steps = ()
    if turn:
        page, steps = rotate(page, turn), (*steps, f"rotate {turn}")
    if angle:
        page, steps = deskew(page, angle), (*steps, f"deskew {angle:.2f}")
    return page, steps


# --- perceptual fingerprint --------------------------------------------------------------------------------------

FINGERPRINT_GRID = 16
_FINGERPRINT_WIDTH = 600             # pixels across the page before the grid is laid: enough for line layout


def fingerprint(gray: np.ndarray) -> str:
    """A perceptual fingerprint of a page's ink layout, as 64 hex digits: one bit per cell of a 16 × 16 grid laid
    over the inked area, set where the cell holds more ink than the median cell. Two scans of one sheet (other
    bytes, shifted, noisier, a slight skew already corrected) differ in few bits; different pages in many."""
    work = to_gray(gray)
    scale = _FINGERPRINT_WIDTH / max(1, work.shape[1])
    small = cv2.resize(work, (_FINGERPRINT_WIDTH, max(1, round(work.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return "0" * (FINGERPRINT_GRID * FINGERPRINT_GRID // 4)
    left, right = np.percentile(xs, (0.5, 99.5)).astype(int)
    top, bottom = np.percentile(ys, (0.5, 99.5)).astype(int)
    area = ink[top:bottom + 1, left:right + 1].astype(np.float32)
    cells = cv2.resize(area, (FINGERPRINT_GRID, FINGERPRINT_GRID), interpolation=cv2.INTER_AREA)
    return np.packbits(cells > np.median(cells)).tobytes().hex()


def fingerprint_distance(a: str, b: str) -> float:
    """The share of fingerprint bits that differ (0 the same layout, about 0.5 unrelated), the page turned
    upside down in one of the scans included."""
    bits_a, bits_b = _bits(a), _bits(b)
    return min(float(np.mean(bits_a != bits_b)), float(np.mean(bits_a != bits_b[::-1, ::-1])))


def _bits(text: str) -> np.ndarray:
    packed = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    return np.unpackbits(packed).reshape(FINGERPRINT_GRID, FINGERPRINT_GRID)
