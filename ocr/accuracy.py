"""How far OCR text is from its ground truth: the character error rate (CER) the benchmarks and tests report.

CER = Levenshtein distance / length of the truth, both sides NFKC-normalised with every whitespace character
removed (so full-width spaces in a letter-spaced title, line breaks and the spaces tesseract puts between Latin
words do not count)."""
from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, then every whitespace character removed."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each); the common start and end are
    set aside first, so near-identical texts compare fast."""
    if a == b:
        return 0
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        append = current.append
        for j, char_b in enumerate(b, 1):
            append(min(previous[j - 1] + (char_a != char_b), previous[j] + 1, current[j - 1] + 1))
        previous = current
    return previous[-1]


def cer(hypothesis: str, truth: str) -> float:
    """Character error rate of one text against its truth (0.0 for an empty truth read as empty)."""
    hyp, ref = normalise(hypothesis), normalise(truth)
    return levenshtein(hyp, ref) / len(ref) if ref else float(bool(hyp))


def pooled_cer(hypotheses: list[str], truths: list[str]) -> tuple[float, list[dict]]:
    """CER over several pages (sum of edit distances / sum of truth lengths) and the per-page figures."""
    per_page, errors, length = [], 0, 0
    for index, (hyp, truth) in enumerate(zip(hypotheses, truths, strict=True), 1):
        hyp_n, truth_n = normalise(hyp), normalise(truth)
        distance = levenshtein(hyp_n, truth_n)
        errors += distance
        length += len(truth_n)
        per_page.append({"page": index, "chars": len(truth_n), "edits": distance,
                         "cer": round(distance / len(truth_n), 4) if truth_n else None})
    return (errors / length if length else 0.0), per_page
