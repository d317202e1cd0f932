"""Document type of a page: its title found in the OCR layout, then matched against the taxonomy."""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from classify.identifiers import find_case_numbers
from classify.taxonomy import FAMILIES_2018, DocType, Taxonomy
from ocr.types import Line, PageLayout

UNKNOWN = "UNKNOWN"
EXACT, NOTICE, CONTAINED, FUZZY = 0.95, 0.85, 0.85, 0.75
CUE_BASE, CUE_STEP, CUE_MAX = 0.2, 0.1, 0.6

TITLE_ZONE = 0.40               # title lies in the top 40 % of the page
CENTRE_TOLERANCE = 0.15         # line centre within 15 % of the page width from the page centre
MAX_TITLE_CHARS = 20
TALLER_THAN_BODY = 1.1          # title glyphs are at least this much taller than the page's median line

_SPACES = re.compile(r"\s+")
_BRACKETED = re.compile(r"\([^()]*\)")
_NOTICE_SUFFIX = "通知书"


# --- title -----------------------------------------------------------------------------------------------------------

def _compact(text: str) -> str:
    return _SPACES.sub("", text)


def _glyph_height(line: Line) -> float:
    """Median word height where words are known (line boxes include ascenders of mixed text), else the line height."""
    return float(statistics.median(w.height for w in line.words)) if line.words else float(line.height)


def _is_title_shaped(line: Line, layout: PageLayout) -> bool:
    text = _compact(line.text)
    centred = abs(line.centre_x - layout.width / 2) <= CENTRE_TOLERANCE * layout.width
    return (2 <= len(text) <= MAX_TITLE_CHARS and centred and line.top < TITLE_ZONE * layout.height
            and not _is_excluded(text))


SENTENCE_MARKS = ",.;:"         # after NFKC (，。；： too): no title in the taxonomy holds one; a short line of body text
                                # does (法定代表人：…, 审判员，…), and a page garbled past reading can show one centred…
SENTENCE_CHARS = 6              # …in a line this long at least (a letter-spaced 收　条 may read as 收。条)


def could_be_title(text: str) -> bool:
    """Whether a title as read (the line read again, say) can be one: short, and none of what _is_excluded names."""
    compact = _compact(text)
    return 2 <= len(compact) <= MAX_TITLE_CHARS and not _is_excluded(compact)


def _is_excluded(text: str) -> bool:
    """Court names, case numbers, mostly-digit lines (dates, page numbers) and lines with sentence punctuation are
    never titles."""
    normal = unicodedata.normalize("NFKC", text).replace("。", ".")
    digits = sum(char.isdigit() for char in normal)
    return normal.endswith("人民法院") or bool(find_case_numbers(normal, strict=False)) or digits * 2 > len(normal) \
        or _is_sentence(normal)


def _is_sentence(normal: str) -> bool:
    inner = normal.strip(SENTENCE_MARKS)
    return any(mark in inner for mark in SENTENCE_MARKS) and sum(char.isalnum() for char in inner) >= SENTENCE_CHARS


def find_title_line(layout: PageLayout) -> Line | None:
    """The title line of a page: the tallest short, roughly centred line in the top 40 %.

    Court names (…人民法院), case numbers and mostly-digit lines are skipped. On a page of three or more lines the
    title must also stand out: its glyphs at least 10 % taller than the page's median line. None when no line
    qualifies, which marks a continuation page.
    """
    candidates = [line for line in layout.lines if _is_title_shaped(line, layout)]
    if not candidates:
        return None
    best = max(candidates, key=lambda line: (_glyph_height(line), -line.top))
    if len(layout.lines) >= 3:
        body = statistics.median(_glyph_height(line) for line in layout.lines)
        if _glyph_height(best) < TALLER_THAN_BODY * body:
            return None
    return best


def find_title(layout: PageLayout) -> str | None:
    """Title of a page (see find_title_line) with spaces removed; None for a continuation page."""
    line = find_title_line(layout)
    return _compact(line.text) if line else None


def starts_document(title: str | None) -> bool:
    """A page with a title (as found by find_title) starts a new document; untitled pages continue the one before."""
    return bool(title and title.strip())


