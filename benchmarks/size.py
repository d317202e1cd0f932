"""Bytes per page of the dossier's searchable pages against `ocrmypdf --optimize 2`, on the same pages in the same
run, with the legibility of each stored image measured by reading it again, and crops of one region at 100 % zoom.

Pages: the bench pages (synth.bench, 300 dpi, degraded; seed 11) and real scans from the shared samples (SAMPLES;
two colour ones also as a greyscale scanner would deliver them). For every page:

  edossier  the product's page steps (ingest.pages.load_page → ingest.digitise.digitise, default settings): the
            page PDF as it goes into the blob store and, joined, into the volume
  before    the same steps with the page image kept as it was before (JPEG q75 at the page's own resolution:
            ocr.bitonal false, jpeg_quality 75, jpeg_dpi 1200)
  ocrmypdf  ocrmypdf -l chi_sim --output-type pdf --optimize 2 [--image-dpi D] IMAGE out.pdf, on the same image
            file (one run per page, so both sides are one-page PDFs)

Legibility: the image each PDF stores is decoded and read again with the product's engine at the stored
resolution (languages per sample), and compared with the reading of the page as captured (CER, as in
ocr_throughput.py); on bench pages every reading is also compared with the ground truth. Crops of the same region
(the page rendered at its own resolution, i.e. 100 % zoom) from the captured image, our PDF and ocrmypdf's are
written as PNG files under OUT/size/crops/.

    python benchmarks/size.py [--pages 20] [--seed 11] [--jobs 2] [--skip-baseline] [--json [FILE]]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")       # as a worker runs tesseract: one thread per process
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import crops  # noqa: E402

SAMPLES = (      # (file under the shared samples, languages for reading it again)
    ("ocr_gt/eng_tesseract_test/unlv_8071_093.3B.tif", "eng"),     # 300-dpi bitonal scans (UNLV)
    ("ocr_gt/eng_tesseract_test/unlv_8087_054.3B.tif", "eng"),
    ("scans/pillow_pport_g4.tif", "eng"),                          # 200-dpi bitonal form page
    ("ocr_gt/eng_misc/linn.png", "eng"),                           # 300-dpi two-level page (palette PNG)
    ("scans/ocrmypdf_typewriter.png", "eng"),                      # typewritten page
    ("scans/dibco11_PR1.png", "eng"),                              # degraded print on yellowed paper (colour)
    ("ocr_gt/eng_sroie_receipts/sroie_000.jpg", "eng"),            # receipts
    ("ocr_gt/eng_sroie_receipts/sroie_200.jpg", "eng"),
    ("ocr_gt/chi_sim_page/paddleocr_11.jpg", "chi_sim"),           # Chinese report crop
    ("scans/paddleocr_doc_collage.jpg", "chi_sim"),                # photos of Chinese documents, colour
    ("scans/ocrd_dewarp_boston_cooking_a.jpg", "eng"),             # camera photo of a book page, colour
)
SAMPLES_DIR = Path(os.environ.get("EDOSSIER_SAMPLES") or common.ROOT.parent / "shared" / "samples")
AS_GREY = ("scans/dibco11_PR1.png", "scans/ocrd_dewarp_boston_cooking_a.jpg")
BEFORE = {"bitonal": False, "jpeg_quality": 75, "jpeg_dpi": 1200}
CROP = (640, 400)          # pixels of the captured page: about 54 × 34 mm at 300 dpi
TIMEOUT_S = 900
READABLE = 55              # mean word confidence (the product's ocr.retry_below_confidence): below it a page
                           # reads badly, and whether its stored image reads the same says nothing


@dataclass
class Page:
    name: str
    path: Path
    group: str             # "bench" or "real"
    languages: str
    truth: str | None = None
    results: dict = field(default_factory=dict)


# inputs ----------------------------------------------------------------------------------------------------------
def bench_inputs(work: Path, n: int, seed: int) -> list[Page]:
    pages = common.bench_pages(work / "pages", n, seed)
    return [Page(image.stem, image, "bench", "chi_sim", truth) for image, truth in pages]


def sample_inputs(work: Path) -> list[Page]:
    """The real scans that are there (a missing one is left out and named), and the grey copies."""
    pages = []
    for relative, languages in SAMPLES:
        path = SAMPLES_DIR / relative
        if not path.is_file():
            print(f"sample missing, left out: {path}", file=sys.stderr)
            continue
        pages.append(Page(path.stem, path, "real", languages))
        if relative in AS_GREY:
            pages.append(Page(path.stem + "-grey", _grey_copy(path, work / "grey"), "real", languages))
    return pages


def _grey_copy(path: Path, folder: Path) -> Path:
    """The scan as a greyscale scanner would deliver it (same pixels, one channel, lossless PNG)."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (path.stem + "-grey.png")
    with Image.open(path) as image:
        dpi = image.info.get("dpi")
        image.convert("L").save(out, **({"dpi": dpi} if dpi else {}))
    return out


