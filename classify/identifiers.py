"""Identifiers in OCR text: case numbers (案号), resident ID numbers, unified social credit codes, and masking them."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

# --- OCR clean-up -----------------------------------------------------------------------------------------------

_DIGIT_FIX = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"})
_D = r"[0-9OolI|]"                      # a digit as OCR may render it
_OPEN = r"[(\[〔【]"
_CLOSE = r"[)\]〕】]"
_CJK = r"[\u4e00-\u9fff]"


def _spaced(word: str) -> str:
    """Regex for `word` with any whitespace (also line breaks) allowed between its characters."""
    return r"\s*".join(re.escape(char) for char in word)


def _alternatives(words: tuple[str, ...]) -> str:
    return "|".join(_spaced(word) for word in sorted(words, key=len, reverse=True))


# --- case numbers -------------------------------------------------------------------------------------------------

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼兵军"
TYPE_CODES: tuple[str, ...] = (
    # civil
    "民初", "民终", "民申", "民再", "民抗", "民监", "民特", "民催", "民督", "民撤", "民辖", "民辖终", "民辖监",
    "民他", "民请", "民提", "民司", "财保", "行保", "证保",
    # bankruptcy and compulsory liquidation
    "破申", "破", "破终", "破监", "强清申", "强清", "强清终",
    # criminal
    "刑初", "刑终", "刑核", "刑更", "刑申", "刑再", "刑抗", "刑监", "刑医", "刑没", "刑他", "刑提", "刑辖",
    # administrative
    "行初", "行终", "行审", "行审复", "行申", "行再", "行抗", "行监", "行他", "行辖", "行赔初", "行赔终",
    # enforcement
    "执", "执恢", "执保", "执异", "执复", "执监", "执协", "执他", "执请", "执清",
    # state compensation, judicial assistance and sanctions
    "法赔", "委赔", "赔", "司救", "司惩", "认港", "认澳", "认台", "协外认",
)
_LEGACY_TYPE = re.compile(
    r"(?:民|商|刑|行|执|知|海|立|赔|破|督|特|监)(?:[一二三四五六七八九十]|\([^)]*\))*"
    r"(?:初|终|申|再|监|特|督|保|复|异|恢|提|破|催|他|抗)?$")
_NOT_A_COURT = re.compile(r"[证鉴检公]")  # notary, appraisal and prosecutors' numbers
_YEAR = rf"(?P<year>{_D}(?:\s*{_D}){{3}})"
_SEQ = rf"(?P<seq>{_D}(?:\s*{_D}){{0,7}})"
_COURT = rf"(?P<court>{_spaced('最高法')}|[{PROVINCES}](?:\s*{_D}\s*{_D}(?:\s*{_D}\s*{_D})?)?)"
_HEAD = rf"{_OPEN}\s*{_YEAR}\s*{_CLOSE}\s*"


def _modern_pattern(type_regex: str) -> re.Pattern[str]:
    return re.compile(rf"{_HEAD}{_COURT}\s*(?P<special>知)?\s*(?P<type>{type_regex})\s*{_SEQ}\s*号")


_MODERN_STRICT = _modern_pattern(_alternatives(TYPE_CODES))
_MODERN_LOOSE = _modern_pattern(rf"{_CJK}(?:\s*{_CJK}){{0,2}}")
_LEGACY = re.compile(rf"{_HEAD}(?P<body>{_CJK}(?:\s*[\u4e00-\u9fff()]){{0,13}}?)\s*字\s*第\s*{_SEQ}\s*号")


@dataclass(frozen=True)
class CaseNumber:
    """One case number; `raw` is the text it was read from and takes no part in equality."""
    year: int
    court: str
    special: str
    type_code: str
    seq: int
    legacy: bool = False
    raw: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        """Canonical form with full-width brackets: （2021）浙0803民初1234号, （2012）玉区法民初字第1486号."""
        if self.legacy:
            return f"（{self.year}）{self.court}{self.type_code}字第{self.seq}号"
        return f"（{self.year}）{self.court}{self.special}{self.type_code}{self.seq}号"

    def __str__(self) -> str:
        return self.text


def _compact(text: str) -> str:
    """Whitespace removed and digit look-alikes (O o l I |) turned into digits."""
    return re.sub(r"\s+", "", text).translate(_DIGIT_FIX)


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def _valid_year(raw_year: str) -> int | None:
    year = int(_compact(raw_year))
    return year if _has_digit(raw_year) and 1949 <= year <= 2100 else None


def _modern_from(match: re.Match[str]) -> CaseNumber | None:
    year = _valid_year(match["year"])
    if year is None or not _has_digit(match["seq"]):
        return None
    return CaseNumber(year, _compact(match["court"]), match["special"] or "", _compact(match["type"]),
                      int(_compact(match["seq"])), False, match.group().strip())


def _split_legacy_body(body: str, strict: bool) -> tuple[str, str] | None:
    """(court, type) of a pre-2016 body such as 玉区法民初; None when strict and no known type ends it."""
    for start in range(len(body)):
        if _LEGACY_TYPE.match(body, start) and not (strict and _NOT_A_COURT.search(body[:start])):
            return body[:start], body[start:]
    if strict or len(body) < 2:
        return None
    return body[:-2], body[-2:]


def _legacy_from(match: re.Match[str], strict: bool) -> CaseNumber | None:
    year = _valid_year(match["year"])
    parts = _split_legacy_body(_compact(match["body"]), strict)
    if year is None or parts is None or not _has_digit(match["seq"]):
        return None
    return CaseNumber(year, parts[0], "", parts[1], int(_compact(match["seq"])), True, match.group().strip())


def _case_matches(text: str, strict: bool) -> list[tuple[int, int, CaseNumber]]:
    """(start, end, number) of every case number in NFKC text, in reading order."""
    found = [(m.start(), m.end(), _modern_from(m)) for m in (_MODERN_STRICT if strict else _MODERN_LOOSE).finditer(text)]
    found += [(m.start(), m.end(), _legacy_from(m, strict)) for m in _LEGACY.finditer(text)]
    return sorted(((start, end, number) for start, end, number in found if number is not None),
                  key=lambda item: item[:2])


def find_case_numbers(text: str, strict: bool = True) -> list[CaseNumber]:
    """Every distinct case number in a page of OCR text, in reading order.

    Tolerates full-width characters, the brackets ( ) （ ） 〔 〕 [ ] 【 】, spaces and line breaks inside the
    number and O/o/l/I/| read for digits. In strict mode only known type codes count, so notary, appraisal and
    prosecutors' numbers that share the bracket-year shape are ignored.
    """
    numbers = (number for _, _, number in _case_matches(unicodedata.normalize("NFKC", text), strict))
    return list(dict.fromkeys(numbers))


def parse_case_number(text: str, strict: bool = True) -> CaseNumber | None:
    """The case number that `text` consists of (surrounding whitespace allowed), else None."""
    normal = unicodedata.normalize("NFKC", text).strip()
    matches = _case_matches(normal, strict)
    if len(matches) == 1 and matches[0][:2] == (0, len(normal)):
        return matches[0][2]
    return None


# --- OCR text normalisation ---------------------------------------------------------------------------------------

_ID_LOOSE = re.compile(rf"(?<![0-9A-Za-z])(?:{_D}{{17}}[0-9OolI|Xx]|{_D}{{15}})(?![0-9A-Za-z])")
_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[OolI|]+(?=[0-9])")


def _tidy_case(match: re.Match[str]) -> str:
    return _compact(match.group())


def _tidy_id(match: re.Match[str]) -> str:
    token = match.group()
    if sum(char in "OolI|" for char in token) > 4:
        return token
    return token.translate(_DIGIT_FIX).upper()


def normalise_ocr_text(text: str) -> str:
    """OCR text made ready for matching identifiers.

    NFKC (full-width digits, letters and brackets to ASCII); case numbers wrapped over lines or split by spaces
    joined; inside case numbers and ID-number-shaped tokens O/o → 0 and l/I/| → 1; elsewhere only look-alikes
    between two digits are fixed.
    """
    text = unicodedata.normalize("NFKC", text)
    for pattern in (_MODERN_STRICT, _LEGACY):
        text = pattern.sub(_tidy_case, text)
    text = _ID_LOOSE.sub(_tidy_id, text)
    return _BETWEEN_DIGITS.sub(lambda m: m.group().translate(_DIGIT_FIX), text)


# --- resident ID numbers (GB 11643) and unified social credit codes (GB 32100) ------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _valid_birth(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1850 <= born.year and born <= date.today()


def resident_id_check(first17: str) -> str:
    """Check character of an 18-digit resident ID number from its first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def valid_resident_id(s: str) -> bool:
    """True for an 18-character ID with a valid birth date and check character, or a 15-digit old ID with a valid date."""
    s = s.strip().upper()
    if len(s) == 15:
        return s.isascii() and s.isdigit() and _valid_birth("19" + s[6:12])
    if len(s) != 18 or not (s[:17].isascii() and s[:17].isdigit()):
        return False
    return _valid_birth(s[6:14]) and resident_id_check(s[:17]) == s[17]


