"""Turn page N of a stored file into a greyscale raster: images decoded as stored, PDF pages extracted or rendered."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from config.errors import DamagedFile, DecompressionBomb
from ingest.inspect import Limits

A4_WIDTH_INCHES = 8.27


@dataclass(frozen=True, eq=False)
class Raster:
    """One page as pixels: greyscale uint8 (what is recognised), the colour pixels when the page is in colour
    (what is kept), and the resolution it was captured or rendered at."""
    gray: np.ndarray
    dpi: int
    how: str            # "decoded image", "embedded image", "rendered at 300 dpi"
    color: np.ndarray | None = None


def load_page(path: Path, media_type: str, index: int, limits: Limits, dpi: int) -> Raster:
    if media_type == "application/pdf":
        return _pdf_page(path, index, limits, dpi)
    return _image_page(path, index, limits)


# images ----------------------------------------------------------------------------------------------------------
def _image_page(path: Path, index: int, limits: Limits) -> Raster:
    Image.MAX_IMAGE_PIXELS = None  # checked below, before decoding
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.seek(index)
                _check_pixels(image.size, limits, index)
                dpi = _image_dpi(image)
                image = ImageOps.exif_transpose(image) if index == 0 else image
                return Raster(to_gray(image), dpi, "decoded image", colour_of(image))
    except DecompressionBomb:
        raise
    except Exception as exc:  # hostile images raise anything from their decoders
        raise DamagedFile(f"image cannot be decoded: {str(exc).replace(str(path), 'the file')}") from exc


def _image_dpi(image: Image.Image) -> int:
    """The stored resolution when it is plausible, else one that makes the page A4-wide."""
    raw = image.info.get("dpi")
    try:
        value = float(raw[0]) if raw else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    if 100 <= value <= 1200:
        return round(value)
    return int(min(600, max(72, image.size[0] / A4_WIDTH_INCHES)))


def to_gray(image: Image.Image) -> np.ndarray:
    """Greyscale pixels; transparency is composited over white paper."""
    image = _over_paper(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = array.max() or 1.0
        return (array * 255.0 / top).astype(np.uint8)
    return np.asarray(image.convert("L"), dtype=np.uint8).copy()


CHROMA = 48             # channel spread of a pixel that is really coloured (a red seal, blue ink), not scan noise
COLOURED_SHARE = 0.001  # share of such pixels from which a page is kept in colour


def colour_of(image: Image.Image) -> np.ndarray | None:
    """RGB pixels (transparency over white paper) when the page really is in colour, else None."""
    if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "PA"):
        return None
    rgb = np.asarray(_over_paper(image).convert("RGB"), dtype=np.uint8)
    sample = rgb[::4, ::4].astype(np.int16)
    coloured = ((sample.max(axis=2) - sample.min(axis=2)) > CHROMA).mean()
    return rgb.copy() if coloured > COLOURED_SHARE else None


def _over_paper(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image


def _check_pixels(size: tuple[int, int], limits: Limits, index: int) -> None:
    width, height = size
    if width * height > limits.max_image_pixels:
        raise DecompressionBomb(f"the image would decode to {width * height:,} pixels, over the limit "
                                f"of {limits.max_image_pixels:,}")


# PDFs ------------------------------------------------------------------------------------------------------------
def _pdf_page(path: Path, index: int, limits: Limits, dpi: int) -> Raster:
    embedded = _single_embedded_image(path, index, limits)
    return embedded if embedded is not None else _render(path, index, limits, dpi)


def _single_embedded_image(path: Path, index: int, limits: Limits) -> Raster | None:
    """The page's only image, taken without re-encoding, when it covers the page (a scanned page)."""
    try:
        with pikepdf.open(path) as pdf:
            page = pdf.pages[index]
            if _has_text_or_vectors(page):
                return None
            images = list(page.get_images().values())
            if len(images) != 1:
                return None
            pdf_image = pikepdf.PdfImage(images[0])
            _check_pixels((pdf_image.width, pdf_image.height), limits, index)
            pil = pdf_image.as_pil_image()
            box = [float(v) for v in page.mediabox]
            width_in, height_in = abs(box[2] - box[0]) / 72, abs(box[3] - box[1]) / 72
            rotate = int(page.obj.get("/Rotate", 0)) % 360
    except DecompressionBomb:
        raise
    except Exception:  # an image pikepdf cannot hand over (JBIG2, odd colour spaces): render instead
        return None
    gray, colour = to_gray(pil), colour_of(pil)
    if rotate:
        gray = np.ascontiguousarray(np.rot90(gray, k=-(rotate // 90)))
        colour = None if colour is None else np.ascontiguousarray(np.rot90(colour, k=-(rotate // 90)))
    dpi_x, dpi_y = pil.size[0] / width_in, pil.size[1] / height_in
    if not (100 <= dpi_x <= 1200 and abs(dpi_x - dpi_y) <= 0.02 * dpi_x):
        return None  # unusual or non-square resolution: rendering gets the page's true proportions
    dpi = round(dpi_x)
    return Raster(gray, dpi, "embedded image", colour)


def _has_text_or_vectors(page: pikepdf.Page) -> bool:
    content = page.obj.get("/Contents")
    if content is None:
        return True
    data = b"".join(c.read_bytes() for c in content) if isinstance(content, pikepdf.Array) else content.read_bytes()
    return b"Tj" in data or b"TJ" in data or data.count(b" re") > 2 or data.count(b" l\n") > 4


def _render(path: Path, index: int, limits: Limits, dpi: int) -> Raster:
    try:
        document = pdfium.PdfDocument(str(path))
        try:
            page = document[index]
            width_pt, height_pt = page.get_size()
            scale = _render_scale(width_pt, height_pt, dpi, limits)
            bitmap = page.render(scale=scale, grayscale=True, fill_color=(255, 255, 255, 255))
            gray = to_gray(bitmap.to_pil())
        finally:
            document.close()
    except DecompressionBomb:
        raise
    except Exception as exc:  # pdfium's errors for damaged pages
        raise DamagedFile(f"cannot be rendered: {str(exc).replace(str(path), 'the file')}") from exc
    return Raster(gray, round(scale * 72), f"rendered at {round(scale * 72)} dpi")


def _render_scale(width_pt: float, height_pt: float, dpi: int, limits: Limits) -> float:
    scale = dpi / 72
    pixels = width_pt * height_pt * scale * scale
    if pixels > limits.max_image_pixels:
        scale *= (limits.max_image_pixels / pixels) ** 0.5
    return scale