# edossier -----------------------------------------------------------------------------------------------------------
def digitise_page(path: Path, languages: str, work: Path) -> dict:
    """One page through the product's steps twice (images kept as now, and as before), and read again."""
    raster, ours, before = _digitised(path, work)
    if ours.ocr is None or before.ocr is None:
        return {"error": "not recognised: " + "; ".join(ours.steps)}
    captured, confidence = reread(raster.gray, raster.dpi, languages)
    return {"dpi": raster.dpi, "kept": ours.ocr.engine["image"], "steps": list(ours.steps),
            "captured_confidence": round(confidence, 1), "geometry": geometry(ours),
            "edossier_bytes": _write(work / "edossier" / f"{path.stem}.pdf", ours.ocr.pdf),
            "before_bytes": _write(work / "before" / f"{path.stem}.pdf", before.ocr.pdf),
            "texts": {"captured": captured, "edossier": reread_pdf(ours.ocr.pdf, languages),
                      "before": reread_pdf(before.ocr.pdf, languages)}}


def _digitised(path: Path, work: Path):
    """The page as the product loads it, and its page step's results with the default and the former settings."""
    from config.settings import load_settings
    from ingest.digitise import digitise
    from ingest.inspect import Limits
    from ingest.pages import load_page
    from ingest.sniff import sniff
    settings = load_settings(env={"EDOSSIER_HOME": str(work / "home")})
    media_type, _ = sniff(path.read_bytes()[:1024])
    raster = load_page(path, media_type, 0, Limits.from_settings(settings.limits), settings.ocr.dpi)
    former = settings.model_copy(update={"ocr": settings.ocr.model_copy(update=BEFORE)})
    return raster, digitise(raster, settings), digitise(raster, former)


def geometry(result) -> dict:
    """How the kept page relates to the captured image: crop box, quarter turn, skew, and a 180° turn."""
    prepared = result.prepared
    return {"crop": prepared.crop, "turn": prepared.rotation, "skew": prepared.skew,
            "flipped": result.rotation != prepared.rotation, "shape": list(prepared.image.shape[:2])}


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def reread(gray, dpi: int, languages: str) -> tuple[str, float]:
    """A page read as the product reads one (preprocessed, tried upside down when it reads badly), but at its own
    resolution, so that every stored pixel counts: the text and its mean word confidence."""
    from ocr import preprocess
    from ocr.engine import OcrOptions, recognise
    options = OcrOptions(languages=languages, recognition_dpi=dpi)
    page = preprocess.prepare(gray).image
    first = recognise(page, dpi, options, pdf=False)
    if first.mean_conf >= READABLE or not first.layout.lines:
        return first.text, first.mean_conf
    second = recognise(preprocess.rotate(page, 180), dpi, options, pdf=False)
    best = max(first, second, key=lambda reading: reading.mean_conf)
    return best.text, best.mean_conf


def reread_pdf(pdf: bytes, languages: str) -> str:
    gray, dpi = stored_image(pdf)
    return reread(gray, dpi, languages)[0]


def stored_image(pdf: bytes):
    """The largest image of a PDF's first page as greyscale pixels, and the resolution it is drawn at."""
    import io

    import numpy as np
    import pikepdf
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        image = max((pikepdf.PdfImage(x) for x in page.get_images().values()), key=lambda i: i.width * i.height)
        width_in = float(page.mediabox[2] - page.mediabox[0]) / 72
        pixels = np.asarray(image.as_pil_image().convert("L"))
    return pixels, max(1, round(image.width / width_in))


def run_edossier(pages: list[Page], work: Path, jobs: int) -> None:
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(digitise_page, p.path, p.languages, work): p for p in pages}
        for future, page in futures.items():
            page.results.update(_outcome(future))
            print(f"  {page.name}: {page.results.get('kept', page.results.get('error'))}", flush=True)


