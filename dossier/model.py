"""Values a volume is built from and the record of what was built: frozen, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

VOLUME_NAMES = {"ZJ": "正卷", "FJ": "副卷"}


@dataclass(frozen=True)
class DocumentEntry:
    """One catalogued document: its one-page searchable PDFs (image + OCR text) in reading order.

    numbered=False keeps the document out of the archival page numbering (e.g. a sealed evidence envelope);
    review=True marks a catalogue entry a person still has to confirm (shown in the contents' 备注 column).
    """
    title: str
    type_code: str
    type_name: str
    page_pdfs: tuple[Path, ...]
    numbered: bool = True
    review: bool = False

    def __post_init__(self) -> None:
        if not self.page_pdfs:
            raise ValueError(f"document {self.title!r} has no pages")


@dataclass(frozen=True)
class ArchiveNote:
    """What the remarks sheet of an archive package's volume says about the archiving: the archival pages of every
    volume of the package, who archived the case and when, and — for a case archived before it was closed, by an
    operator's decision (`forced`) — why."""
    actor: str
    at: str                                            # as printed, e.g. 2026年3月2日 15:30
    volume_pages: tuple[tuple[str, int], ...] = ()     # (volume, archival pages), ZJ first
    forced: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class VolumeSpec:
    """One volume (正卷 ZJ or 副卷 FJ) of a case; documents are already in binding order."""
    case_no: str
    volume: str
    court: str
    cause: str
    case_family_label: str
    documents: tuple[DocumentEntry, ...]
    produced_on: date
    retention: str = "永久"
    left_out: tuple[tuple[str, int], ...] = ()   # (why, pages) of the case's pages not bound: blanks, sheets
    archive: ArchiveNote | None = None             # set when the volume is bound into an archive package

    def __post_init__(self) -> None:
        if self.volume not in VOLUME_NAMES:
            raise ValueError(f"volume must be one of {tuple(VOLUME_NAMES)}, not {self.volume!r}")
        if not self.documents:
            raise ValueError(f"volume {self.case_no} {self.volume} has no documents")

    @property
    def volume_name(self) -> str:
        """正卷 or 副卷."""
        return VOLUME_NAMES[self.volume]

    @property
    def numbered_pages(self) -> int:
        """Pages that receive an archival page number."""
        return sum(len(doc.page_pdfs) for doc in self.documents if doc.numbered)


@dataclass(frozen=True)
class DocumentPlacement:
    """Where one document ended up: archival page numbers as printed (None when unnumbered) and 0-based PDF pages."""
    index: int
    title: str
    type_code: str
    first_page: int | None
    last_page: int | None
    pdf_first_index: int
    pdf_last_index: int

    @property
    def page_range(self) -> str:
        """The contents' 页号 cell: "3-7", "8", or "" for an unnumbered document."""
        if self.first_page is None or self.last_page is None:
            return ""
        if self.first_page == self.last_page:
            return str(self.first_page)
        return f"{self.first_page}-{self.last_page}"


@dataclass(frozen=True)
class VolumeResult:
    """The written volume: physical page count, archival page count and each document's placement."""
    path: Path
    pages: int
    numbered_pages: int
    documents: tuple[DocumentPlacement, ...]