def credit_code_check(first17: str) -> str:
    """Check character of a unified social credit code from its first 17 characters."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def valid_credit_code(s: str) -> bool:
    """True for an 18-character unified social credit code over its alphabet with a matching check character."""
    s = s.strip().upper()
    if len(s) != 18 or any(char not in _CREDIT_CHARS for char in s):
        return False
    return credit_code_check(s[:17]) == s[17]


@dataclass(frozen=True)
class Identifier:
    """A checksum-valid identifier found in text."""
    kind: Literal["resident_id", "credit_code"]
    value: str


_ID_TOKEN = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Z]{18}|[0-9]{15})(?![0-9A-Za-z])")


def _identify(token: str) -> Identifier | None:
    if re.fullmatch(r"[0-9]{17}[0-9X]|[0-9]{15}", token) and valid_resident_id(token):
        return Identifier("resident_id", token)
    if valid_credit_code(token):
        return Identifier("credit_code", token)
    return None


def find_identifiers(text: str) -> list[Identifier]:
    """Distinct checksum-valid resident IDs and credit codes in OCR text, in reading order (ID checksum tried first)."""
    tokens = _ID_TOKEN.findall(normalise_ocr_text(text))
    found = (_identify(token) for token in tokens)
    return list(dict.fromkeys(ident for ident in found if ident is not None))


# --- masking --------------------------------------------------------------------------------------------------------

def mask_identifier(value: str) -> str:
    """Keep the first 6 and last 4 characters: 11010519491231002X → 110105********002X."""
    if len(value) > 10:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    keep = min(4, len(value) // 2)
    return "*" * (len(value) - keep) + value[len(value) - keep:]


_NOT_ALNUM_BEFORE = r"(?<![\dA-Za-z])"
_NOT_ALNUM_AFTER = r"(?![\dA-Za-z])"
_CREDIT_SHAPE = r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"
_MASK_RUN = re.compile(rf"{_NOT_ALNUM_BEFORE}(?:\d{{17}}[XxＸｘ]|\d{{15,19}}|{_CREDIT_SHAPE}){_NOT_ALNUM_AFTER}")
_MASK_SPACED = re.compile(
    rf"{_NOT_ALNUM_BEFORE}(?:\d{{6}} \d{{8}} \d{{3}}[\dXx]|\d{{4}}(?:[ -]\d{{4}}){{3}}(?:[ -]\d{{1,4}})?){_NOT_ALNUM_AFTER}")
_MASK_PHONE = re.compile(rf"{_NOT_ALNUM_BEFORE}((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{{4}})[ -]?(\d{{4}}){_NOT_ALNUM_AFTER}")


def _mask_spaced(match: re.Match[str]) -> str:
    return mask_identifier(re.sub(r"[ -]", "", match.group()))


def _mask_phone(match: re.Match[str]) -> str:
    return f"{match[1]}****{match[3]}"


_MASKERS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_MASK_SPACED, _mask_spaced),
    (_MASK_RUN, lambda m: mask_identifier(m.group())),
    (_MASK_PHONE, _mask_phone),
)


def mask_text(text: str) -> str:
    """Free text with every ID-number-shaped token (valid or not), credit code, mobile number and bank-card-like
    16–19 digit run masked; used on every log line, screen and receipt."""
    for pattern, mask in _MASKERS:
        text = pattern.sub(mask, text)
    return text
