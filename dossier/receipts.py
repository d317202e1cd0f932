"""Paper received against paper digitised, per receipt (签收单).

A page belongs to a receipt when it follows the receipt's own sheet in a stack (the receipt printed by `edossier
receive`, scanned on top of the paper it lists; up to the next separator sheet or the end of the stack), or when the
scan session that captured it was registered under the receipt (`edossier scan --receipt R-17`). Pages are counted
against the page count written on the receipt; a sheet scanned twice is found perceptually — the same ink layout
(ocr.preprocess.fingerprint) and the same text — since a rescan never has the same bytes. A receipt is digitised
when its distinct pages match its count and every one of them is read and out of review.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from classify.doctype import edit_distance
from classify.separator import parse_separator_text
from ocr.preprocess import fingerprint_distance

SAME_LAYOUT = 0.10           # share of layout bits that may differ between two scans of one sheet (measured ≤ 0.06)
SAME_TEXT = 0.12             # share of characters that may differ between two readings of one sheet
SAME_LAYOUT_NO_TEXT = 0.05   # pages with next to no text (photos, stamps): the layout alone, more strictly
TEXT_COMPARED = 600          # characters compared: enough to tell two pages apart, cheap enough for many pairs


def label(receipt_id: int) -> str:
    return f"R-{receipt_id}"


def receipt_id(text: str) -> int | None:
    """R-17, r17 or 17 → 17."""
    found = re.fullmatch(r"\s*[Rr]-?\s*(\d+)\s*", text or "")
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class ReceiptState:
    id: int
    label: str
    case_no: str
    type_code: str
    received: int                      # pages written on the receipt
    page_ids: tuple[int, ...]          # pages scanned against it, in scan order
    twice: tuple[tuple[int, int], ...] = ()   # (page id, the earlier page id it repeats)
    pending: int = 0
    failed: int = 0
    in_review: int = 0
    flags: tuple[str, ...] = field(default=())

    @property
    def scanned(self) -> int:
        return len(self.page_ids)

    @property
    def distinct(self) -> int:
        return self.scanned - len(self.twice)

    @property
    def digitised(self) -> bool:
        return not self.flags

    def as_json(self) -> dict:
        return {"id": self.id, "receipt": self.label, "case_no": self.case_no, "type_code": self.type_code,
                "pages_received": self.received, "pages_scanned": self.scanned, "pages_distinct": self.distinct,
                "scanned_twice": [{"page_id": a, "same_as": b} for a, b in self.twice],
                "page_ids": list(self.page_ids), "pending": self.pending, "failed": self.failed,
                "in_review": self.in_review, "digitised": self.digitised, "flags": list(self.flags)}


def reconcile(receipts: list[dict], pages: list[dict], replaced: dict[int, int] | None = None) -> list[ReceiptState]:
    """Each receipt of a case with the pages scanned against it (`pages`: Catalogue.pages_around_case). A page an
    operator replaced by its rescan (`replaced`: page id → the rescan's) counts by its rescan, where it was."""
    case_no = receipts[0]["case_no"] if receipts else None
    tied = _tie([p for p in pages if p.get("case_no") in (None, case_no)], {label(r["id"]) for r in receipts},
                replaced or {})
    return [_state(r, tied.get(label(r["id"]), [])) for r in receipts]


def _tie(pages: list[dict], labels: set[str], replaced: dict[int, int]) -> dict[str, list[dict]]:
    """Pages by the receipt they were scanned against; pages people removed are not counted."""
    tied: dict[str, list[dict]] = {}
    by_id, rescans = {p["id"]: p for p in pages}, set(replaced.values())
    current, stack = None, None
    for page in pages:
        if page["stack_id"] != stack:
            current, stack = None, page["stack_id"]
        if page["role"] == "separator":
            current = _receipt_of_sheet(page)
            continue
        if page["role"] in ("blank", "removed") or page["id"] in rescans:
            continue
        owner = _receipt_of_session(page) or current
        if page["role"] == "replaced":
            page = by_id.get(replaced.get(page["id"]))
        if owner in labels and page is not None:
            tied.setdefault(owner, []).append(page)
    return tied


def _receipt_of_sheet(page: dict) -> str | None:
    for code in page["codes"] or ():
        found = parse_separator_text(code.get("text", ""))
        if found is not None:
            return found.receipt
    return None


def _receipt_of_session(page: dict) -> str | None:
    try:
        given = json.loads(page["provenance"]).get("receipt") if page["provenance"] else None
    except ValueError:
        return None
    number = receipt_id(given) if isinstance(given, str) else None
    return label(number) if number is not None else None


def _state(receipt: dict, pages: list[dict]) -> ReceiptState:
    name = label(receipt["id"])
    twice = tuple(_scanned_twice(pages))
    state = ReceiptState(receipt["id"], name, receipt["case_no"], receipt["type_code"], receipt["pages"],
                         tuple(p["id"] for p in pages), twice,
                         sum(p["status"] == "pending" for p in pages), sum(p["status"] == "failed" for p in pages),
                         sum(bool(p["in_review"]) for p in pages))
    return ReceiptState(**{**state.__dict__, "flags": tuple(_flags(state, pages))})


def _flags(state: ReceiptState, pages: list[dict]) -> list[str]:
    """What keeps the receipt from being digitised, in words an operator can act on."""
    flags, name = [], state.label
    position = {p["id"]: n for n, p in enumerate(pages, 1)}
    if state.distinct != state.received:
        extra = f" ({state.scanned} scanned, {len(state.twice)} of them twice)" if state.twice else ""
        scanned = state.distinct if state.twice else state.scanned
        flags.append(f"receipt {name}: {state.received} pages received, {scanned} scanned{extra}")
    for page_id, earlier in state.twice:
        flags.append(f"receipt {name}: page {position[page_id]} is page {position[earlier]} scanned again "
                     f"(pages {page_id} and {earlier})")
    for count, words in ((state.pending, "not read yet"), (state.failed, "in quarantine"),
                         (state.in_review, "in documents waiting for review")):
        if count:
            flags.append(f"receipt {name}: {count} page(s) {words}")
    return flags


def _scanned_twice(pages: list[dict]) -> list[tuple[int, int]]:
    """(page, the earlier page it repeats) for each page that is a sheet scanned again."""
    found, kept = [], []
    for page in pages:
        if page["status"] != "done" or not page["layout_hash"]:
            continue
        earlier = next((k for k in kept if _same_sheet(page, k)), None)
        if earlier is None:
            kept.append(page)
        else:
            found.append((page["id"], earlier["id"]))
    return found


def _same_sheet(a: dict, b: dict) -> bool:
    layout = fingerprint_distance(a["layout_hash"], b["layout_hash"])
    text_a, text_b = _plain(a["text"]), _plain(b["text"])
    if min(len(text_a), len(text_b)) < 20:
        return layout <= SAME_LAYOUT_NO_TEXT
    if layout > SAME_LAYOUT:
        return False
    return edit_distance(text_a, text_b) <= SAME_TEXT * max(len(text_a), len(text_b))


def _plain(text: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))[:TEXT_COMPARED]
