"""Archive volumes as PDF/A-2b: a bound volume prepared so that Ghostscript keeps its text, rewritten by Ghostscript
with an sRGB output intent, its title, subject and keywords put back into its metadata, and the result checked
against the volume it came from — the same pages, the same text on each page, the same images — before it counts.

Two things in a volume make Ghostscript garble the invisible text of scanned pages unless they are prepared:
every page's text font is the same glyphless font program with its own codes, which Ghostscript merges into one
font carrying one page's character map; and that program's glyph is half an em wide while the pages set it one em
wide, which Ghostscript makes up for with gaps that viewers read as spaces between characters.
"""
from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import pikepdf
import pypdfium2

from config.errors import EdossierError
from dossier import ghostscript
from dossier.ghostscript import Ghostscript

TEXT_FONT = pikepdf.Name("/GlyphLessFont")
KEPT_INFO = ("/Title", "/Subject", "/Keywords")
XMP_OF_INFO = {"/Title": "dc:title", "/Subject": "dc:description", "/Keywords": "pdf:Keywords"}


class NotFaithful(EdossierError):
    """The PDF/A copy of a volume does not show what the volume shows; nothing is archived from it."""


def convert(gs: Ghostscript, volume: Path, target: Path) -> None:
    """Write `volume` as PDF/A-2b to `target`, checked page by page against the volume."""
    with tempfile.TemporaryDirectory(prefix="edossier-pdfa-") as tmp:
        prepared, definition, written = Path(tmp) / "prepared.pdf", Path(tmp) / "pdfa.ps", Path(tmp) / "pdfa.pdf"
        info = prepare(volume, prepared)
        definition.write_text(output_intent_definition(gs.icc_profile), encoding="ascii")
        ghostscript.to_pdfa(gs, prepared, written, definition)
        restore_metadata(written, target, info)
    check_faithful(volume, target, gs)


def prepare(volume: Path, out: Path) -> dict[str, str]:
    """A copy of the volume whose text fonts Ghostscript keeps apart and at their width; answers the document
    information Ghostscript drops (it keeps no non-ASCII title in PDF/A)."""
    with pikepdf.open(volume) as pdf:
        info = {key: str(pdf.docinfo[key]) for key in KEPT_INFO if key in pdf.docinfo}
        for number, font in enumerate(_text_fonts(pdf), start=1):
            _set_apart(pdf, font, number)
        pdf.save(out)
    return info


