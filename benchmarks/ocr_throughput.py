"""OCR throughput and accuracy: OCRmyPDF against `edossier backlog` on the same degraded Chinese court pages.

Both engines get the same input, one multi-page image-only PDF of the bench pages (300 dpi, the generator's JPEGs
embedded as they are), with two jobs each:

  baseline  ocrmypdf -l chi_sim --deskew --jobs 2 --output-type pdf --optimize 0 bench.pdf ocrmypdf.pdf
            (one process for all pages, so its start-up is paid once); text per page read back with pypdfium2
  product   edossier backlog BACKLOG --jobs 2 --json, BACKLOG holding one case folder with bench.pdf in it, on a
            fresh EDOSSIER_HOME; timed end to end (inspection, OCR, classification, volume assembly); text per page
            from the case's manifest.json, mapped back by original_page (pages it leaves out count as empty)

CER = sum over pages of Levenshtein(hypothesis, truth) / sum of truth lengths, both sides NFKC-normalised with all
whitespace removed. The benchmark measures; it does not judge: it exits 0 whatever the numbers are.

    python benchmarks/ocr_throughput.py [--pages 20] [--seed 11] [--jobs 2] [--skip-baseline] [--json [FILE]]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TIMEOUT_S = 3600


def run_ocrmypdf(pdf: Path, out: Path, jobs: int) -> dict:
    command = ["ocrmypdf", "-l", "chi_sim", "--deskew", "--jobs", str(jobs), "--output-type", "pdf",
               "--optimize", "0", str(pdf), str(out)]
    if not shutil.which("ocrmypdf"):
        return {"engine": "ocrmypdf", "command": command, "error": "ocrmypdf is not installed "
                "(bash scripts/setup.sh --bench installs it)"}
    out.unlink(missing_ok=True)
    load = common.load_average()
    done, seconds, cpu = common.timed_run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    result = {"engine": "ocrmypdf", "command": command, "seconds": seconds, "cpu_seconds": cpu,
              "exit_code": done.returncode, "load_before": load, "load_after": common.load_average()}
    if done.returncode != 0 or not out.is_file():
        result["error"] = (done.stderr or done.stdout).strip()[-4000:]
        return result
    result["texts"] = common.pdf_page_texts(out)
    return result


def run_edossier(pdf: Path, work: Path, jobs: int, n: int, settings_file: Path | None = None) -> dict:
    """`edossier backlog` on a fresh home; `settings_file` (EDOSSIER_CONFIG) overrides the defaults."""
    backlog = work / "backlog"
    if backlog.exists():
        shutil.rmtree(backlog)
    case_dir = backlog / common.CASE_NO
    case_dir.mkdir(parents=True)
    source = case_dir / pdf.name
    try:
        os.link(pdf, source)
    except OSError:
        shutil.copyfile(pdf, source)
    home = work / "edossier-home"
    env = common.fresh_home(home)
    if settings_file is not None:
        env["EDOSSIER_CONFIG"] = str(settings_file)
    command = [*common.edossier_command(), "backlog", str(backlog), "--jobs", str(jobs), "--json"]
    load = common.load_average()
    done, seconds, cpu = common.timed_run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    result = {"engine": "edossier", "command": command, "seconds": seconds, "cpu_seconds": cpu,
              "exit_code": done.returncode, "load_before": load, "load_after": common.load_average()}
    report = common.parse_json_output(done.stdout)
    if report is not None:
        result["report"] = {k: report.get(k) for k in ("pages_done", "pages_failed", "documents_in_review",
                                                        "documents_unrouted", "quarantined")}
    # 0 all done, 3 some pages quarantined, 4 some documents unrouted: the run finished and wrote what it could.
    if done.returncode not in (0, 3, 4):
        result["error"] = (done.stderr.strip() or done.stdout.strip())[-4000:]
        return result
    manifest_file = common.manifest_path(home, common.CASE_NO, report)
    if not manifest_file.is_file():
        export = subprocess.run([*common.edossier_command(), "export", common.CASE_NO, "--out",
                                 str(work / "export")], capture_output=True, text=True, env=env, timeout=600)
        manifest_file = work / "export" / "manifest.json"
        if not manifest_file.is_file():
            result["error"] = ("no manifest.json after the run; export said: "
                               + (export.stderr or export.stdout).strip()[-2000:])
            return result
        result["manifest_from_export"] = True
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    result["manifest"] = str(manifest_file)
    result["texts"], result["pages"] = common.manifest_page_texts(manifest, n, source_name=pdf.name)
    return result


def summarise(result: dict, truths: list[str], flipped: set[int]) -> dict:
    row = {k: v for k, v in result.items() if k != "texts"}
    if "seconds" in result and "error" not in result:
        row["pages_per_min"] = len(truths) / result["seconds"] * 60
    if "texts" in result:
        row["cer"], row["per_page"] = common.cer(result["texts"], truths)
        if flipped:
            upright = [i for i in range(len(truths)) if i + 1 not in flipped]
            row["cer_upright_pages"], _ = common.cer([result["texts"][i] for i in upright],
                                                     [truths[i] for i in upright])
    return row


def print_table(rows: list[dict], n: int, stream) -> None:
    print(f"\n{n} pages, 300 dpi, chi_sim\n", file=stream)
    print(f"{'engine':<10} {'seconds':>9} {'pages/min':>10} {'CER':>8} {'CPU s/page':>11} {'load 1 min':>11}",
          file=stream)
    for row in rows:
        seconds = f"{row['seconds']:.1f}" if "seconds" in row else "-"
        rate = f"{row['pages_per_min']:.1f}" if "pages_per_min" in row else "-"
        error = f"{row['cer']:.2%}" if "cer" in row else "-"
        cpu = f"{row['cpu_seconds'] / n:.2f}" if "cpu_seconds" in row else "-"
        load = f"{row['load_before']:.1f}→{row['load_after']:.1f}" if "load_before" in row else "-"
        print(f"{row['engine']:<10} {seconds:>9} {rate:>10} {error:>8} {cpu:>11} {load:>11}", file=stream)
    for row in rows:
        if "error" in row:
            print(f"\n{row['engine']} failed (exit code {row.get('exit_code')}):\n{row['error']}", file=stream)
    rates = {row["engine"]: row.get("pages_per_min") for row in rows}
    if rates.get("edossier") and rates.get("ocrmypdf"):
        print(f"\nratio edossier/ocrmypdf pages/min = {rates['edossier'] / rates['ocrmypdf']:.2f}×", file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="bench pages to generate (default 20)")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for both engines (default 2)")
    parser.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="work folder (default benchmarks/out)")
    parser.add_argument("--skip-baseline", action="store_true", help="run edossier only")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the numbers as JSON to FILE (stdout when no FILE is given)")
    args = parser.parse_args(argv)
    stream = sys.stderr if args.json == "-" else sys.stdout

    work = args.out.resolve() / "throughput"
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {args.pages} bench pages (seed {args.seed}) in {work / 'pages'}", file=stream, flush=True)
        pages = common.bench_pages(work / "pages", args.pages, args.seed)
    except common.BenchError as exc:
        print(f"cannot run the benchmark: {exc}", file=sys.stderr)
        return 1
    truths = [truth for _, truth in pages]
    pdf = common.images_to_pdf([image for image, _ in pages], work / "bench.pdf")

    results = []
    if not args.skip_baseline:
        print(f"ocrmypdf: {len(pages)} pages, --jobs {args.jobs} …", file=stream, flush=True)
        results.append(run_ocrmypdf(pdf, work / "ocrmypdf.pdf", args.jobs))
    print(f"edossier backlog: {len(pages)} pages, --jobs {args.jobs} …", file=stream, flush=True)
    results.append(run_edossier(pdf, work, args.jobs, len(pages)))

    flipped = common.upside_down_pages(work / "pages")
    rows = [summarise(result, truths, flipped) for result in results]
    print_table(rows, len(pages), stream)
    upright = [f"{row['engine']} {row['cer_upright_pages']:.2%}" for row in rows if "cer_upright_pages" in row]
    if upright:
        print(f"CER without the upside-down page(s) {sorted(flipped)}: {', '.join(upright)}", file=stream)
    if args.json:
        rates = {row["engine"]: row.get("pages_per_min") for row in rows}
        ratio = rates["edossier"] / rates["ocrmypdf"] if rates.get("edossier") and rates.get("ocrmypdf") else None
        common.write_json(args.json, {"benchmark": "ocr_throughput", "machine": common.machine(),
                                      "pages": len(pages), "seed": args.seed, "jobs": args.jobs,
                                      "input_pdf": str(pdf), "upside_down_pages": sorted(flipped),
                                      "engines": rows, "ratio_pages_per_min": ratio})
    return 0


if __name__ == "__main__":
    sys.exit(main())
