"""Split a stack of recognised pages into documents and give each a type, a volume and a case."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from classify.doctype import TypeGuess, classify, refine_by_case_number, starts_document
from classify.identifiers import find_case_numbers, find_identifiers, mask_identifier, parse_case_number
from classify.parties import find_parties
from classify.routing import Garbled, garbled_number
from classify.separator import Separator, parse_separator_text
from classify.taxonomy import Taxonomy


@dataclass(frozen=True)
class PageFacts:
    """What segmentation needs to know of one page, in stack order."""
    page_id: int
    role: str                      # content | blank | separator
    title: str | None
    text: str
    codes: tuple[str, ...] = ()    # decoded code texts


@dataclass(frozen=True)
class DocumentDraft:
    page_ids: tuple[int, ...]
    type_code: str
    title: str
    confidence: float
    volume: str
    case_no: str | None
    review: bool
    reason: str
    separator_page_id: int | None = None
    parties: tuple[tuple[str, str], ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()


# Copies that carry no title of their own but always begin a document: words that all appear on such a page.
UNTITLED_STARTS = (
    (("居民身份证", "签发机关"), "PARTY_ID", "居民身份证（复印件）"),
    (("签发机关", "有效期限"), "PARTY_ID", "居民身份证（复印件）"),
    (("营业执照", "统一社会信用代码", "法定代表人"), "PARTY_ID", "营业执照（复印件）"),
)
UNTITLED_CONFIDENCE = 0.85


def untitled_type(text: str) -> tuple[str, str] | None:
    """(type, title) of an identity card or business licence copy, which starts a document without a title line."""
    compact = "".join(text.split())
    return next(((code, title) for words, code, title in UNTITLED_STARTS
                 if all(word in compact for word in words)), None)


HEAD_LINES = 3            # a court's document prints the court's name on one of its first lines
ADDRESSED = ("此致", "此致敬礼")   # …but a court's name after these is whom a party's paper is addressed to, at its end
COURT_HEAD = re.compile(r"[\u4e00-\u9fff]{2,30}人民法院")
LIST_WORDS = ("证据名称", "证明目的", "证据来源", "序号")    # a page of an evidence list, as its table head says
EVIDENCE_AFTER_LIST = 0.8
UNREAD_CHARS = 2          # a page with ink (not blank) from which OCR read fewer characters than this…
UNREAD_CONFIDENCE = 0.4   # …leaves its document this sure at most: the page may begin another one
EVIDENCE_TYPES = ("EVIDENCE_LIST", "EVIDENCE")   # what a document with no listed title that follows them is


@dataclass
class _Open:
    separator: Separator | None = None
    separator_page_id: int | None = None
    pages: list[PageFacts] = field(default_factory=list)
    evidence: bool = False         # untitled pages that followed an evidence list: the evidence it lists


def split(pages: list[PageFacts]) -> list[_Open]:
    """Separators and titled pages start documents, and so does an untitled page that begins as a document does
    (an identity-card copy; a court's name, or the page's own case number, at its top: its title did not read) or
    follows an identity-card copy; untitled pages continue the one before — but those after an evidence list that
    are not pages of the list are the evidence it lists; blanks are skipped."""
    groups: list[_Open] = []
    for page in pages:
        if page.role == "separator":
            groups.append(_Open(_separator_of(page), page.page_id))
        elif page.role == "content":
            current = groups[-1] if groups else None
            fresh_separator = current is not None and current.separator is not None and not current.pages
            evidence = current is not None and _after_evidence_list(current, page)
            after_copy = current is not None and _is_copy(current)
            if current is None or (_starts(page) or evidence or after_copy) and not fresh_separator:
                current = _Open(evidence=evidence)
                groups.append(current)
            current.pages.append(page)
    return [g for g in groups if g.pages]


def _is_copy(group: _Open) -> bool:
    """A group that is an identity-card or licence copy: one page, never continued (each side of a card that
    needs two pages starts its own)."""
    first = group.pages[0] if group.pages else None
    return first is not None and group.separator is None and first.title is None and \
        untitled_type(first.text) is not None


def _starts(page: PageFacts) -> bool:
    if starts_document(page.title):
        return True
    return page.title is None and (untitled_type(page.text) is not None or begins_like_a_document(page.text))


def begins_like_a_document(text: str) -> bool:
    """A court's name alone on one of the first lines, or the page's own case number near its top: how a court's
    document begins; the pages that continue one do not."""
    lines = [line.replace(" ", "") for line in text.splitlines() if line.strip()][:HEAD_LINES]
    heads = [line for before, line in zip([""] + lines, lines) if before not in ADDRESSED]
    return any(COURT_HEAD.fullmatch(line) for line in heads) or _own_case_number(text) is not None


def _after_evidence_list(current: _Open, page: PageFacts) -> bool:
    """An untitled page after the pages of an evidence list, not itself a page of the list."""
    if page.title is not None or current.evidence or not current.pages or current.separator is not None:
        return False
    first = current.pages[0]
    listed = first.title is not None and any(word in (first.title or "") for word in ("证据目录", "证据清单"))
    compact = "".join(page.text.split())
    return listed and not any(word in compact for word in LIST_WORDS)


def _separator_of(page: PageFacts) -> Separator:
    for text in page.codes:
        found = parse_separator_text(text)
        if found is not None:
            return found
    return Separator(None, None)


def segment(pages: list[PageFacts], taxonomy: Taxonomy, *, stack_case: str | None,
            review_below: float, open_cases: frozenset[str] = frozenset()) -> list[DocumentDraft]:
    """Documents of one stack. Case: separator sheet › the stack's case › a case number read on the document (one
    OCR garbled: the one open case it can be, see classify.routing) › the case routed just before in the same
    stack; none of these → unrouted, for review. A garbled number that could be more than one case is never
    guessed: the document goes to review saying what was read."""
    drafts: list[DocumentDraft] = []
    routed = stack_case
    for group in split(pages):
        case_no, note = _case_of(group, stack_case, routed, open_cases)
        routed = case_no or routed
        among_evidence = bool(drafts) and drafts[-1].type_code in EVIDENCE_TYPES and drafts[-1].case_no == case_no
        drafts.append(_draft(group, case_no, taxonomy, review_below, note, among_evidence))
    return drafts


def _case_of(group: _Open, stack_case: str | None, routed: str | None,
             open_cases: frozenset[str]) -> tuple[str | None, Garbled | None]:
    if group.separator is not None and group.separator.case_no:
        return group.separator.case_no, None
    if stack_case:
        return stack_case, None
    own = _own_case_number(group.pages[0].text)
    found = find_case_numbers(group.pages[0].text)
    if own or found:
        return own or found[0].text, None
    garbled = garbled_number(group.pages[0].text, open_cases)
    if garbled is not None:
        return garbled.case_no, garbled
    return routed, None


OWN_NUMBER_LINES = 8     # a document prints its own case number near its top, on a line of its own


def _own_case_number(text: str) -> str | None:
    """The case number a page prints as its own (a line near the top holding only it, perhaps after 案号);
    numbers cited inside sentences (the judgment an enforcement rests on) are not the page's own."""
    for line in text.splitlines()[:OWN_NUMBER_LINES]:
        bare = line.strip().removeprefix("案号").strip(" :：")
        number = parse_case_number(bare) if bare else None
        if number is not None:
            return number.text
    return None