def _text_fonts(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """Each distinct glyphless text font of the volume's pages, once."""
    found: dict[tuple, pikepdf.Dictionary] = {}
    for number, page in enumerate(pdf.pages):
        fonts = page.obj.get(pikepdf.Name.Resources, pikepdf.Dictionary()).get(pikepdf.Name.Font, pikepdf.Dictionary())
        for name, font in fonts.items():
            if font.get(pikepdf.Name.BaseFont) == TEXT_FONT and pikepdf.Name.DescendantFonts in font:
                found.setdefault(font.objgen if font.is_indirect else (number, name), font)
    return list(found.values())


def _set_apart(pdf: pikepdf.Pdf, font: pikepdf.Dictionary, number: int) -> None:
    """Name the font after its place in the volume and give its glyph the width the page uses."""
    name = pikepdf.Name(f"/GlyphLessFont-{number}")
    cid_font = font.DescendantFonts[0]
    descriptor = cid_font.FontDescriptor
    font.BaseFont = cid_font.BaseFont = descriptor.FontName = name
    if pikepdf.Name.FontFile2 in descriptor:
        width = int(cid_font.get(pikepdf.Name.DW, 1000))
        descriptor.FontFile2 = pikepdf.Stream(pdf, glyph_width(descriptor.FontFile2.read_bytes(), width))


def glyph_width(program: bytes, width: int) -> bytes:
    """The TrueType program with every horizontal advance set to `width` thousandths of an em."""
    tables = _tables(program)
    if b"hmtx" not in tables or b"head" not in tables or b"hhea" not in tables:
        return program
    units = struct.unpack(">H", program[tables[b"head"] + 18:tables[b"head"] + 20])[0]
    metrics = struct.unpack(">H", program[tables[b"hhea"] + 34:tables[b"hhea"] + 36])[0]
    advance = struct.pack(">H", round(units * width / 1000))
    patched = bytearray(program)
    for index in range(metrics):
        at = tables[b"hmtx"] + 4 * index
        if struct.unpack(">H", program[at:at + 2])[0]:      # glyph 0 (.notdef) keeps no width
            patched[at:at + 2] = advance
    return bytes(patched)


def _tables(program: bytes) -> dict[bytes, int]:
    count = struct.unpack(">H", program[4:6])[0]
    return {tag: offset for tag, _, offset, _ in
            (struct.unpack(">4sIII", program[12 + 16 * i:28 + 16 * i]) for i in range(count))}


def output_intent_definition(icc_profile: Path) -> str:
    """The PostScript prefix that gives the PDF/A file its output intent: the sRGB profile, embedded."""
    path = str(icc_profile).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return ("%!\n"
            f"/ICCProfile ({path}) def\n"
            "[/_objdef {icc_PDFA} /type /stream /OBJ pdfmark\n"
            "[{icc_PDFA} << /N 3 >> /PUT pdfmark\n"
            "[{icc_PDFA} ICCProfile (r) file /PUT pdfmark\n"
            "[/_objdef {OutputIntent_PDFA} /type /dict /OBJ pdfmark\n"
            "[{OutputIntent_PDFA} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {icc_PDFA}\n"
            "  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) >> /PUT pdfmark\n"
            "[{Catalog} << /OutputIntents [ {OutputIntent_PDFA} ] >> /PUT pdfmark\n")


def restore_metadata(written: Path, target: Path, info: dict[str, str]) -> None:
    """The volume's title, subject and keywords, in the XMP metadata and the document information alike."""
    with pikepdf.open(written) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            for key, value in info.items():
                meta[XMP_OF_INFO[key]] = value
        pdf.save(target)


def check_faithful(volume: Path, copy: Path, gs: Ghostscript) -> None:
    """The copy has the volume's pages, each with the same text and images of the same size and encoding."""
    made_by = f"Ghostscript {'.'.join(map(str, gs.version))}"
    original, written = pypdfium2.PdfDocument(str(volume)), pypdfium2.PdfDocument(str(copy))
    try:
        if len(original) != len(written):
            raise NotFaithful(f"the PDF/A copy of {volume.name} has {len(written)} pages, the volume "
                              f"{len(original)} ({made_by})")
        for index in range(len(original)):
            if _text(original, index) != _text(written, index):
                raise NotFaithful(f"{made_by} changed the text of page {index + 1} of {volume.name}: its PDF/A copy "
                                  "is not archived")
    finally:
        original.close()
        written.close()
    _check_images(volume, copy, made_by)


def _text(document: pypdfium2.PdfDocument, index: int) -> str:
    page = document[index]
    try:
        text = page.get_textpage()
        try:
            return text.get_text_range()
        finally:
            text.close()
    finally:
        page.close()


def _check_images(volume: Path, copy: Path, made_by: str) -> None:
    with pikepdf.open(volume) as original, pikepdf.open(copy) as written:
        for index, (before, after) in enumerate(zip(original.pages, written.pages), start=1):
            if sorted(_images(before.obj)) != sorted(_images(after.obj)):
                raise NotFaithful(f"{made_by} changed the images of page {index} of {volume.name} (their size or "
                                  "encoding): its PDF/A copy is not archived")


def _images(holder: pikepdf.Object, depth: int = 0) -> list[tuple[str, int, int]]:
    """(filter, width, height) of every image the page or form draws, forms within forms included."""
    found = []
    xobjects = holder.get(pikepdf.Name.Resources, pikepdf.Dictionary()).get(pikepdf.Name.XObject,
                                                                            pikepdf.Dictionary())
    for xobject in xobjects.values():
        if xobject.get(pikepdf.Name.Subtype) == pikepdf.Name.Image:
            found.append((str(xobject.get(pikepdf.Name.Filter, "")), int(xobject.Width), int(xobject.Height)))
        elif depth < 8:
            found += _images(xobject, depth + 1)
    return found
