"""Command line for synthetic court paper: python -m synth backlog OUT | python -m synth bench OUT."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from synth.backlog import default_truth_path, make_backlog
from synth.bench import make_bench_pages


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m synth",
        description="Generate synthetic scanned court paper (电子卷宗 test material) with ground truth. "
                    "Same seed, same bytes.")
    commands = parser.add_subparsers(dest="command", required=True)
    backlog = commands.add_parser(
        "backlog", help="a scanning centre's backlog: one folder per case plus loose scans",
        description="Write OUT/<case number>/001.pdf, 002.tif, … for civil (民初) and enforcement (执) cases, plus "
                    "loose scans at the top (one led by a separator sheet, one split by a Patch-T sheet, one whose "
                    "case number is only in its text). The truth file goes beside OUT as OUT.truth.json.")
    backlog.add_argument("out", type=Path, help="folder to create (must be empty or absent)")
    backlog.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    backlog.add_argument("--cases", type=int, default=3, help="number of cases, at least 2 (default 3)")
    backlog.add_argument("--truth", type=Path, default=None,
                         help="where to write the truth JSON (default OUT.truth.json)")
    bench = commands.add_parser(
        "bench", help="degraded pages with ground-truth text for the OCR benchmark",
        description="Write OUT/page_NN.jpg with OUT/page_NN.gt.txt (UTF-8 ground truth) and OUT/manifest.json: "
                    "300-dpi pages of varied document types, skewed 1–3°, blurred, noisy, JPEG-compressed; one page "
                    "is upside down.")
    bench.add_argument("out", type=Path, help="folder to write the pages into")
    bench.add_argument("--n", type=int, default=20, help="number of pages (default 20)")
    bench.add_argument("--seed", type=int, default=11, help="random seed (default 11)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    if args.command == "backlog":
        try:
            truth = make_backlog(args.out, args.seed, args.cases, args.truth)
        except (FileExistsError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        pages = sum(f.pages for f in truth.files)
        print(f"{len(truth.cases)} cases, {len(truth.files)} files, {pages} pages in {args.out} "
              f"({time.monotonic() - started:.1f} s); truth: {args.truth or default_truth_path(args.out)}")
        return 0
    written = make_bench_pages(args.out, args.n, args.seed)
    print(f"{len(written)} pages in {args.out} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