# --- classification --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeGuess:
    """A page's document type with how sure the guess is (0..1), its coarse 2018 family ('' if none) and why."""
    code: str
    confidence: float
    family: str
    reason: str


@dataclass(frozen=True)
class _TitleMatch:
    codes: tuple[str, ...]
    confidence: float
    reason: str


def clean_title(title: str) -> str:
    """Title as matched: NFKC, whitespace and bracketed remarks such as （副本） removed."""
    return _BRACKETED.sub("", _compact(unicodedata.normalize("NFKC", title)))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _title_pairs(taxonomy: Taxonomy) -> Iterable[tuple[str, str]]:
    return ((title, doc.code) for doc in taxonomy.types for title in doc.titles)


def _exact(title: str, taxonomy: Taxonomy) -> _TitleMatch | None:
    codes = tuple(code for known, code in _title_pairs(taxonomy) if known == title)
    return _TitleMatch(codes, EXACT, f"title {title} listed") if codes else None


def is_listed_title(title: str, taxonomy: Taxonomy) -> bool:
    """Whether a title, as read, is exactly one the taxonomy lists (then it needs no second reading)."""
    return _exact(clean_title(title), taxonomy) is not None


def _notice(title: str, taxonomy: Taxonomy) -> _TitleMatch | None:
    if not title.endswith(_NOTICE_SUFFIX):
        return None
    before = title[: -len(_NOTICE_SUFFIX)]
    for rule in taxonomy.rules.notices:
        if rule.word in before:
            return _TitleMatch(rule.codes, NOTICE, f"{rule.word} before 通知书 in {title}")
    return None


def _contained(title: str, taxonomy: Taxonomy) -> _TitleMatch | None:
    inside = [(known, code) for known, code in _title_pairs(taxonomy) if known in title]
    if not inside:
        return None
    longest = max(len(known) for known, _ in inside)
    codes = tuple(dict.fromkeys(code for known, code in inside if len(known) == longest))
    word = next(known for known, _ in inside if len(known) == longest)
    return _TitleMatch(codes, CONTAINED, f"title {title} contains {word}")


def _fuzzy(title: str, taxonomy: Taxonomy) -> _TitleMatch | None:
    if len(title) < 4:
        return None
    close = [(known, code) for known, code in _title_pairs(taxonomy)
             if len(known) >= 4 and edit_distance(title, known) <= 1]
    if not close:
        return None
    codes = tuple(dict.fromkeys(code for _, code in close))
    return _TitleMatch(codes, FUZZY, f"title {title} is one character from {close[0][0]}")


def _match_title(title: str, taxonomy: Taxonomy) -> _TitleMatch | None:
    """Exact title, then '…通知书' by the word before it, then a contained title, then one OCR error away."""
    for matcher in (_exact, _notice, _contained, _fuzzy):
        match = matcher(title, taxonomy)
        if match is not None:
            return match
    return None


def _pick(codes: tuple[str, ...], taxonomy: Taxonomy, case_family: str | None) -> str:
    """Of several candidate codes the first in the case family's binding orders, else the first."""
    if case_family is not None and case_family in taxonomy.families:
        for volume in ("ZJ", "FJ"):
            order = taxonomy.binding_order(case_family, volume)
            listed = [code for code in codes if code in order]
            if listed:
                return listed[0]
    return codes[0]


def _apply_body_rules(code: str, text: str, taxonomy: Taxonomy) -> tuple[str, str]:
    for rule in taxonomy.rules.body:
        word = next((w for w in rule.words if w in text), None) if rule.when == code else None
        if word is not None:
            return rule.code, f"; {word} in the text"
    return code, ""


def _apply_remap(code: str, taxonomy: Taxonomy, case_family: str | None) -> tuple[str, str]:
    for remap in taxonomy.rules.family_remap:
        if remap.family == case_family and remap.source == code:
            return remap.target, f"; {remap.source} filed in a case of family {case_family}"
    return code, ""


