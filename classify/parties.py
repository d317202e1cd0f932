"""Parties named in a document's party block (原告：…, 被告：…, 委托诉讼代理人：…)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ROLES: tuple[str, ...] = (
    "原告", "被告", "第三人", "上诉人", "被上诉人", "原审原告", "原审被告", "原审第三人", "申请人", "被申请人",
    "申请执行人", "被执行人", "委托诉讼代理人", "法定代表人",
)
_ORDINAL = r"[一二三四五六七八九十\d]*"
_GAP = r"[ \t\u3000]*"                  # spaces within one line only
_ALIAS = rf"(?:{_GAP}\([^()\n]{{1,20}}\))?"     # 原告(反诉被告)：…
_NAME_END = ",;(。"                       # after NFKC: ，→,  ；→;  （→(


def _spaced(word: str) -> str:
    return _GAP.join(word)


_ROLE_LINE = re.compile(
    rf"^{_GAP}(?P<role>{'|'.join(_spaced(r) for r in sorted(ROLES, key=len, reverse=True))})"
    rf"{_GAP}{_ORDINAL}{_ALIAS}{_GAP}:{_GAP}(?P<name>[^{re.escape(_NAME_END)}\n]+)",
    re.MULTILINE)
_SPACE_IN_CJK = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


@dataclass(frozen=True)
class Party:
    """One party or representative as named in the text."""
    role: str
    name: str


def _clean(text: str) -> str:
    """Spaces OCR put between CJK characters removed; surrounding whitespace stripped."""
    return _SPACE_IN_CJK.sub("", text).strip()


def find_parties(text: str) -> list[Party]:
    """Parties from lines like '原告：张三，男，…' in reading order, each (role, name) once.

    The name ends at the first comma, semicolon, opening bracket, full stop or the end of the line; full-width
    punctuation is accepted (the text is NFKC-normalised first).
    """
    normal = unicodedata.normalize("NFKC", text)
    found = (Party(_clean(m["role"]), _clean(m["name"])) for m in _ROLE_LINE.finditer(normal))
    return list(dict.fromkeys(party for party in found if party.name))
