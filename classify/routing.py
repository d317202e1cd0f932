"""A loose page's case when OCR garbled its case number: the known open cases are the only numbers it can be.

A number-shaped run on the page — a bracketed year, a court and type part, a sequence number and 号 — that does not
parse as a case number is compared with the open cases of the same year and sequence number (digits survive OCR far
better than characters, and the parser already reads O, l and I as digits). It is taken as the one open case whose
court and type part is within MAX_EDITS characters of it, and only when every other candidate is at least MARGIN
further away; otherwise it is not routed on a guess: the document goes to review, naming what was read.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from classify.doctype import edit_distance
from classify.identifiers import parse_case_number

MAX_EDITS = 1
MARGIN = 2
DIGIT_LIKE = str.maketrans("OolI|", "00111")
SHAPE = re.compile(r"[（(〔\[【]\s*(\d{4})\s*[）)〕\]】]\s*([^\s（(）)，。；：:]{2,14}?)\s*第?\s*([0-9OolI|]{1,6})\s*号")


@dataclass(frozen=True)
class Garbled:
    read: str                  # as printed on the page
    case_no: str | None        # the open case it is, when it can only be that one
    reason: str


def garbled_number(text: str, open_cases: frozenset[str]) -> Garbled | None:
    """The first number-shaped run on the page that is not a case number, and the open case it can only be."""
    for match in SHAPE.finditer(unicodedata.normalize("NFKC", text or "")):
        read = match.group(0)
        if parse_case_number(read) is not None:
            continue
        middle = match.group(2).translate(DIGIT_LIKE)            # court codes hold no Latin letters
        return _resolve(read, int(match.group(1)), middle, _digits(match.group(3)), open_cases)
    return None


def _resolve(read: str, year: int, middle: str, seq: int, open_cases: frozenset[str]) -> Garbled:
    scored = []
    for case_no in open_cases:
        number = parse_case_number(case_no)
        if number is None or number.legacy or (number.year, number.seq) != (year, seq):
            continue
        scored.append((edit_distance(middle, f"{number.court}{number.special}{number.type_code}"), case_no))
    scored.sort()
    if scored and scored[0][0] <= MAX_EDITS and (len(scored) == 1 or scored[1][0] >= scored[0][0] + MARGIN):
        return Garbled(read, scored[0][1], f"case number read as {read}, taken as {scored[0][1]}: the only open case "
                                           f"it can be")
    near = ", ".join(case_no for _, case_no in scored[:3]) or "no open case of that year and number"
    return Garbled(read, None, f"case number read as {read} is not one that can be trusted ({near}): route it by hand")


def _digits(text: str) -> int:
    return int(text.translate(DIGIT_LIKE))
