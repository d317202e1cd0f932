"""The cause of action (案由) a case's papers print: after the label 案由 (a line of the complaint, a cell of the
summons or the proof of service), or as the longest known cause printed right before 一案 in the court's own
sentences ("原告张三与被告李四民间借贷纠纷一案", "你诉李四买卖合同纠纷一案"). The case's cause is the one its papers
print most often; the names come from config/causes.yaml."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from importlib import resources

import yaml

LABEL = re.compile(r"案\s*由\s*[:：]?\s*([\u4e00-\u9fff、]{2,30})")
ENDINGS = ("纠纷", "争议", "之诉", "罪")


@lru_cache(maxsize=1)
def known_causes() -> tuple[str, ...]:
    """The known causes, longest first (so 物业服务合同纠纷 is found before 服务合同纠纷)."""
    data = yaml.safe_load(resources.files("config").joinpath("causes.yaml").read_text(encoding="utf-8")) or {}
    return tuple(sorted({str(c) for c in data.get("causes") or ()}, key=len, reverse=True))


def causes_in(text: str) -> list[str]:
    """Every cause the text prints, in order."""
    flat = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))    # a cause broken over lines too
    found = [(m.start(), _labelled(m.group(1))) for m in LABEL.finditer(flat)]
    found += [(m.end(), cause) for m in re.finditer("一案", flat)
              if (cause := _before(flat[max(0, m.start() - 40):m.start()]))]
    return [cause for _, cause in sorted(found) if cause]


def case_cause(texts: list[str]) -> str | None:
    """The cause a case's papers print most often; on a tie the one printed first."""
    found = [cause for text in texts for cause in causes_in(text)]
    if not found:
        return None
    counts = Counter(found)
    return max(dict.fromkeys(found), key=lambda cause: counts[cause])


def _labelled(words: str) -> str | None:
    """What follows 案由: a known cause it starts with, or up to where a cause ends (纠纷, 争议 …)."""
    for cause in known_causes():
        if words.startswith(cause):
            return cause
    for ending in ENDINGS:
        at = words.find(ending)
        if at > 0:
            return words[:at + len(ending)]
    return None


def _before(words: str) -> str | None:
    """The longest known cause the words end with."""
    return next((cause for cause in known_causes() if words.endswith(cause)), None)
