"""The page image kept under a searchable page's text: black-on-white pages as CCITT G4, grey and colour ones as JPEG.

A court keeps millions of pages, and most are printed text on white paper, where a two-level image holds what a
reader needs in a tenth to a thirtieth of a grey JPEG's bytes. Whether a grey page is such a page is measured,
not assumed:

* The paper is brought to white first (each pixel divided by the paper tone around it), so uneven paper, tint and
  scanner shading are not taken for content.
* The two-level image is the normalised page, lightly blurred (SMOOTH_MM: noise and JPEG ringing off the edges),
  cut half-way between its ink and the paper (strokes keep their width; faded print is cut lighter).
* What that image would lose are the mid-grey pixels (MID_GREY, between ink and paper) farther than EDGE_MM from
  any of its ink: the soft edges of strokes lie within that distance, a grey seal, a photograph or a pencil note
  does not. That share is taken over the greyest square inch of the page (at ANALYSIS_DPI), so one
  seal on a page of text counts as much as a page of seals.
* Below MAX_GREY_SHARE the page is kept two-level. Measured with benchmarks/size.py, either way up: the 11 text
  pages among the 20 benchmark pages (blur, noise, uneven paper, JPEG artefacts) score under 0.01 %; the 7 with a
  seal printed grey 7.4–8.4 %; the 2 ID-card photocopies 4.5–5.3 %; of the real scans, 300-dpi bitonal pages
  0.00–0.13 %, receipts, degraded print and photographed pages read in grey 11–96 %. The bound sits far above the
  first group and far below the others; a doubtful page stays grey.

A page that arrived two-level (a bitonal scan) is kept two-level whatever it scores, and cut without the blur:
deskewing only interpolated its edges (a 200-dpi form page with a speckled background scores 2.9 %).

Grey and colour pages are kept as JPEG at `jpeg_quality`, reduced to `jpeg_dpi` when finer (never below 200 dpi,
so small print stays legible at 100 %); colour is kept wherever the scan has colour (see ingest.pages.colour_of),
because a red seal must stay red. At quality 50 and 200 dpi the benchmark's grey pages take a quarter of their
bytes at quality 75 and 300 dpi, and read again as well against their ground truth (benchmarks/README.md).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, TiffImagePlugin

from ocr import preprocess
from ocr.types import KeptImage

PAPER_DPI = 20            # the paper tone is estimated on a copy this coarse ...
PAPER_WINDOW = 5          # ... as the lightest grey within this many of its pixels (6 mm), then smoothed
DARK_FLOOR = 0.6          # of the page's paper tone: darker "paper" is a dark area (a border, a photo), kept dark
INK_QUANTILE = 0.25       # of the dark class: the grey of the strokes' cores
SMOOTH_MM = 0.07          # blur before the cut (0.8 px at 300 dpi): smooth stroke edges, a fifth of a stroke
ANALYSIS_DPI = 150
MID_GREY = (64, 224)      # normalised levels (paper = 255) that are neither ink nor paper
EDGE_MM = 0.34            # mid-grey this close to the two-level image's ink is the soft edge of a stroke
MAX_GREY_SHARE = 0.005    # of the greyest square inch: up to this, the page is kept two-level
MIN_JPEG_DPI = 200


@dataclass(frozen=True)
class ImageOptions:
    bitonal: bool = True       # keep black-on-white pages two-level (CCITT G4); False keeps every page as JPEG
    jpeg_quality: int = 50
    jpeg_dpi: int = 200        # grey and colour images finer than this are reduced to it


def kept_image(gray: np.ndarray, dpi: int, options: ImageOptions, colour: np.ndarray | None = None,
               two_level: bool = False) -> KeptImage:
    """The image a page is kept as: `colour` (RGB, same geometry as `gray`) as colour JPEG when given; else the
    greyscale page two-level when it is black on white (or arrived two-level), else as grey JPEG."""
    if colour is not None:
        return jpeg_image(colour, dpi, options, "colour")
    if options.bitonal:
        ink, share = two_level_page(gray, dpi, smooth=not two_level)
        if two_level or share <= MAX_GREY_SHARE:
            return KeptImage("bitonal", g4_bytes(ink), ink.shape[1], ink.shape[0], dpi, None, share)
        return jpeg_image(gray, dpi, options, "grey", share)
    return jpeg_image(gray, dpi, options, "grey")


def is_two_level(gray: np.ndarray) -> bool:
    """True for a page whose every pixel is black or white (a bitonal scan)."""
    return not any(Image.fromarray(gray).histogram()[1:255])


# two-level pages -------------------------------------------------------------------------------------------------
def two_level_page(gray: np.ndarray, dpi: int, smooth: bool = True) -> tuple[np.ndarray, float]:
    """The page's ink (True = black) and the share of its greyest square inch that the ink cannot account for.
    Only the ANALYSIS_DPI copy is divided by the paper tone; at full resolution each pixel is compared with the
    paper tone scaled to the ink threshold instead (the same test without a division per pixel). `smooth`: the
    page is blurred by SMOOTH_MM before it is cut, so that scanner noise and JPEG artefacts do not leave ragged
    stroke edges (a page that arrived two-level is cut as it is)."""
    factor = max(1, round(dpi / ANALYSIS_DPI))
    small = _reduced(gray, factor)
    paper = paper_tone(small, dpi / factor)
    paper_small = paper.resize((small.shape[1], small.shape[0]), Image.Resampling.BILINEAR)
    normal = normalised(small, np.asarray(paper_small))
    threshold = ink_threshold(normal)
    cut = paper_small.point(lambda level: round(level * threshold / 255))
    ink = preprocess.smoothed(gray, SMOOTH_MM * dpi / 25.4) if smooth else gray
    ink = ink < np.asarray(cut.resize((gray.shape[1], gray.shape[0]), Image.Resampling.NEAREST))
    inked = _reduced(ink.view(np.uint8) * np.uint8(255), factor) > 0
    return ink, greyest_inch(normal, inked, dpi / factor)


def paper_tone(gray: np.ndarray, dpi: float) -> Image.Image:
    """The paper's grey around every point, on a copy PAPER_DPI coarse: the lightest grey within a window wider
    than any stroke, smoothed; never darker than DARK_FLOOR of the page's paper, so a dark area stays dark. Pure
    white on a page whose paper is not is the fill of the corners deskewing uncovered, and counts as paper."""
    level = _median(gray)
    filled = np.where(gray == 255, np.uint8(level), gray) if level < 255 else gray
    factor = max(1, min(round(dpi / PAPER_DPI), *gray.shape))
    coarse = Image.fromarray(filled).reduce(factor)
    coarse = coarse.filter(ImageFilter.MaxFilter(PAPER_WINDOW)).filter(ImageFilter.GaussianBlur(2))
    tone = np.asarray(coarse)
    return Image.fromarray(np.maximum(tone, np.uint8(DARK_FLOOR * np.percentile(tone, 90))))


def _median(gray: np.ndarray) -> int:
    counts = np.cumsum(Image.fromarray(gray).histogram())
    return int(np.searchsorted(counts, counts[-1] / 2))


def normalised(gray: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """The page divided by its paper tone (paper → 255): uneven paper and shading do not look like grey content."""
    return np.minimum(gray.astype(np.uint16) * 255 // np.maximum(paper, 1), 255).astype(np.uint8)


def ink_threshold(normal: np.ndarray) -> int:
    """Half-way between the page's ink and the paper (255), so that a stroke keeps its width: the ink is the
    grey of the stroke cores, the lower quartile of Otsu's dark class (its median would be the soft edges), so
    faded print is cut lighter too. 128 for a page that arrived two-level."""
    histogram = np.asarray(Image.fromarray(normal).histogram(), dtype=np.float64)
    dark = np.cumsum(histogram[:_otsu(histogram) + 1])
    ink = int(np.searchsorted(dark, dark[-1] * INK_QUANTILE)) if dark[-1] else 0
    return int(np.clip(round((ink + 255) / 2), 128, 192))


def _otsu(histogram: np.ndarray) -> int:
    """The level that best splits the histogram into two classes (Otsu): the dark class is <= it."""
    weight = np.cumsum(histogram)
    mean = np.cumsum(histogram * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight / weight[-1] - mean) ** 2 / (weight * (weight[-1] - weight))
    between[~np.isfinite(between)] = -1.0
    return int(between.argmax())


def greyest_inch(normal: np.ndarray, inked: np.ndarray, dpi: float) -> float:
    """Share of mid-grey pixels farther than EDGE_MM from ink, in the square inch of the page that has most."""
    reach = max(1, round(EDGE_MM * dpi / 25.4))
    low, high = MID_GREY
    grey = (normal >= low) & (normal < high) & ~_dilated(inked, reach)
    return _densest_window(grey, max(1, round(dpi)))


def _dilated(mask: np.ndarray, reach: int) -> np.ndarray:
    """The mask grown by `reach` pixels in every direction (a square), as two one-dimensional passes."""
    grown = mask.copy()
    for axis in (0, 1):
        source = grown.copy()
        for step in range(1, reach + 1):
            _or_shifted(grown, source, step, axis)
            _or_shifted(grown, source, -step, axis)
    return grown


def _or_shifted(target: np.ndarray, source: np.ndarray, step: int, axis: int) -> None:
    size = source.shape[axis]
    if abs(step) >= size:
        return
    into = [slice(None)] * 2
    come = [slice(None)] * 2
    into[axis], come[axis] = (slice(step, None), slice(0, size - step)) if step > 0 else \
        (slice(0, size + step), slice(-step, None))
    target[tuple(into)] |= source[tuple(come)]


def _densest_window(mask: np.ndarray, side: int) -> float:
    """Largest share of True in any `side` × `side` window (the whole page when it is smaller), windows placed
    on a grid of a fifth of `side` or finer."""
    step = max(1, side // 5)
    counts = _block_counts(mask, step)
    span = max(1, side // step)
    rows, cols = min(span, counts.shape[0]), min(span, counts.shape[1])
    table = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), dtype=np.int64)
    table[1:, 1:] = counts.cumsum(axis=0).cumsum(axis=1)
    sums = table[rows:, cols:] - table[:-rows, cols:] - table[rows:, :-cols] + table[:-rows, :-cols]
    return float(sums.max()) / (rows * cols * step * step)


def _block_counts(mask: np.ndarray, step: int) -> np.ndarray:
    """How many True pixels each `step` × `step` block holds (partial blocks at the edges padded with False)."""
    rows, cols = -(-mask.shape[0] // step) * step, -(-mask.shape[1] // step) * step
    padded = np.zeros((rows, cols), dtype=np.int32)
    padded[:mask.shape[0], :mask.shape[1]] = mask
    return padded.reshape(rows // step, step, cols // step, step).sum(axis=(1, 3))


def _reduced(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Box-averaged copy `factor` times coarser."""
    return pixels if factor == 1 else np.asarray(Image.fromarray(pixels).reduce(factor))


