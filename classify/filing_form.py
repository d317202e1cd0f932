"""The filing kiosk's form, pre-filled from the OCR text of the complaint (民事起诉状) or enforcement application
(强制执行申请书) the person just scanned. Each field says whether OCR found it: a found value is shown pre-filled for
the person to check and correct, never silently trusted; a field not found is left empty to be typed.

The claimant is the first party line labelled 原告/申请人/申请执行人/上诉人, the respondent the first labelled
被告/被申请人/被执行人/被上诉人 (classify.parties reads the names). A party's ID number is the first checksum-valid one
on its line or on the next line when that line starts no other party (公民身份号码…, 统一社会信用代码…); a company's
is its credit code. The claims are the lines from 诉讼请求 (上诉请求, 请求事项, 执行请求) up to 事实与理由, wrapped lines joined
and each numbered item on its own line. The phone is the first mobile number after 电话 or 手机 among the claimant's
lines (its representative's and agent's included), else outside any party's lines.

Values keep the full numbers: they are the record; whatever shows or logs them masks them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from classify.cause import case_cause
from classify.identifiers import find_identifiers, normalise_ocr_text
from classify.parties import find_parties

FIELDS = ("plaintiff", "plaintiff_id", "defendant", "defendant_id", "cause", "claims", "phone")
CLAIMANTS = ("原告", "申请人", "申请执行人", "上诉人")
RESPONDENTS = ("被告", "被申请人", "被执行人", "被上诉人")

_SPACE_IN_CJK = re.compile(r"(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])")
_CLAIMS_START = re.compile(r"^(?:诉讼请求|上诉请求|请求事项|执行请求|申请事项):?\s*")
_CLAIMS_END = re.compile(r"^(?:事实(?:与|和|及)理由|此致)")
_HEADING = re.compile(rf"{_CLAIMS_START.pattern}|{_CLAIMS_END.pattern}")
_ITEM = re.compile(r"^(?:\d{1,2}\s*[.、]|[一二三四五六七八九十]{1,3}、|\([一二三四五六七八九十\d]{1,3}\))")
_PHONE = re.compile(r"(?:电话|手机)(?:号码?)?\s*[:：]?\s*(?:\+?86[ -]?)?(1[3-9]\d(?:[ -]?\d{4}){2})(?![\d])")
_ORGANISATION = re.compile(r"(?:公司|银行|支行|分行|厂|合作社|事务所|中心|集团|委员会|医院|学校|商行)$")


@dataclass(frozen=True)
class Field:
    """One field of the form: `found` True when OCR read it (shown pre-filled, to be checked), else empty."""
    name: str
    value: str
    found: bool


def prefill(texts: list[str]) -> list[Field]:
    """The form's fields, in FIELDS order, from the OCR text of each scanned page in order."""
    lines = _lines(texts)
    sides = _sides(lines)
    plaintiff, plaintiff_id = _party(lines, CLAIMANTS)
    defendant, defendant_id = _party(lines, RESPONDENTS)
    values = {"plaintiff": plaintiff, "plaintiff_id": plaintiff_id, "defendant": defendant,
              "defendant_id": defendant_id, "cause": case_cause(texts) or "", "claims": _claims(lines),
              "phone": _phone(lines, sides)}
    return [Field(name, values[name], bool(values[name])) for name in FIELDS]


def _lines(texts: list[str]) -> list[str]:
    """Non-empty lines of all pages: NFKC, digit look-alikes fixed, spaces OCR put between Chinese removed."""
    text = normalise_ocr_text("\n".join(texts))
    return [line for raw in text.splitlines() if (line := _SPACE_IN_CJK.sub("", raw).strip())]


def _role(line: str) -> str | None:
    parties = find_parties(line)
    return parties[0].role if parties else None


def _party(lines: list[str], roles: tuple[str, ...]) -> tuple[str, str]:
    """(name, ID number) of the first party line with one of `roles`; empty strings for what is not there."""
    for at, line in enumerate(lines):
        party = next((p for p in find_parties(line) if p.role in roles), None)
        if party is not None:
            follows = lines[at + 1] if at + 1 < len(lines) and _role(lines[at + 1]) is None else ""
            return party.name, _identifier(party.name, f"{line}\n{follows}")
    return "", ""


def _identifier(name: str, text: str) -> str:
    """The party's checksum-valid number in `text`: a credit code for an organisation, else a resident ID number."""
    wanted = "credit_code" if _ORGANISATION.search(name) else "resident_id"
    found = find_identifiers(text)
    return next((i.value for i in found if i.kind == wanted), found[0].value if found else "")


def _sides(lines: list[str]) -> list[str | None]:
    """Whose party block each line is in: claimant, respondent, another party's, or None (title, claims, reasons)."""
    side, sides = None, []
    for line in lines:
        role = _role(line)
        if role in CLAIMANTS or role in RESPONDENTS:
            side = "claimant" if role in CLAIMANTS else "respondent"
        elif role == "第三人":
            side = "other"
        elif role is None and _HEADING.match(line):
            side = None
        sides.append(side)
    return sides


def _phone(lines: list[str], sides: list[str | None]) -> str:
    for wanted in ("claimant", None):
        for line, side in zip(lines, sides):
            match = _PHONE.search(line) if side == wanted else None
            if match:
                return re.sub(r"[ -]", "", match[1])
    return ""


def _claims(lines: list[str]) -> str:
    """The claims: lines after the claims heading up to the reasons (or 此致), each numbered item on its own line."""
    start = next((at for at, line in enumerate(lines) if _CLAIMS_START.match(line)), None)
    if start is None:
        return ""
    items: list[str] = []
    for at, line in enumerate(lines[start:]):
        if at and _CLAIMS_END.match(line):
            break
        line = _CLAIMS_START.sub("", line) if at == 0 else line
        if items and not _ITEM.match(line):
            items[-1] += line
        elif line:
            items.append(line)
    return "\n".join(items)
