"""Whether two scans show the same sheet. A sheet scanned twice never gives the same bytes (or even the same pixels):
the paper shifts, the lamp and the noise differ. Two pages are compared as small, blurred, contrast-normalised
thumbnails, after aligning them for a shift of a few millimetres."""
from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

THUMB = 64                 # thumbnail side, in pixels, for a whole page
SHIFT = 3                  # thumbnail pixels each way tried when aligning (≈ 1.5 % of the page)
SAME_BELOW = 0.06          # mean absolute difference (0..1) under which two pages are the same sheet


def thumbnail(data: bytes) -> np.ndarray:
    """An encoded page as a normalised 64 × 64 grey thumbnail (0..1)."""
    with Image.open(io.BytesIO(data)) as image:
        gray = np.asarray(image.convert("L"), dtype=np.float32)
    small = cv2.resize(cv2.GaussianBlur(gray, (0, 0), max(gray.shape) / 400), (THUMB, THUMB),
                       interpolation=cv2.INTER_AREA)
    low, high = np.percentile(small, (2, 98))
    return np.clip((small - low) / max(high - low, 1.0), 0, 1)


def difference(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest mean absolute difference between two thumbnails over small shifts of one against the other."""
    best = 1.0
    inner = slice(SHIFT, THUMB - SHIFT)
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            moved = np.roll(np.roll(b, dy, axis=0), dx, axis=1)
            best = min(best, float(np.abs(a[inner, inner] - moved[inner, inner]).mean()))
    return best


def same_sheet(a: bytes | np.ndarray, b: bytes | np.ndarray) -> bool:
    a = thumbnail(a) if isinstance(a, bytes) else a
    b = thumbnail(b) if isinstance(b, bytes) else b
    return difference(a, b) < SAME_BELOW
