"""Helpers shared by the benchmarks: bench pages, image-only PDFs, the edossier command, text comparison."""
from __future__ import annotations

import datetime as dt
import inspect
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "benchmarks" / "out"
CASE_NO = "（2024）浙0803民初1234号"
DPI = 300
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or broke before anything could be measured."""


# bench pages ------------------------------------------------------------------------------------------------------
def bench_pages(folder: Path, n: int, seed: int) -> list[tuple[Path, str]]:
    """Generate n bench pages into a fresh `folder`; return (image, ground truth) in page order."""
    try:
        from synth.bench import make_bench_pages
    except ImportError as exc:
        raise BenchError(f"the bench page generator synth/bench.py is not available: {exc}") from exc
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    extra = {"workers": os.cpu_count() or 1} if "workers" in inspect.signature(make_bench_pages).parameters else {}
    written = [Path(p) for p in make_bench_pages(folder, n=n, seed=seed, **extra)]
    images = [p for p in written if p.suffix.lower() in IMAGE_SUFFIXES] or sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    pages = []
    for image in images:
        truth = image.with_name(image.name[: -len(image.suffix)] + ".gt.txt")
        if not truth.is_file():
            raise BenchError(f"no ground truth {truth.name} next to {image.name}")
        pages.append((image, truth.read_text(encoding="utf-8")))
    if len(pages) != n:
        raise BenchError(f"asked the generator for {n} pages, found {len(pages)} page images in {folder}")
    return pages


def upside_down_pages(folder: Path) -> set[int]:
    """1-based numbers of the pages the generator fed upside down (from its manifest.json, when it writes one)."""
    try:
        entries = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {index for index, entry in enumerate(entries, 1)
            if isinstance(entry, dict) and (entry.get("params") or {}).get("upside_down")}


# image-only PDFs --------------------------------------------------------------------------------------------------
def _image_xobject(pdf, path: Path):
    """An image XObject for one page image: a JPEG is embedded as it is (no re-encoding), anything else losslessly."""
    import pikepdf
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        dpi = image.info.get("dpi") or (DPI, DPI)
        fmt, mode = image.format, image.mode
        if fmt == "JPEG" and mode in ("L", "RGB"):
            data, filt = path.read_bytes(), pikepdf.Name.DCTDecode
        else:
            mode = "L" if mode in ("1", "L", "LA", "I;16", "I", "F") else "RGB"
            data, filt = zlib.compress(image.convert(mode).tobytes(), 6), pikepdf.Name.FlateDecode
    colour = pikepdf.Name.DeviceGray if mode == "L" else pikepdf.Name.DeviceRGB
    xobject = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                             Height=height, BitsPerComponent=8, ColorSpace=colour, Filter=filt)
    x_dpi, y_dpi = (float(d) or DPI for d in dpi)
    return xobject, width * 72 / x_dpi, height * 72 / y_dpi


def images_to_pdf(images: list[Path], out: Path) -> Path:
    """One page per image, the image filling the page at its own resolution (300 dpi when untagged)."""
    import pikepdf

    pdf = pikepdf.new()
    for path in images:
        xobject, w_pt, h_pt = _image_xobject(pdf, path)
        content = pikepdf.Stream(pdf, f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 3), round(h_pt, 3)],
                                  Contents=content,
                                  Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)))
        pdf.pages.append(pikepdf.Page(page))
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.save(out, deterministic_id=True)
    return out


def greyscale_jpeg(path: Path, out: Path, quality: int = 75) -> Path:
    """`path` as a 300-dpi greyscale JPEG (copied as it is when it already is one)."""
    from PIL import Image

    with Image.open(path) as image:
        if image.format == "JPEG" and image.mode == "L":
            shutil.copyfile(path, out)
            return out
        buffer = io.BytesIO()
        image.convert("L").save(buffer, "JPEG", quality=quality, dpi=(DPI, DPI))
    out.write_bytes(buffer.getvalue())
    return out


def pdf_page_texts(pdf: Path) -> list[str]:
    """The text layer of every page, in page order."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


# the product ------------------------------------------------------------------------------------------------------
def edossier_command() -> list[str]:
    """The installed `edossier` next to this interpreter, else the one on PATH, else `python -m ingest`."""
    beside = Path(sys.executable).parent / "edossier"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("edossier")
    return [found] if found else [sys.executable, "-m", "ingest"]


def fresh_home(folder: Path) -> dict[str, str]:
    """An environment whose EDOSSIER_HOME is a new empty `folder`."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    env = dict(os.environ)
    env["EDOSSIER_HOME"] = str(folder)
    env.pop("EDOSSIER_CONFIG", None)
    return env


def parse_json_output(stdout: str) -> dict | None:
    """The JSON report printed by `--json` (None when there is none)."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except json.JSONDecodeError:
        return None


def manifest_path(home: Path, case_no: str, report: dict | None) -> Path:
    """Where the run wrote the case's manifest.json: the folder its report names, else HOME/dossiers/<case>."""
    for case in (report or {}).get("cases", []):
        if case.get("case_no") == case_no and case.get("folder"):
            candidate = Path(case["folder"]) / "manifest.json"
            if candidate.is_file():
                return candidate
    return home / "dossiers" / case_no / "manifest.json"


def manifest_page_texts(manifest: dict, n: int, source_name: str | None = None) -> tuple[list[str], dict]:
    """Text per source page (index = original_page - 1) from a manifest; pages it does not carry stay empty.

    With one multi-page source file every page is keyed by `original_page`; `source_name` restricts the pages
    taken to that file when the case holds others.
    """
    texts = [""] * n
    found = 0
    for volume in manifest.get("volumes", []):
        for document in volume.get("documents", []):
            for page in document.get("pages", []):
                if source_name and page.get("original_file") and Path(page["original_file"]).name != source_name:
                    continue
                index = int(page.get("original_page", 0)) - 1
                if 0 <= index < n:
                    texts[index] = page.get("text") or ""
                    found += 1
    excluded: dict[str, int] = {}
    for page in manifest.get("excluded_pages", []):
        reason = str(page.get("reason", "?")).split(":")[0]
        excluded[reason] = excluded.get(reason, 0) + 1
    return texts, {"pages_with_text": found, "excluded": excluded}


# text comparison ------------------------------------------------------------------------------------------------
# One definition for the benchmarks and the tests (ocr/accuracy.py): NFKC, whitespace removed, Levenshtein.
from ocr.accuracy import normalise  # noqa: E402,F401  (re-exported for the benchmarks)
from ocr.accuracy import pooled_cer as cer  # noqa: E402,F401


# environment ------------------------------------------------------------------------------------------------------
def timed_run(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run to completion; wall seconds (perf_counter) and CPU seconds (user + system) of the whole process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, **kwargs)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, seconds, cpu


def load_average() -> float:
    """One-minute load average: other work on the machine makes every timing here slower."""
    return round(os.getloadavg()[0], 2)


def tool_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def source_revision() -> str:
    """The commit measured, with "+changes" when the working tree differs from it."""
    head = tool_version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    return head + ("+changes" if dirty else "")


def machine() -> dict:
    return {"date": dt.date.today().isoformat(), "cpus": os.cpu_count(), "revision": source_revision(),
            "tesseract": tool_version(["tesseract", "--version"]),
            "ocrmypdf": tool_version(["ocrmypdf", "--version"]) if shutil.which("ocrmypdf") else "not installed"}


def write_json(target: str, data: dict) -> None:
    """`-` prints to stdout, anything else is a file path."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if target == "-":
        print(text)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text + "\n", encoding="utf-8")