def _draft(group: _Open, case_no: str | None, taxonomy: Taxonomy, review_below: float,
           garbled: Garbled | None = None, among_evidence: bool = False) -> DocumentDraft:
    first = group.pages[0]
    text = "\n".join(p.text for p in group.pages)
    guess = _type_of(group, first, text, taxonomy, case_no)
    if among_evidence and guess.confidence < review_below and group.separator is None and "EVIDENCE" in taxonomy.codes:
        guess = TypeGuess("EVIDENCE", EVIDENCE_AFTER_LIST, "", f"no listed title, among the evidence ({guess.reason})")
    unread = [p.page_id for p in group.pages if p.role == "content" and len("".join(p.text.split())) < UNREAD_CHARS]
    if unread and guess.confidence > UNREAD_CONFIDENCE:
        guess = replace(guess, confidence=UNREAD_CONFIDENCE,
                        reason=f"page {unread[0]} read no text: where it belongs is not known ({guess.reason})")
    doc_type = taxonomy.get(guess.code) if guess.code in taxonomy.codes else None
    volume = (group.separator.volume if group.separator and group.separator.type_code
              else doc_type.volume if doc_type else "ZJ")
    copy = untitled_type(first.text) if first.title is None else None
    title = first.title or (copy[1] if copy else doc_type.name if doc_type else "未识别材料")
    reasons = [guess.reason] + ([garbled.reason] if garbled else []) + \
        ([] if case_no or garbled else ["no case number: route it by hand"])
    printed = _own_case_number(first.text)
    differs = bool(case_no and printed and printed != case_no)
    if differs:
        reasons.append(f"the page prints case number {printed}, filed under {case_no}: check which is right")
    review = guess.confidence < review_below or case_no is None or differs
    return DocumentDraft(
        tuple(p.page_id for p in group.pages), guess.code, title, round(guess.confidence, 3), volume, case_no,
        review, "; ".join(r for r in reasons if r), group.separator_page_id,
        tuple((p.role, p.name) for p in find_parties(text)),
        tuple((i.kind, mask_identifier(i.value)) for i in find_identifiers(text)))


def _type_of(group: _Open, first: PageFacts, text: str, taxonomy: Taxonomy, case_no: str | None) -> TypeGuess:
    if group.separator is not None and group.separator.type_code in taxonomy.codes:
        return TypeGuess(group.separator.type_code, 1.0, "", "separator sheet")
    untitled = untitled_type(first.text) if first.title is None else None
    if untitled is not None and untitled[0] in taxonomy.codes:
        return TypeGuess(untitled[0], UNTITLED_CONFIDENCE, "", f"copy of {untitled[1]}")
    if group.evidence and "EVIDENCE" in taxonomy.codes:
        return TypeGuess("EVIDENCE", EVIDENCE_AFTER_LIST, "", "untitled pages after an evidence list")
    case = parse_case_number(case_no) if case_no else None
    guess = classify(first.title, text, taxonomy, case.type_code if case else None)
    return _by_printed_number(guess, first.text, case, taxonomy)


def _by_printed_number(guess: TypeGuess, text: str, case, taxonomy: Taxonomy) -> TypeGuess:
    """A decision printed with another instance's number (民终 in a 民初 case …) is that court's decision. The
    number that counts is the decision's own, printed under its title; the numbers its text cites (an appellate
    judgment quotes the first-instance one) only when it prints none of its own."""
    if case is None:
        return guess
    own = _own_case_number(text)
    for number in [parse_case_number(own)] if own else find_case_numbers(text):
        code = refine_by_case_number(guess.code, case.type_code, number.type_code, taxonomy)
        if code != guess.code:
            return TypeGuess(code, guess.confidence, guess.family, f"{guess.reason}; printed number {number.text}")
    return guess