def _outcome(future) -> dict:
    try:
        return future.result()
    except Exception as exc:      # a page the product refuses is reported, not fatal to the measurement
        return {"error": f"{type(exc).__name__}: {exc}"}


# ocrmypdf -----------------------------------------------------------------------------------------------------------
def ocrmypdf_page(page: Page, work: Path) -> dict:
    out = work / "ocrmypdf" / f"{page.name}.pdf"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = ["ocrmypdf", "-l", "chi_sim", "--output-type", "pdf", "--optimize", "2", "--jobs", "1"]
    if page.results.get("dpi") and not _has_dpi(page.path):
        command += ["--image-dpi", str(page.results["dpi"])]
    command += [str(page.path), str(out)]
    done, seconds, _ = common.timed_run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0 or not out.is_file():
        return {"ocrmypdf_error": (done.stderr or done.stdout).strip()[-1500:], "ocrmypdf_command": command}
    return {"ocrmypdf_bytes": out.stat().st_size, "ocrmypdf_seconds": seconds, "ocrmypdf_command": command}


def _has_dpi(path: Path) -> bool:
    """Whether the file states a resolution the product takes as it is (else both sides get the product's)."""
    from PIL import Image
    with Image.open(path) as image:
        dpi = image.info.get("dpi")
    return bool(dpi) and 100 <= float(dpi[0]) <= 1200


def run_ocrmypdf(pages: list[Page], work: Path, jobs: int) -> None:
    if not shutil.which("ocrmypdf"):
        for page in pages:
            page.results["ocrmypdf_error"] = "ocrmypdf is not installed (bash scripts/setup.sh --bench)"
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for page, outcome in zip(pages, pool.map(lambda p: ocrmypdf_page(p, work), pages)):
            page.results.update(outcome)


def reread_ocrmypdf(pages: list[Page], work: Path, jobs: int) -> None:
    todo = [p for p in pages if "ocrmypdf_bytes" in p.results and "texts" in p.results]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        texts = pool.map(_reread_file, [work / "ocrmypdf" / f"{p.name}.pdf" for p in todo],
                         [p.languages for p in todo])
        for page, text in zip(todo, texts):
            page.results["texts"]["ocrmypdf"] = text


def _reread_file(path: Path, languages: str) -> str:
    return reread_pdf(path.read_bytes(), languages)


# the volume ---------------------------------------------------------------------------------------------------------
def volume_bytes(pages: list[Page], work: Path) -> int | None:
    """Bytes of one bound volume (cover, contents, remarks, back cover included) made of our page PDFs."""
    from datetime import date

    from dossier.assemble import assemble_volume
    from dossier.model import DocumentEntry, VolumeSpec
    files = tuple(work / "edossier" / f"{p.name}.pdf" for p in pages if "edossier_bytes" in p.results)
    if not files:
        return None
    spec = VolumeSpec(case_no=common.CASE_NO, volume="ZJ", court="", cause="民间借贷纠纷",
                      case_family_label="民事一审", produced_on=date.today(),
                      documents=(DocumentEntry("诉讼材料", "OTHER", "其他", files),))
    return assemble_volume(spec, work / "volume.pdf").path.stat().st_size


# 100 % crops --------------------------------------------------------------------------------------------------------
def write_crops(page: Page, work: Path) -> dict:
    """The same region from the captured image, our PDF and ocrmypdf's, each at the page's own resolution, and
    the three side by side (captured page and ocrmypdf's turned upright like ours when ours was turned)."""
    import numpy as np
    from PIL import Image
    folder = work / "crops"
    folder.mkdir(parents=True, exist_ok=True)
    geometry, dpi = page.results["geometry"], page.results["dpi"]
    pdf = work / "edossier" / f"{page.name}.pdf"
    ours = crops.render(pdf, dpi)
    greys = page.results["kept"]["kind"] != "bitonal"
    box = crops.region(crops.grey_marks(ours) if greys else crops.characters(pdf, dpi, ours.shape), CROP)
    where = crops.to_captured(box, geometry)
    with Image.open(page.path) as image:
        shown = {"captured": crops.upright(crops.cut(np.asarray(image.convert("RGB")), where), geometry),
                 "edossier": crops.cut(ours, box)}
    theirs = work / "ocrmypdf" / f"{page.name}.pdf"
    if theirs.is_file():
        shown["ocrmypdf"] = crops.upright(crops.cut(crops.render(theirs, dpi), where), geometry)
    paths = {side: crops.save(pixels, folder / f"{page.name}-{n}-{side}.png")
             for n, (side, pixels) in enumerate(shown.items(), 1)}
    paths["side by side"] = crops.save(crops.side_by_side(list(shown.values())), folder / f"{page.name}-all.png")
    return {side: str(path) for side, path in paths.items()}