def title_family(title: str | None) -> str:
    """The 2018 coarse family named in a title (…判决书 → 判决书; …状 or …申请书 → 书状), else ''."""
    if not title:
        return ""
    named = next((family for family in FAMILIES_2018 if family in title), "")
    if named:
        return named
    return "书状" if title.endswith(("状", "申请书")) else ""


def _family(doc: DocType | None, title: str | None) -> str:
    return title_family(title) or (doc.family if doc else "")


def _by_title(title: str, text: str, taxonomy: Taxonomy, case_family: str | None) -> TypeGuess | None:
    match = _match_title(title, taxonomy)
    if match is None:
        return None
    code, body_why = _apply_body_rules(_pick(match.codes, taxonomy, case_family), text, taxonomy)
    code, remap_why = _apply_remap(code, taxonomy, case_family)
    doc = taxonomy.get(code)
    return TypeGuess(code, match.confidence, _family(doc, title), match.reason + body_why + remap_why)


def _cue_hits(doc: DocType, text: str) -> tuple[str, ...]:
    return tuple(cue for cue in dict.fromkeys(doc.cues) if cue in text)


def _by_cues(title: str | None, text: str, taxonomy: Taxonomy, case_family: str | None) -> TypeGuess | None:
    hits = {doc.code: found for doc in taxonomy.types if (found := _cue_hits(doc, text))}
    if not hits:
        return None
    best = max(len(found) for found in hits.values())
    picked = _pick(tuple(code for code, found in hits.items() if len(found) == best), taxonomy, case_family)
    code, remap_why = _apply_remap(picked, taxonomy, case_family)
    confidence = round(min(CUE_MAX, CUE_BASE + CUE_STEP * best), 2)
    reason = f"body cues: {', '.join(hits[picked])}{remap_why}"
    return TypeGuess(code, confidence, _family(taxonomy.get(code), title), reason)


def classify(title: str | None, text: str, taxonomy: Taxonomy, case_type_code: str | None = None) -> TypeGuess:
    """Document type of a page from its title and text.

    1. Title (from find_title): an exactly listed title gives confidence 0.95; a '…通知书' title not listed is told
       apart by the word before 通知书 (0.85); a title containing a listed title, e.g. 诉前财产保全申请书 (0.85);
       a title of at least 4 characters one edit from a listed one, as when OCR drops or misreads a character (0.75).
       The page text then refines it by the taxonomy's rules: 民事裁定书 with 撤回起诉/撤诉 → WITHDRAWAL, with
       保全/查封/冻结 → PRESERVATION; and in an enforcement case a judgment becomes the enforcement basis.
    2. No title match: body cues score 0.3 for one distinct cue up to at most 0.6.
    3. Nothing found: code 'UNKNOWN', confidence 0, the coarse 2018 family if the title names one.
    Types sharing a title (受理案件通知书, 评估报告) are told apart by the binding order of the case's family, given
    `case_type_code` (民初, 执, …). Whether a judgment is the higher or lower court's (HIGHER_COURT_DOC,
    LOWER_COURT_DOC) depends on the case number printed on it: see refine_by_case_number. Callers flag guesses
    with less confidence than `classify.review_below_confidence` for a human check (classify.segment).
    """
    case_family = taxonomy.family_of_case_type(case_type_code) if case_type_code else None
    compact_text = _compact(unicodedata.normalize("NFKC", text))
    cleaned = (clean_title(title) if title else "") or None
    guess = _by_title(cleaned, compact_text, taxonomy, case_family) if cleaned else None
    guess = guess or _by_cues(cleaned, compact_text, taxonomy, case_family)
    return guess or TypeGuess(UNKNOWN, 0.0, title_family(cleaned), "no listed title and no body cue")


def refine_by_case_number(code: str, case_type_code: str, doc_case_type_code: str, taxonomy: Taxonomy) -> str:
    """The taxonomy's case-number rules: e.g. JUDGMENT carrying a 民终 number inside a 民初 case → HIGHER_COURT_DOC."""
    case_family = taxonomy.family_of_case_type(case_type_code)
    for rule in taxonomy.rules.case_number:
        if code in rule.doc_codes and rule.case_family == case_family and doc_case_type_code in rule.doc_case_types:
            return rule.code
    return code
