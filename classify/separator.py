"""The separator-sheet payload: how a case number, document type and volume are written into a QR code and read back."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlencode

PREFIX = "edossier:sep?"
PATCH_T = "PATCHT"
VOLUMES = ("ZJ", "FJ")


@dataclass(frozen=True)
class Separator:
    """A scanned separator: starts a new document; case_no/type_code are None for a plain Patch-T sheet."""
    case_no: str | None
    type_code: str | None
    volume: str = "ZJ"
    receipt: str | None = None      # a receipt's sheet (签收单, R-17): the paper after it was handed in under it

    @property
    def is_patch_t(self) -> bool:
        return self.case_no is None and self.type_code is None


def separator_payload(case_no: str, type_code: str, volume: str = "ZJ", receipt: str | None = None) -> str:
    """Text encoded in a cover sheet's QR code, e.g. edossier:sep?v=1&case=…&type=COMPLAINT&vol=ZJ; a receipt's
    sheet adds &receipt=R-17."""
    if volume not in VOLUMES:
        raise ValueError(f"volume must be one of {VOLUMES}, not {volume!r}")
    fields = {"v": "1", "case": case_no, "type": type_code, "vol": volume} | ({"receipt": receipt} if receipt else {})
    return PREFIX + urlencode(fields, quote_via=quote)


def parse_separator_text(text: str) -> Separator | None:
    """Separator meant by one decoded code's text, or None when the text is no separator."""
    text = text.replace("\r\n", "\n").strip()
    if text.upper() == PATCH_T:
        return Separator(None, None)
    if not text.startswith(PREFIX):
        return None
    query = parse_qs(text[len(PREFIX):])
    case = query.get("case", [None])[0]
    doc_type = query.get("type", [None])[0]
    volume = query.get("vol", ["ZJ"])[0]
    if not case or not doc_type or volume not in VOLUMES:
        return None
    return Separator(case, doc_type, volume, query.get("receipt", [None])[0])
