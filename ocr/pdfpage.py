"""A searchable PDF page: the kept page image under the invisible text layer tesseract wrote for a smaller copy."""
from __future__ import annotations

import io
import struct

import pikepdf

IMAGE = pikepdf.Name("/EdossierPage")


COLOUR_SPACES = {1: pikepdf.Name.DeviceGray, 3: pikepdf.Name.DeviceRGB, 4: pikepdf.Name.DeviceCMYK}


def jpeg_frame(jpeg: bytes) -> tuple[int, int, int]:
    """(width, height, components) from a JPEG's start-of-frame marker."""
    offset = 2
    while offset < len(jpeg):
        marker, length = jpeg[offset + 1], struct.unpack(">H", jpeg[offset + 2:offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", jpeg[offset + 5:offset + 9])
            return width, height, jpeg[offset + 9]
        offset += 2 + length
    raise ValueError("no frame header in JPEG data")


def searchable_page(jpeg: bytes, dpi: int, text_layer: bytes) -> bytes:
    """One-page PDF: the JPEG (grey or colour, kept byte for byte) drawn at `dpi`, with the text-only page on top."""
    width, height, components = jpeg_frame(jpeg)
    pdf = pikepdf.open(io.BytesIO(text_layer))
    page = pdf.pages[0]
    w_pt, h_pt = width * 72 / dpi, height * 72 / dpi
    page.mediabox = pikepdf.Array([0, 0, w_pt, h_pt])
    image = pikepdf.Stream(pdf, jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                           Height=height, ColorSpace=COLOUR_SPACES[components], BitsPerComponent=8,
                           Filter=pikepdf.Name.DCTDecode)
    if "/Resources" not in page.obj:
        page.obj.Resources = pikepdf.Dictionary()
    if "/XObject" not in page.obj.Resources:
        page.obj.Resources.XObject = pikepdf.Dictionary()
    page.obj.Resources.XObject[IMAGE] = image
    page.contents_add(pikepdf.Stream(pdf, f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm {IMAGE} Do Q\n".encode()),
                      prepend=True)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def page_image(page_pdf: bytes) -> bytes:
    """The JPEG a searchable page was made from, byte for byte as kept."""
    with pikepdf.open(io.BytesIO(page_pdf)) as pdf:
        return pdf.pages[0].obj.Resources.XObject[IMAGE].read_raw_bytes()
