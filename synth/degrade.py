"""Make clean synthetic pages look scanned: skew, blur, noise, uneven paper, JPEG artefacts, borders, blank backs."""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

BORDER_SIDES = ("left", "right", "top", "bottom")
A4_SHAPE = (3508, 2480)  # rows, columns at 300 dpi
NOISE_UNIT = 16.0
NOISE_SEED = 20240601


@dataclass(frozen=True)
class ScanParams:
    """How one page was 'scanned'; skew in degrees (positive = counter-clockwise), border side or None."""
    skew_deg: float
    blur_sigma: float
    noise_sigma: float
    paper: int
    tint: float
    jpeg_quality: int
    border: str | None = None
    border_px: int = 0
    upside_down: bool = False
    seed: int = 0


def scan_params(rng: random.Random, *, upside_down: bool = False, border: bool | None = None) -> ScanParams:
    """Random but realistic scan settings: skew 1–3° either sign, light blur and noise, JPEG quality 60–80."""
    if border is None:
        border = rng.random() < 0.25
    return ScanParams(
        skew_deg=round(rng.uniform(1.0, 3.0) * rng.choice((-1, 1)), 2),
        blur_sigma=round(rng.uniform(0.5, 1.0), 2),
        noise_sigma=round(rng.uniform(3.0, 7.0), 2),
        paper=rng.randint(238, 252),
        tint=round(rng.uniform(0.02, 0.07), 3),
        jpeg_quality=rng.randint(60, 80),
        border=rng.choice(BORDER_SIDES) if border else None,
        border_px=rng.randint(12, 40) if border else 0,
        upside_down=upside_down,
        seed=rng.getrandbits(31),
    )


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre, same canvas, white fill (positive = counter-clockwise)."""
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=255)


def upside_down(image: np.ndarray) -> np.ndarray:
    """The page fed head first the wrong way round (180°)."""
    return np.ascontiguousarray(image[::-1, ::-1])


def _smooth_field(rng: random.Random, shape: tuple[int, int], low: float, high: float) -> np.ndarray:
    """A slowly varying uint8 field between low and high (0–1 scaled to 0–255) the size of shape."""
    coarse = np.array([[rng.uniform(low, high) * 255 for _ in range(4)] for _ in range(5)], dtype=np.float32)
    middle = cv2.resize(coarse, (shape[1] // 16, shape[0] // 16), interpolation=cv2.INTER_CUBIC)
    middle = np.clip(middle, 0, 255).astype(np.uint8)
    return cv2.resize(middle, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _paper(image: np.ndarray, params: ScanParams, rng: random.Random) -> np.ndarray:
    """Map white to the paper tone and darken it unevenly; ink keeps its darkness."""
    top = params.paper / 255.0
    field = _smooth_field(rng, image.shape, top * (1.0 - params.tint), top)
    return cv2.multiply(image, field, scale=1 / 255)


def _border(image: np.ndarray, side: str | None, width: int, rng: random.Random) -> np.ndarray:
    """A dark strip along one edge, as the scanner lid or platen edge shows."""
    if side is None:
        return image
    strip = {"left": np.s_[:, :width], "right": np.s_[:, -width:], "top": np.s_[:width, :], "bottom": np.s_[-width:, :]}
    image[strip[side]] = rng.randint(25, 70)
    return image


@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """Gaussian noise (σ = NOISE_UNIT) as int8, made once with a fixed seed; pages add windows at seeded offsets."""
    cv2.setRNGSeed(NOISE_SEED)
    bank = np.empty((A4_SHAPE[0] + 512, A4_SHAPE[1] + 512), dtype=np.float32)
    cv2.randn(bank, 0.0, NOISE_UNIT)
    return np.clip(bank, -127, 127).astype(np.int8)


def _noise(image: np.ndarray, sigma: float, rng: random.Random) -> np.ndarray:
    """The uint8 image plus Gaussian noise of standard deviation sigma, saturated to 0–255."""
    bank = _noise_bank()
    h, w = image.shape
    if h > bank.shape[0] or w > bank.shape[1]:
        bank = np.tile(bank, (h // bank.shape[0] + 1, w // bank.shape[1] + 1))
    oy, ox = rng.randrange(bank.shape[0] - h + 1), rng.randrange(bank.shape[1] - w + 1)
    return cv2.addWeighted(image, 1.0, bank[oy:oy + h, ox:ox + w], sigma / NOISE_UNIT, 0.0, dtype=cv2.CV_8U)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The image after JPEG compression at quality (block and ringing artefacts)."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def degrade(image: np.ndarray, params: ScanParams, jpeg: bool = False) -> np.ndarray:
    """Scan-like copy of a clean page; jpeg=True also bakes in JPEG artefacts (for files saved losslessly)."""
    rng = random.Random(params.seed)
    out = rotate(image, params.skew_deg)
    if params.blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), params.blur_sigma)
    out = _paper(out, params, rng)
    out = _border(out, params.border, params.border_px, rng)
    out = _noise(out, params.noise_sigma, rng)
    if params.upside_down:
        out = upside_down(out)
    return jpeg_roundtrip(out, params.jpeg_quality) if jpeg else out


def _show_through(front: np.ndarray, strength: float) -> np.ndarray:
    """The mirrored, blurred ghost of the other side's ink, as a uint8 darkening of at most strength grey levels."""
    small = cv2.resize(front, (front.shape[1] // 4, front.shape[0] // 4), interpolation=cv2.INTER_AREA)
    ink = cv2.GaussianBlur(255.0 - small.astype(np.float32), (0, 0), 2.0)[:, ::-1]
    ink = np.ascontiguousarray(ink * (strength / max(float(ink.max()), 1.0))).astype(np.uint8)
    return cv2.resize(ink, (front.shape[1], front.shape[0]), interpolation=cv2.INTER_LINEAR)


def blank_backside(rng: random.Random | None = None, front: np.ndarray | None = None,
                   shape: tuple[int, int] = A4_SHAPE) -> np.ndarray:
    """The empty back of a page scanned duplex: paper tone, noise, a few specks, faint show-through of front."""
    rng = rng or random.Random(0)
    tone = rng.randint(238, 250) / 255.0
    page = _smooth_field(rng, shape, tone * 0.96, tone)
    if front is not None:
        page = cv2.subtract(page, _show_through(front, rng.uniform(5.0, 10.0)))
    for _ in range(rng.randint(3, 8)):
        centre = (rng.randrange(shape[1]), rng.randrange(shape[0]))
        cv2.circle(page, centre, rng.randint(1, 4), rng.randint(60, 140), -1)
    return _noise(page, rng.uniform(2.0, 4.0), rng)


def ink_ratio(image: np.ndarray, threshold: int = 128) -> float:
    """Share of pixels darker than threshold after a 5×5 median: near 0 on a blank page, a few % on text."""
    return float((cv2.medianBlur(image, 5) < threshold).mean())
