"""Degraded 300-dpi court pages with ground-truth text, the input of the OCR benchmark."""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from synth.backlog import Sheet, rasterise, write_image
from synth.degrade import ScanParams, scan_params
from synth.documents import CaseFile, Page, civil_case, enforcement_case, make_court

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BenchPage:
    """One benchmark page: its files, the document it comes from and how it was degraded."""
    image: str
    truth: str
    type_code: str
    page_index: int
    params: ScanParams


def _candidates(rng: random.Random) -> list[tuple[str, int, Page]]:
    """Pages of one civil and one enforcement case, interleaved so that every document type comes early."""
    court = make_court(rng)
    cases: list[CaseFile] = [civil_case(rng, court), enforcement_case(rng, court)]
    by_type: dict[str, list[tuple[str, int, Page]]] = {}
    for case in cases:
        for doc in case.documents:
            for index, page in enumerate(doc.pages):
                by_type.setdefault(doc.type_code, []).append((doc.type_code, index, page))
    queues = list(by_type.values())
    rng.shuffle(queues)
    order = []
    while any(queues):
        order += [q.pop(0) for q in queues if q]
    return order


def _select(rng: random.Random, n: int) -> list[tuple[str, int, Page]]:
    """n pages of varied types, drawing further cases when one pair is not enough."""
    chosen: list[tuple[str, int, Page]] = []
    while len(chosen) < n:
        chosen += _candidates(rng)[: n - len(chosen)]
    return chosen


def make_bench_pages(out_dir: Path, n: int = 20, seed: int = 11) -> list[Path]:
    """Write page_NN.jpg and page_NN.gt.txt (UTF-8) for n degraded pages, one upside down; returns the images."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pages = _select(rng, n)
    flipped = rng.randrange(n)
    sheets = [(Sheet("page", scan_params(rng, upside_down=i == flipped, border=False), page),) for i, (_, _, page)
              in enumerate(pages)]
    width = max(2, len(str(n)))
    written, manifest = [], []
    for i, sheet in enumerate(sheets):
        image, text, quality = rasterise(sheet)[0]
        stem = f"page_{i + 1:0{width}d}"
        write_image(out_dir / f"{stem}.jpg", image, quality)
        (out_dir / f"{stem}.gt.txt").write_text(text + "\n", encoding="utf-8")
        written.append(out_dir / f"{stem}.jpg")
        manifest.append(BenchPage(f"{stem}.jpg", f"{stem}.gt.txt", pages[i][0], pages[i][1], sheets[i][0].params))
    (out_dir / MANIFEST).write_text(json.dumps([asdict(m) for m in manifest], ensure_ascii=False, indent=1),
                                    encoding="utf-8")
    return written