def crop_pages(pages: list[Page]) -> list[Page]:
    """One page of each kind that was kept (two-level, grey, colour), bench pages first, then a real one of each;
    pages the product turned are passed over (their crops would read upside down or sideways)."""
    chosen, seen = [], set()
    for page in pages:
        kind = page.results.get("kept", {}).get("kind")
        geometry = page.results.get("geometry", {})
        if kind and (page.group, kind) not in seen and not geometry["turn"] and not geometry["flipped"]:
            seen.add((page.group, kind))
            chosen.append(page)
    return chosen


# report -------------------------------------------------------------------------------------------------------------
def page_row(page: Page) -> dict:
    r = page.results
    row = {"page": page.name, "group": page.group, "kind": r.get("kept", {}).get("kind"),
           "kept": r.get("kept"), "dpi": r.get("dpi"), "captured_confidence": r.get("captured_confidence")}
    for side in ("edossier", "before", "ocrmypdf"):
        row[f"{side}_bytes"] = r.get(f"{side}_bytes")
    texts = r.get("texts") or {}
    for side in ("edossier", "before", "ocrmypdf"):
        if side in texts:
            row[f"reread_cer_{side}"] = common.cer([texts[side]], [texts["captured"]])[0]
            if page.truth:
                row[f"truth_cer_{side}"] = common.cer([texts[side]], [page.truth])[0]
    if page.truth and "captured" in texts:
        row["truth_cer_captured"] = common.cer([texts["captured"]], [page.truth])[0]
    for key in ("error", "ocrmypdf_error"):
        if key in r:
            row[key] = r[key]
    return row


def summary(pages: list[Page], group: str) -> dict:
    """Bytes per page over the pages of a group that every side measured, by how our side kept them too; CER
    over those of them that read well as captured (READABLE)."""
    done = [p for p in pages if p.group == group and "edossier_bytes" in p.results]
    both = [p for p in done if "ocrmypdf_bytes" in p.results] or done      # all of them without the baseline
    readable = [p for p in both if p.results["captured_confidence"] >= READABLE]
    out = {"group": group, "pages": len(done), "pages_read": len(readable),
           "pages_with_ocrmypdf": sum("ocrmypdf_bytes" in p.results for p in done),
           "kinds": _count(p.results["kept"]["kind"] for p in done), **_bytes(both)}
    out["by_kind"] = {kind: _bytes([p for p in both if p.results["kept"]["kind"] == kind]) for kind in out["kinds"]}
    for side in ("edossier", "before", "ocrmypdf"):
        out[f"reread_cer_{side}"] = _cer(readable, side, "captured")
        out[f"truth_cer_{side}"] = _cer(readable, side, None)
    out["truth_cer_captured"] = _cer(readable, "captured", None)
    return out


def _bytes(pages: list[Page]) -> dict:
    out = {}
    for side in ("edossier", "before", "ocrmypdf"):
        sizes = [p.results[f"{side}_bytes"] for p in pages if f"{side}_bytes" in p.results]
        out[f"{side}_bytes_per_page"] = sum(sizes) / len(sizes) if sizes else None
    return out


def _cer(pages: list[Page], side: str, against: str | None) -> float | None:
    pairs = [(p.results["texts"].get(side), p.results["texts"]["captured"] if against else p.truth) for p in pages]
    pairs = [(h, t) for h, t in pairs if h is not None and t is not None]
    return common.cer([h for h, _ in pairs], [t for _, t in pairs])[0] if pairs else None


