"""Values the OCR stage hands to later stages: words, lines and the page layout (frozen, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field


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
