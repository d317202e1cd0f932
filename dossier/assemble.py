"""Binds one volume: cover, contents, the scanned pages with archival page numbers, remarks sheet, back cover.

Memory stays bounded however many pages a volume has: the page PDFs are joined by qpdf's job interface, which copies
their streams lazily from files it opens and closes as needed, so the output is written stream by stream and no page
image is ever held or decoded in memory. Only the small generated sheets and number stamps are copied in eagerly.
"""
from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, Rectangle, String

from dossier import sheets
from dossier.model import DocumentEntry, DocumentPlacement, VolumeResult, VolumeSpec


class AssemblyError(Exception):
    """A volume could not be built from its inputs; the message names the document and page file at fault."""


def assemble_volume(spec: VolumeSpec, out: Path) -> VolumeResult:
    """Write the bound volume for spec to out (atomically) and report where each document landed."""
    out = Path(out)
    _check_page_files(spec.documents)
    contents = sheets.contents_pdf(spec, place_documents(spec.documents, first_pdf_index=0))
    contents_pages = _page_count(contents)
    placements = place_documents(spec.documents, first_pdf_index=1 + contents_pages)
    with _joined_pages(spec.documents) as pdf:
        _prepend(pdf, [sheets.cover_pdf(spec), contents])
        _stamp_page_numbers(pdf, placements)
        remarks_index = len(pdf.pages)
        _append(pdf, [sheets.remarks_pdf(spec), sheets.back_cover_pdf(spec)])
        _add_outline(pdf, placements, remarks_index)
        _add_page_labels(pdf, placements, remarks_index)
        _set_metadata(pdf, spec)
        _write_atomically(pdf, out)
        pages = len(pdf.pages)
    return VolumeResult(path=out, pages=pages, numbered_pages=spec.numbered_pages, documents=placements)


def place_documents(documents: Sequence[DocumentEntry], first_pdf_index: int) -> tuple[DocumentPlacement, ...]:
    """Archival page numbers (1-based over numbered documents only) and PDF page indexes, documents in order."""
    placements = []
    next_number, pdf_index = 1, first_pdf_index
    for index, doc in enumerate(documents, start=1):
        count = len(doc.page_pdfs)
        first, last = (next_number, next_number + count - 1) if doc.numbered else (None, None)
        placements.append(DocumentPlacement(index=index, title=doc.title, type_code=doc.type_code,
                                            first_page=first, last_page=last,
                                            pdf_first_index=pdf_index, pdf_last_index=pdf_index + count - 1))
        next_number += count if doc.numbered else 0
        pdf_index += count
    return tuple(placements)


def _check_page_files(documents: Sequence[DocumentEntry]) -> None:
    for index, doc in enumerate(documents, start=1):
        for path in doc.page_pdfs:
            if not Path(path).is_file():
                raise AssemblyError(f"document {index} {doc.title!r}: page file {path} does not exist")