def _count(kinds) -> dict:
    counts: dict = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def print_report(rows: list[dict], summaries: list[dict], volume: int | None, crops_written: dict, stream) -> None:
    print(f"\n{'page':<30} {'kept as':<22} {'edossier':>9} {'before':>9} {'ocrmypdf':>9} {'conf':>5} "
          f"{'re-read CER':>12}", file=stream)
    for row in rows:
        kept = row["kept"] and f"{row['kept']['encoding']} {row['kept']['dpi']} dpi" or row.get("error", "-")[:22]
        cer, conf = row.get("reread_cer_edossier"), row.get("captured_confidence")
        print(f"{row['page'][:30]:<30} {kept[:22]:<22} {_kb(row['edossier_bytes']):>9} {_kb(row['before_bytes']):>9} "
              f"{_kb(row['ocrmypdf_bytes']):>9} {conf if conf is not None else '-':>5} {_pct(cer):>12}", file=stream)
    for s in summaries:
        _print_summary(s, stream)
    if volume is not None:
        print(f"\none bound volume of all {sum(s['pages'] for s in summaries)} page PDFs (with its cover and sheets): "
              f"{volume / 1e6:.2f} MB", file=stream)
    if crops_written:
        print("\n100 % crops (the same region: captured image, edossier PDF, ocrmypdf PDF):", file=stream)
        for name, paths in crops_written.items():
            for side, path in paths.items():
                print(f"  {name} {side}: {path}", file=stream)


def _print_summary(s: dict, stream) -> None:
    print(f"\n{s['group']} pages: {s['pages']} ({', '.join(f'{n} {k}' for k, n in s['kinds'].items())}); "
          f"{s['pages_with_ocrmypdf']} also through ocrmypdf; CER over the {s['pages_read']} of them that read "
          f"well as captured (mean confidence >= {READABLE})", file=stream)
    for side in ("edossier", "before", "ocrmypdf"):
        truth = s[f"truth_cer_{side}"]
        print(f"  {side:<9} {_kb(s[f'{side}_bytes_per_page']):>9}/page   re-read CER {_pct(s[f'reread_cer_{side}'])}"
              + (f"   CER against the truth {_pct(truth)}" if truth is not None else ""), file=stream)
    if s["truth_cer_captured"] is not None:
        print(f"  (the page as captured: CER against the truth {_pct(s['truth_cer_captured'])})", file=stream)
    for kind, sizes in s["by_kind"].items():
        print(f"  kept {kind}: " + ", ".join(f"{side} {_kb(sizes[f'{side}_bytes_per_page'])}"
                                           for side in ("edossier", "before", "ocrmypdf")) + " per page", file=stream)
    ours, theirs, before = (s[f"{k}_bytes_per_page"] for k in ("edossier", "ocrmypdf", "before"))
    if ours and theirs:
        print(f"  ratio ocrmypdf/edossier bytes per page = {theirs / ours:.2f}×"
              + (f"; before/edossier = {before / ours:.2f}×" if before else ""), file=stream)


def _kb(value) -> str:
    return "-" if value is None else f"{value / 1000:.0f} KB"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2%}"


# main -----------------------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="bench pages to generate (default 20)")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for each side (default 2)")
    parser.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="work folder (default benchmarks/out)")
    parser.add_argument("--skip-baseline", action="store_true", help="edossier only")
    parser.add_argument("--no-samples", action="store_true", help="bench pages only")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    stream = sys.stderr if args.json == "-" else sys.stdout
    work = args.out.resolve() / "size"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        pages = bench_inputs(work, args.pages, args.seed) + ([] if args.no_samples else sample_inputs(work))
    except common.BenchError as exc:
        print(f"cannot run the benchmark: {exc}", file=sys.stderr)
        return 1
    print(f"edossier: {len(pages)} pages, {args.jobs} processes …", file=stream, flush=True)
    run_edossier(pages, work, args.jobs)
    if not args.skip_baseline:
        print(f"ocrmypdf --optimize 2: {len(pages)} pages, {args.jobs} at a time …", file=stream, flush=True)
        run_ocrmypdf(pages, work, args.jobs)
        reread_ocrmypdf(pages, work, args.jobs)
    rows = [page_row(p) for p in pages]
    summaries = [summary(pages, group) for group in ("bench", "real")]
    crops_written = {p.name: write_crops(p, work) for p in crop_pages(pages)}
    volume = volume_bytes(pages, work)
    print_report(rows, summaries, volume, crops_written, stream)
    if args.json:
        common.write_json(args.json, {"benchmark": "size", "machine": common.machine(), "pages": rows,
                                      "summaries": summaries, "volume_bytes": volume, "crops": crops_written})
    return 0


if __name__ == "__main__":
    sys.exit(main())
