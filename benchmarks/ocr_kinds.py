"""OCR accuracy per kind of court paper and speed, for each OCR engine and the product's choice, against OCRmyPDF in
the same run; and each engine on the real Chinese samples.

Per seed, 4 pages of each kind from `synth.courtpaper.kind_pages` (long_text, short_notice, sealed, form, id_copy:
20 pages, A4 at 300 dpi in colour), each saved as a colour JPEG (quality 92) and put as it is into one image-only
PDF. Then, one after the other on that same file with two jobs each:

  ocrmypdf  ocrmypdf -l chi_sim --deskew --jobs 2 --output-type pdf --optimize 0 kinds.pdf ocrmypdf.pdf
            (as benchmarks/ocr_throughput.py runs it); text per page read back from its text layer
  edossier  edossier backlog BACKLOG --jobs 2 --json on a fresh EDOSSIER_HOME, once per engine (`ocr.engine:
            tesseract`, `rapidocr`, `cascade`, through a settings file), timed end to end; text per page from the
            case's manifest.json; for the cascade, how many pages rapidocr read (the pages' engine records)

CER of a page = Levenshtein(hypothesis, truth) / len(truth), both NFKC-normalised with all whitespace removed; the
table gives the median and the mean over each kind's pages. The product's choice is `ocr.engine` in
config/defaults.yaml; its speed is compared with OCRmyPDF's from the same seed's run.

The real samples: every image in ../shared/samples/ocr_gt/chi_sim_page and chi_sim_lines with a `.gt.txt` (not the
`approx`/`partial` ones, nor the hand-transcribed `rapidocr_test_letterbox_like`: tier C in the samples' README),
read in this process through `ocr.engine.recognise` at its own size; CER pooled over the samples (Σ edits / Σ truth),
also without the `rapidocr_*` samples, whose truth strings come from RapidOCR's own test assertions.

The benchmark measures; it does not judge: it exits 0 whatever the numbers are (1 when the page generator cannot
be used).

    python benchmarks/ocr_kinds.py [--seeds 0 1] [--per-kind 4] [--jobs 2] [--engines tesseract,rapidocr,cascade]
                                   [--skip-baseline] [--no-samples] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import ocr_throughput  # noqa: E402

ENGINES = ("tesseract", "rapidocr", "cascade")
SAMPLE_FOLDERS = ("chi_sim_page", "chi_sim_lines")
TIER_C = ("rapidocr_test_letterbox_like",)        # hand-transcribed truth (samples README, tier C)
TARGET_MEAN, TARGET_MEDIAN, TARGET_RATIO = 0.01, 0.005, 4.5


# pages ------------------------------------------------------------------------------------------------------------
def kind_pages(folder: Path, per_kind: int, seed: int) -> list[dict]:
    """The seed's pages written as page_NN.jpg with page_NN.gt.txt; (path, kind, truth) of each, in page order."""
    try:
        from synth.courtpaper import kind_pages as generate
    except ImportError as exc:
        raise common.BenchError(f"the page generator synth/courtpaper.py is not available: {exc}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for index, page in enumerate(generate(per_kind=per_kind, seed=seed), start=1):
        path = folder / f"page_{index:02d}.jpg"
        page.image.convert("RGB").save(path, "JPEG", quality=92, dpi=(common.DPI, common.DPI))
        path.with_suffix(".gt.txt").write_text(page.text + "\n", encoding="utf-8")
        pages.append({"path": path, "kind": page.kind, "truth": page.text, "variations": list(page.variations)})
    return pages


# runs -------------------------------------------------------------------------------------------------------------
def settings_file(folder: Path, engine: str) -> Path:
    path = folder / f"{engine}.yaml"
    path.write_text(f"ocr:\n  engine: {engine}\n", encoding="utf-8")
    return path


def run_engine(pdf: Path, work: Path, engine: str, jobs: int, n: int) -> dict:
    folder = work / engine
    folder.mkdir(parents=True, exist_ok=True)
    result = ocr_throughput.run_edossier(pdf, folder, jobs, n, settings_file(folder, engine))
    result["engine"] = engine
    result["read_by"] = read_by(folder / "edossier-home" / "catalogue.sqlite3")
    return result


def read_by(catalogue: Path) -> dict[str, int]:
    """How many pages each engine read, from the pages' engine records (the cascade names the one it kept)."""
    if not catalogue.is_file():
        return {}
    counts: dict[str, int] = {}
    with sqlite3.connect(catalogue) as db:
        for (record,) in db.execute("SELECT engine FROM pages WHERE engine IS NOT NULL"):
            engine = json.loads(record)
            name = engine.get("read_by") or engine.get("engine")
            counts[name] = counts.get(name, 0) + 1
    return counts


def run_seed(seed: int, args, work: Path, stream) -> dict:
    pages = kind_pages(work / "pages", args.per_kind, seed)
    pdf = common.images_to_pdf([page["path"] for page in pages], work / "kinds.pdf")
    truths = [page["truth"] for page in pages]
    results = []
    if not args.skip_baseline:
        print(f"seed {seed}: ocrmypdf, {len(pages)} pages, --jobs {args.jobs} …", file=stream, flush=True)
        results.append(ocr_throughput.run_ocrmypdf(pdf, work / "ocrmypdf.pdf", args.jobs))
    for engine in args.engines:
        print(f"seed {seed}: edossier backlog, ocr.engine {engine} …", file=stream, flush=True)
        results.append(run_engine(pdf, work, engine, args.jobs, len(pages)))
    rows = [summarise(result, pages, truths) for result in results]
    return {"seed": seed, "pages": len(pages), "input_pdf": str(pdf), "engines": rows,
            "kinds": [{"page": i, "kind": p["kind"], "variations": p["variations"]} for i, p in enumerate(pages, 1)]}


def summarise(result: dict, pages: list[dict], truths: list[str]) -> dict:
    row = {k: v for k, v in result.items() if k not in ("texts", "command")}
    row["command"] = " ".join(result.get("command", []))
    if "seconds" in result and "error" not in result:
        row["pages_per_min"] = len(truths) / result["seconds"] * 60
    if "texts" in result:
        row["cer"], row["per_page"] = common.cer(result["texts"], truths)
        row["by_kind"] = by_kind(row["per_page"], pages)
    return row


def by_kind(per_page: list[dict], pages: list[dict]) -> dict:
    values: dict[str, list[float]] = {}
    for figures, page in zip(per_page, pages):
        figures["kind"] = page["kind"]
        values.setdefault(page["kind"], []).append(figures["cer"] if figures["cer"] is not None else 0.0)
    values["all"] = [v for kind in list(values) for v in values[kind]]
    return {kind: {"median": statistics.median(v), "mean": statistics.fmean(v), "max": max(v), "pages": len(v)}
            for kind, v in values.items()}


# the real samples ---------------------------------------------------------------------------------------------------
def sample_files(root: Path) -> list[tuple[Path, str]]:
    found = []
    for folder in SAMPLE_FOLDERS:
        for truth in sorted((root / folder).glob("*.gt.txt")):
            stem = truth.name[: -len(".gt.txt")]
            if stem in TIER_C:
                continue
            image = next((p for p in truth.parent.glob(stem + ".*") if p.suffix.lower() in common.IMAGE_SUFFIXES),
                         None)
            if image is not None:
                found.append((image, truth.read_text(encoding="utf-8")))
    return found


def read_samples(root: Path, engines: list[str]) -> dict:
    """Each sample through ocr.engine.recognise with each engine, at the sample's own size (a 32-pixel line is not
    scaled down further); gray as the product loads an image (EXIF turned, transparency over white)."""
    from ingest.inspect import Limits
    from ingest.pages import load_page
    from ocr.engine import OcrOptions, recognise

    files = sample_files(root)
    rasters = [load_page(path, "image/" + path.suffix.lower().lstrip("."), 0, Limits(1 << 30, 150_000_000, 60),
                         common.DPI) for path, _ in files]
    out = {"files": [str(path.relative_to(root)) for path, _ in files], "engines": {}}
    for engine in engines:
        started, texts = time.perf_counter(), []
        for raster in rasters:
            options = OcrOptions(engine=engine, recognition_dpi=raster.dpi)
            texts.append(recognise(raster.gray, raster.dpi, options, pdf=False).text)
        truths = [truth for _, truth in files]
        pooled, per_file = common.cer(texts, truths)
        independent = [i for i, (path, _) in enumerate(files) if not path.name.startswith("rapidocr_")]
        without, _ = common.cer([texts[i] for i in independent], [truths[i] for i in independent])
        out["engines"][engine] = {"cer": pooled, "cer_without_rapidocr_truth": without, "seconds":
                                  time.perf_counter() - started, "per_file": per_file, "texts": texts}
    out["chars"] = sum(len(common.normalise(t)) for _, t in files)
    out["independent_files"] = sum(not path.name.startswith("rapidocr_") for path, _ in files)
    return out


# report -------------------------------------------------------------------------------------------------------------
def product_choice() -> str:
    from config.settings import load_settings
    return load_settings(env={}).ocr.engine


def print_seed(report: dict, choice: str, stream) -> None:
    rows = report["engines"]
    kinds = [kind for kind in dict.fromkeys(k["kind"] for k in report["kinds"])] + ["all"]
    print(f"\nseed {report['seed']}: {report['pages']} pages, 300 dpi colour JPEG, chi_sim; CER median / mean per "
          "page kind", file=stream)
    print(f"{'engine':<12}" + "".join(f"{kind:>17}" for kind in kinds)
          + f"{'pages/min':>11}{'CPU s/page':>11}{'load':>10}", file=stream)
    for row in rows:
        name = row["engine"] + (" *" if row["engine"] == choice else "")
        cells = "".join(f"{_pair(row['by_kind'].get(kind)):>17}" for kind in kinds) if "by_kind" in row else \
            "".join(f"{'-':>17}" for _ in kinds)
        rate = f"{row['pages_per_min']:.1f}" if "pages_per_min" in row else "-"
        cpu = f"{row['cpu_seconds'] / report['pages']:.2f}" if "cpu_seconds" in row else "-"
        load = f"{row['load_before']:.1f}→{row['load_after']:.1f}" if "load_before" in row else "-"
        print(f"{name:<12}{cells}{rate:>11}{cpu:>11}{load:>10}", file=stream)
    for row in rows:
        if row.get("read_by") and row["engine"] == "cascade":
            print(f"cascade: pages read by {', '.join(f'{k} {v}' for k, v in sorted(row['read_by'].items()))}",
                  file=stream)
        if "error" in row:
            print(f"\n{row['engine']} failed (exit code {row.get('exit_code')}):\n{row['error']}", file=stream)
    ratio = speed_ratio(report, choice)
    if ratio is not None:
        print(f"ratio {choice} (product's choice, *)/ocrmypdf pages/min = {ratio:.2f}×", file=stream)
    print(f"targets for the product's choice: {verdict(report, choice)}", file=stream)


def _pair(figures: dict | None) -> str:
    return "-" if figures is None else f"{figures['median']:.2%} / {figures['mean']:.2%}"


def speed_ratio(report: dict, choice: str) -> float | None:
    rates = {row["engine"]: row.get("pages_per_min") for row in report["engines"]}
    return rates[choice] / rates["ocrmypdf"] if rates.get(choice) and rates.get("ocrmypdf") else None


def verdict(report: dict, choice: str) -> str:
    row = next((r for r in report["engines"] if r["engine"] == choice and "by_kind" in r), None)
    if row is None:
        return "not measured"
    kinds = {kind: f for kind, f in row["by_kind"].items() if kind != "all"}
    misses = [f"{kind} mean {f['mean']:.2%}" for kind, f in kinds.items() if f["mean"] > TARGET_MEAN]
    misses += [f"{kind} median {f['median']:.2%}" for kind, f in kinds.items() if f["median"] > TARGET_MEDIAN]
    ratio = speed_ratio(report, choice)
    if ratio is not None and ratio < TARGET_RATIO:
        misses.append(f"speed {ratio:.2f}× OCRmyPDF")
    wanted = f"(mean ≤ {TARGET_MEAN:.0%}, median ≤ {TARGET_MEDIAN:.1%} on every kind, ≥ {TARGET_RATIO}× "\
        "OCRmyPDF)"
    return ("all met " if not misses else "missed: " + "; ".join(misses) + " ") + wanted


def print_samples(samples: dict, stream) -> None:
    print(f"\nreal samples ({len(samples['files'])} images, {samples['chars']} characters of truth; "
          f"{samples['independent_files']} not from RapidOCR's tests): pooled CER", file=stream)
    print(f"{'engine':<12}{'all':>10}{'without rapidocr_*':>20}{'seconds':>10}", file=stream)
    for engine, figures in samples["engines"].items():
        print(f"{engine:<12}{figures['cer']:>10.2%}{figures['cer_without_rapidocr_truth']:>20.2%}"
              f"{figures['seconds']:>10.1f}", file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="page generator seeds (default 0 1)")
    parser.add_argument("--per-kind", type=int, default=4, help="pages of each kind (default 4)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for every engine (default 2)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="edossier engines to run (default all three)")
    parser.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="work folder (default benchmarks/out)")
    parser.add_argument("--skip-baseline", action="store_true", help="leave OCRmyPDF out")
    parser.add_argument("--no-samples", action="store_true", help="leave the real samples out")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the numbers as JSON to FILE (stdout when no FILE is given)")
    args = parser.parse_args(argv)
    args.engines = [e for e in args.engines.split(",") if e]
    stream = sys.stderr if args.json == "-" else sys.stdout
    choice = product_choice()

    reports = []
    try:
        for seed in args.seeds:
            reports.append(run_seed(seed, args, args.out.resolve() / "kinds" / f"seed{seed}", stream))
            print_seed(reports[-1], choice, stream)
    except common.BenchError as exc:
        print(f"cannot run the benchmark: {exc}", file=sys.stderr)
        return 1
    samples = None
    root = common.ROOT.parent / "shared" / "samples" / "ocr_gt"
    if not args.no_samples and root.is_dir():
        print("\nreal samples …", file=stream, flush=True)
        samples = read_samples(root, args.engines)
        print_samples(samples, stream)
    if args.json:
        common.write_json(args.json, {"benchmark": "ocr_kinds", "machine": common.machine(), "jobs": args.jobs,
                                      "per_kind": args.per_kind, "product_choice": choice, "seeds": reports,
                                      "ratios": {r["seed"]: speed_ratio(r, choice) for r in reports},
                                      "samples": samples})
    return 0


if __name__ == "__main__":
    sys.exit(main())