def _page_count(pdf_bytes: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return len(pdf.pages)


@contextmanager
def _joined_pages(documents: Sequence[DocumentEntry]) -> Iterator[pikepdf.Pdf]:
    """All documents' pages in one Pdf whose streams still live in the page files (read when the Pdf is saved)."""
    paths = [Path(path) for doc in documents for path in doc.page_pdfs]
    job = pikepdf.Job({
        "empty": "",
        "outputFile": os.devnull,          # required by the job syntax; create_pdf() never writes it
        "keepFilesOpen": "n",              # bounded file handles: qpdf reopens a page file when it reads from it
        "pages": [{"file": str(path.resolve())} for path in paths],
    })
    try:
        pdf = job.create_pdf()
    except (pikepdf.PdfError, pikepdf.PasswordError, OSError) as error:
        raise AssemblyError(f"could not read the page PDFs: {error}") from error
    try:
        if len(pdf.pages) != len(paths):
            _raise_for_page_counts(documents)
        yield pdf          # job stays referenced meanwhile: it owns the page files pdf reads from
    finally:
        pdf.close()


def _raise_for_page_counts(documents: Sequence[DocumentEntry]) -> None:
    for index, doc in enumerate(documents, start=1):
        for path in doc.page_pdfs:
            with pikepdf.open(path) as page_pdf:
                if len(page_pdf.pages) != 1:
                    raise AssemblyError(f"document {index} {doc.title!r}: {path} has {len(page_pdf.pages)} pages, "
                                        "a page PDF must hold exactly one page")
    raise AssemblyError("the joined page PDFs do not add up to the pages listed")


def _prepend(pdf: pikepdf.Pdf, sheet_pdfs: list[bytes]) -> None:
    at = 0
    for data in sheet_pdfs:
        with pikepdf.open(io.BytesIO(data)) as sheet:
            for page in sheet.pages:
                pdf.pages.insert(at, page)
                at += 1


def _append(pdf: pikepdf.Pdf, sheet_pdfs: list[bytes]) -> None:
    for data in sheet_pdfs:
        with pikepdf.open(io.BytesIO(data)) as sheet:
            pdf.pages.extend(sheet.pages)


def _stamp_page_numbers(pdf: pikepdf.Pdf, placements: Sequence[DocumentPlacement]) -> None:
    for placement in placements:
        if placement.first_page is None:
            continue
        for offset in range(placement.pdf_last_index - placement.pdf_first_index + 1):
            _stamp(pdf, pdf.pages[placement.pdf_first_index + offset], placement.first_page + offset)


def _stamp(pdf: pikepdf.Pdf, page: pikepdf.Page, number: int) -> None:
    """Draw the number over the page, top-right as the page is seen (its /Rotate taken into account).

    The page's own content streams stay byte for byte as captured: the stamp goes into new streams around them
    ("q" before, "Q" and the stamp after) instead of being merged into them.
    """
    box = Rectangle(page.trimbox)
    width, height = (box.height, box.width) if page.rotation in (90, 270) else (box.width, box.height)
    with pikepdf.open(io.BytesIO(sheets.number_overlay(number, width, height))) as stamp:
        form = pdf.copy_foreign(stamp.pages[0].as_form_xobject())
    name = page.add_resource(form, Name.XObject, _free_xobject_name(page))
    placement = page.calc_form_xobject_placement(form, name, box, allow_shrink=True, allow_expand=False)
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
    page.contents_add(pdf.make_stream(b"Q\n" + placement), prepend=False)


def _free_xobject_name(page: pikepdf.Page) -> Name:
    """A fixed resource name for the stamp (so output is reproducible), suffixed if the page already uses it."""
    taken = set(page.obj.get(Name.Resources, Dictionary()).get(Name.XObject, Dictionary()).keys())
    suffix = 0
    while f"/EdossierPageNo{suffix or ''}" in taken:
        suffix += 1
    return Name(f"/EdossierPageNo{suffix or ''}")


def _add_outline(pdf: pikepdf.Pdf, placements: Sequence[DocumentPlacement], remarks_index: int) -> None:
    items = [OutlineItem("封面", 0), OutlineItem("卷内目录", 1)]
    items += [OutlineItem(f"{p.index} {p.title}", p.pdf_first_index) for p in placements]
    items.append(OutlineItem("备考表", remarks_index))
    with pdf.open_outline() as outline:
        outline.root.extend(items)
    pdf.Root.PageMode = Name.UseOutlines


def _add_page_labels(pdf: pikepdf.Pdf, placements: Sequence[DocumentPlacement], remarks_index: int) -> None:
    """Viewers show the archival numbers as page labels: 封面, 目录1…, 1…n, 不编页, 备考表, 卷底."""
    nums: list = [0, Dictionary(P=String("封面")), 1, Dictionary(P=String("目录"), S=Name.D, St=1)]
    for p in placements:
        label = Dictionary(S=Name.D, St=p.first_page) if p.first_page else Dictionary(P=String("不编页"))
        nums += [p.pdf_first_index, label]
    nums += [remarks_index, Dictionary(P=String("备考表")), remarks_index + 1, Dictionary(P=String("卷底"))]
    pdf.Root.PageLabels = Dictionary(Nums=Array(nums))


def _set_metadata(pdf: pikepdf.Pdf, spec: VolumeSpec) -> None:
    day = spec.produced_on
    info = pdf.docinfo
    info[Name.Title] = String(f"{spec.case_no} {spec.volume_name}")
    info[Name.Subject] = String(f"{spec.court} 诉讼档案 {spec.case_family_label} {spec.cause}")
    info[Name.Keywords] = String(f"{spec.case_no}; {spec.volume}; 电子卷宗")
    info[Name.Creator] = String("edossier")
    info[Name.CreationDate] = String(f"D:{day.year:04d}{day.month:02d}{day.day:02d}000000")


def _write_atomically(pdf: pikepdf.Pdf, out: Path) -> None:
    """Save next to out under a temporary name, flush it to disk, then rename over out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.part")
    try:
        with open(temp, "xb") as stream:
            _save(pdf, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(out.parent)


def _save(pdf: pikepdf.Pdf, stream: BinaryIO) -> None:
    """Write the volume; the page files are read here, so damage found in them surfaces here too."""
    try:
        pdf.save(stream, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    except pikepdf.PdfError as error:
        raise AssemblyError(f"could not write the volume from its page PDFs: {error}") from error


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