def g4_bytes(ink: np.ndarray) -> bytes:
    """CCITT Group 4 data of a two-level image (True = ink; ink coded black, paper white), one strip, via libtiff."""
    buffer = io.BytesIO()
    Image.fromarray(ink).save(buffer, "TIFF", compression="group4",
                              tiffinfo={TiffImagePlugin.ROWSPERSTRIP: ink.shape[0]})
    with Image.open(buffer) as tiff:
        offsets, counts = tiff.tag_v2[TiffImagePlugin.STRIPOFFSETS], tiff.tag_v2[TiffImagePlugin.STRIPBYTECOUNTS]
    offset, count = _only(offsets), _only(counts)
    return buffer.getvalue()[offset:offset + count]


def _only(value) -> int:
    values = value if isinstance(value, tuple) else (value,)
    if len(values) != 1:
        raise ValueError(f"expected one TIFF strip, libtiff wrote {len(values)}")
    return int(values[0])


# grey and colour pages -------------------------------------------------------------------------------------------
def jpeg_image(pixels: np.ndarray, dpi: int, options: ImageOptions, kind: str,
               grey_share: float | None = None) -> KeptImage:
    """`pixels` (grey or RGB) as a JPEG at the options' quality, reduced to `jpeg_dpi` when finer."""
    picture = Image.fromarray(pixels)
    target = max(MIN_JPEG_DPI, options.jpeg_dpi)
    if dpi > target:
        size = (max(1, round(picture.width * target / dpi)), max(1, round(picture.height * target / dpi)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    kept_dpi = min(dpi, target)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=options.jpeg_quality, optimize=True, dpi=(kept_dpi, kept_dpi))
    return KeptImage(kind, buffer.getvalue(), picture.width, picture.height, kept_dpi, options.jpeg_quality,
                     grey_share)
