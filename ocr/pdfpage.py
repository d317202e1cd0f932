"""A searchable PDF page: the kept page image under an invisible text layer made from the words read."""
from __future__ import annotations

import io
import struct

import pikepdf

from ocr.types import KeptImage, Line, PageLayout

IMAGE = pikepdf.Name("/EdossierPage")
FONT = pikepdf.Name("/EdossierText")


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


def searchable_page(image: KeptImage, dpi: int, layout: PageLayout, font_program: bytes) -> bytes:
    """One-page PDF: the kept image (CCITT G4 or JPEG data, embedded byte for byte) drawn over the whole page, the
    page `layout`'s size at `dpi`, and over it each line's text, invisible, stretched over the line's box (`layout`
    in the page's pixels, whatever resolution the image is kept at). A line is one run of text as read, with no
    space between Chinese characters, so a viewer's phrase search finds words and names."""
    w_pt, h_pt = layout.width * 72 / dpi, layout.height * 72 / dpi
    pdf = pikepdf.new()
    lines = [line for line in layout.lines if line.text.strip()]
    codes = {char: cid for cid, char in enumerate(sorted({c for line in lines for c in line.text}), start=1)}
    resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary({str(IMAGE): image_xobject(pdf, image)}))
    content = [f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm {IMAGE} Do Q"]
    if lines:
        resources.Font = pikepdf.Dictionary({str(FONT): _text_font(pdf, codes, font_program)})
        content += ["BT 3 Tr"] + [_line_text(line, codes, 72 / dpi, h_pt) for line in lines] + ["ET"]
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=pikepdf.Array([0, 0, w_pt, h_pt]),
                              Resources=resources, Contents=pikepdf.Stream(pdf, "\n".join(content).encode()))
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def image_xobject(pdf: pikepdf.Pdf, image: KeptImage) -> pikepdf.Stream:
    """The image as a PDF image: G4 data under /CCITTFaxDecode (K -1: pure two-dimensional coding; 0 bits are
    black), a JPEG under /DCTDecode in the colour space its frame declares."""
    if image.kind == "bitonal":
        parms = pikepdf.Dictionary(K=-1, Columns=image.width, Rows=image.height, BlackIs1=False)
        return pikepdf.Stream(pdf, image.data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                              Width=image.width, Height=image.height, ColorSpace=pikepdf.Name.DeviceGray,
                              BitsPerComponent=1, Filter=pikepdf.Name.CCITTFaxDecode, DecodeParms=parms)
    width, height, components = jpeg_frame(image.data)
    return pikepdf.Stream(pdf, image.data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                          Height=height, ColorSpace=COLOUR_SPACES[components], BitsPerComponent=8,
                          Filter=pikepdf.Name.DCTDecode)


def _line_text(line: Line, codes: dict[str, int], pt_per_px: float, h_pt: float) -> str:
    """Text-showing operators for one line: font size the line's height, scaled across to the line's width."""
    text = line.text.strip()
    size = max(1.0, line.height * pt_per_px)
    stretch = 100 * line.width * pt_per_px / (len(text) * size)
    x, y = line.left * pt_per_px, h_pt - (line.top + line.height) * pt_per_px
    hex_codes = "".join(f"{codes[c]:04X}" for c in text)
    return f"{FONT} {size:.2f} Tf {stretch:.2f} Tz 1 0 0 1 {x:.2f} {y:.2f} Tm <{hex_codes}> Tj"


def _text_font(pdf: pikepdf.Pdf, codes: dict[str, int], font_program: bytes) -> pikepdf.Dictionary:
    """A composite font whose every code draws the same empty glyph, 1 em wide, and maps back to its character."""
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.GlyphLessFont, Flags=5,
        FontBBox=pikepdf.Array([0, 0, 1000, 1000]), ItalicAngle=0, Ascent=1000, Descent=0, CapHeight=1000,
        StemV=80, FontFile2=pikepdf.Stream(pdf, font_program))
    glyph_map = pikepdf.Stream(pdf, b"\x00\x01" * (len(codes) + 1))       # every code → glyph 1
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name.GlyphLessFont,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor, DW=1000, CIDToGIDMap=glyph_map)
    return pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name.GlyphLessFont,
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=pikepdf.Array([cid_font]),
        ToUnicode=pikepdf.Stream(pdf, _to_unicode(codes)))


def _to_unicode(codes: dict[str, int]) -> bytes:
    pairs = [f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for char, cid in codes.items()]
    blocks = [pairs[i:i + 100] for i in range(0, len(pairs), 100)]
    body = "\n".join(f"{len(b)} beginbfchar\n" + "\n".join(b) + "\nendbfchar" for b in blocks)
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def page_image(page_pdf: bytes) -> tuple[bytes, str]:
    """The kept image of a searchable page as a browser shows it, with its media type: a JPEG byte for byte as
    kept; a two-level page (G4, which browsers do not decode) as a 1-bit PNG of the same pixels."""
    with pikepdf.open(io.BytesIO(page_pdf)) as pdf:
        stream = pdf.pages[0].obj.Resources.XObject[IMAGE]
        if stream.get("/Filter") == pikepdf.Name.DCTDecode:
            return stream.read_raw_bytes(), "image/jpeg"
        out = io.BytesIO()
        pikepdf.PdfImage(stream).as_pil_image().save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
