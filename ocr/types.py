"""Values the OCR stage hands to later stages: words, lines and the page layout (frozen, no I/O)."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

# The table every engine answers in: tesseract's TSV (level 5 rows are words), header line first.
TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"


@dataclass(frozen=True)
class Word:
    text: str
    conf: float          # 0..100, tesseract's word confidence
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class Line:
    """One text line in reading order; coordinates in pixels of the preprocessed page."""
    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float
    words: tuple[Word, ...] = field(default=(), compare=False)

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def centre_x(self) -> float:
        return self.left + self.width / 2


@dataclass(frozen=True)
class PageLayout:
    """Text lines of one page with the page size they refer to."""
    width: int
    height: int
    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True, eq=False)
class KeptImage:
    """The page image as it goes into the searchable PDF: CCITT G4 data of a two-level page ("bitonal"), or a JPEG
    ("grey", "colour"), `width` × `height` pixels at `dpi`."""
    kind: str
    data: bytes
    width: int
    height: int
    dpi: int
    jpeg_quality: int | None = None
    grey_share: float | None = None      # what the choice was made on (see ocr.pageimage)

    @property
    def record(self) -> dict:
        """What is noted about it beside the page: kind, encoding, resolution, and the measure that decided."""
        encoding = "CCITT G4" if self.kind == "bitonal" else f"JPEG q{self.jpeg_quality}"
        share = None if self.grey_share is None else round(self.grey_share, 5)
        return {"kind": self.kind, "encoding": encoding, "dpi": self.dpi, "grey_share": share}


def is_wide(char: str) -> bool:
    """An East Asian wide or full-width character (a Chinese character, full-width punctuation)."""
    return unicodedata.east_asian_width(char) in ("W", "F")
