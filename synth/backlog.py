"""A scanning centre's backlog of synthetic case folders and loose scans, with the ground truth of every page."""
from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from synth.degrade import ScanParams, blank_backside, degrade, jpeg_roundtrip, scan_params
from synth.documents import CaseFile, Document, Page, civil_case, enforcement_case, make_court
from synth.render import DPI, render_page, render_patch_t, render_separator

DUPLEX_SHARE = 0.3
SEPARATOR_FILE = "scan_0001.pdf"  # starts with a separator sheet naming case and document type
PATCH_FILE = "scan_0002.tif"  # two documents with a Patch-T sheet between them
TEXT_ONLY_FILE = "IMG_0003.jpg"  # a phone-camera style scan whose case number is only in its text


@dataclass(frozen=True)
class PageTruth:
    """One scanned side: where it is (file relative to the backlog folder, 0-based index) and what it shows."""
    file: str
    index: int
    blank: bool = False
    separator: bool = False
    upside_down: bool = False
    text: str = ""


@dataclass(frozen=True)
class DocumentTruth:
    """A document as the e-dossier should hold it; pages lists every scanned side in scan order, including the
    separator sheet before it and blank backsides; page_count counts only the document's own content pages."""
    type_code: str
    title: str
    page_count: int
    pages: tuple[PageTruth, ...]


@dataclass(frozen=True)
class CaseTruth:
    """A case: number, kind (civil/enforcement), its folder in the backlog and its documents in order of formation."""
    case_no: str
    kind: str
    court: str
    cause: str
    folder: str
    documents: tuple[DocumentTruth, ...]


@dataclass(frozen=True)
class FileTruth:
    """One file written: path relative to the backlog folder, page count, format, and the case folder it is in."""
    path: str
    pages: int
    format: str
    folder: str | None


@dataclass(frozen=True)
class BacklogTruth:
    """Ground truth of a synthetic backlog."""
    root: str
    seed: int
    cases: tuple[CaseTruth, ...]
    files: tuple[FileTruth, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> BacklogTruth:
        data = json.loads(text)
        cases = tuple(
            CaseTruth(**{**c, "documents": tuple(
                DocumentTruth(**{**d, "pages": tuple(PageTruth(**p) for p in d["pages"])}) for d in c["documents"])})
            for c in data["cases"])
        return cls(data["root"], data["seed"], cases, tuple(FileTruth(**f) for f in data["files"]))


@dataclass(frozen=True)
class Sheet:
    """One side to rasterise: a document page, a separator or Patch-T sheet, or the blank back of a page."""
    kind: str  # "page", "separator", "patch", "blank"
    params: ScanParams
    page: Page | None = None
    case_no: str = ""
    type_code: str = ""
    blank_seed: int = 0


@dataclass
class _Plan:
    """Files being planned: per file its sheets; per case and document the sides that belong to it."""
    files: dict[str, list[Sheet]] = field(default_factory=dict)
    sides: dict[tuple[str, int], list[tuple[str, int]]] = field(default_factory=dict)
    multi_page_files: int = 0

    def add(self, path: str, sheet: Sheet, case_no: str, doc_index: int) -> None:
        sheets = self.files.setdefault(path, [])
        self.sides.setdefault((case_no, doc_index), []).append((path, len(sheets)))
        sheets.append(sheet)


def rasterise(sheets: tuple[Sheet, ...]) -> list[tuple[np.ndarray, str, int]]:
    """Image, ground-truth text and JPEG quality of a scanned side, and of its blank back when one follows."""
    front = sheets[0]
    if front.kind == "separator":
        rendered = render_separator(front.case_no, front.type_code)
    elif front.kind == "patch":
        rendered = render_patch_t()
    else:
        rendered = render_page(front.page)
    sides = [(degrade(rendered.image, front.params), rendered.text, front.params.jpeg_quality)]
    for back in sheets[1:]:
        image = blank_backside(random.Random(back.blank_seed), rendered.image)
        sides.append((image, "", back.params.jpeg_quality))
    return sides


def _jobs(sheets: list[Sheet]) -> list[tuple[Sheet, ...]]:
    """Sheets grouped for rasterising: every blank back rides with the page before it (its show-through)."""
    jobs: list[tuple[Sheet, ...]] = []
    for sheet in sheets:
        if sheet.kind == "blank" and jobs:
            jobs[-1] += (sheet,)
        else:
            jobs.append((sheet,))
    return jobs


def _jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality, dpi=(DPI, DPI))
    return buffer.getvalue()


def write_pdf(path: Path, pages: list[tuple[np.ndarray, int]]) -> None:
    """A PDF whose every page is one 300-dpi greyscale JPEG filling an A4 page."""
    pdf = pikepdf.new()
    for image, quality in pages:
        height, width = image.shape
        xobject = pikepdf.Stream(pdf, _jpeg_bytes(image, quality), Type=pikepdf.Name.XObject,
                                 Subtype=pikepdf.Name.Image, Width=width, Height=height, BitsPerComponent=8,
                                 ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.DCTDecode)
        w_pt, h_pt = width * 72 / DPI, height * 72 / DPI
        content = pikepdf.Stream(pdf, f"q {w_pt:.2f} 0 0 {h_pt:.2f} 0 0 cm /Im0 Do Q".encode())
        resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject))
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 2), round(h_pt, 2)],
                                  Contents=content, Resources=resources)
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path, deterministic_id=True)


def write_tiff(path: Path, pages: list[tuple[np.ndarray, int]]) -> None:
    """A multi-page greyscale TIFF, JPEG-compressed as scanners write them, tagged 300 dpi."""
    images = [Image.fromarray(image) for image, _ in pages]
    images[0].save(path, "TIFF", save_all=True, append_images=images[1:], compression="jpeg",
                   quality=pages[0][1], dpi=(DPI, DPI))


def write_image(path: Path, image: np.ndarray, quality: int) -> None:
    """A single-page JPEG, or a PNG made from an already JPEG-compressed scan."""
    if path.suffix == ".png":
        Image.fromarray(jpeg_roundtrip(image, quality)).save(path, "PNG", dpi=(DPI, DPI), compress_level=1)
    else:
        path.write_bytes(_jpeg_bytes(image, quality))


def write_file(path: Path, pages: list[tuple[np.ndarray, int]]) -> None:
    """Write pages in the format the file name asks for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".pdf":
        write_pdf(path, pages)
    elif path.suffix == ".tif":
        write_tiff(path, pages)
    elif len(pages) == 1:
        write_image(path, *pages[0])
    else:
        raise ValueError(f"{path.name}: a single-image format cannot hold {len(pages)} pages")


def _make_cases(rng: random.Random, count: int) -> list[CaseFile]:
    """Civil and enforcement cases alternating, all of one court, with distinct numbers."""
    court = make_court(rng)
    year = rng.choice((2023, 2024))
    seqs = rng.sample(range(100, 6000), count)
    builders = (civil_case, enforcement_case)
    return [builders[i % 2](rng, court, year, seqs[i]) for i in range(count)]


def _doc_index(case: CaseFile, type_code: str) -> int:
    return next(i for i, d in enumerate(case.documents) if d.type_code == type_code)


def _loose_choice(cases: list[CaseFile]) -> dict[tuple[str, int], str]:
    """Documents scanned loose at the top level: which case/document goes to which loose file."""
    civil = [c for c in cases if c.kind == "civil"]
    enforcement = next(c for c in cases if c.kind == "enforcement")
    text_only = civil[-1]
    return {
        (civil[0].case_no, _doc_index(civil[0], "TRIAL_RECORD")): SEPARATOR_FILE,
        (enforcement.case_no, _doc_index(enforcement, "ENF_NOTICE")): PATCH_FILE,
        (enforcement.case_no, _doc_index(enforcement, "ENF_RULING")): PATCH_FILE,
        (text_only.case_no, _doc_index(text_only, "SUMMONS")): TEXT_ONLY_FILE,
    }


def _chunks(rng: random.Random, docs: list[tuple[int, Document]]) -> list[list[tuple[int, Document]]]:
    """Group a case's documents into scanned files: ID copies and proofs of service alone, the rest 1–3 at a time."""
    chunks: list[list[tuple[int, Document]]] = []
    current: list[tuple[int, Document]] = []
    size = rng.randint(1, 3)
    for item in docs:
        alone = item[1].type_code in ("PARTY_ID", "SERVICE_PROOF")
        if current and (alone or len(current) >= size):
            chunks.append(current)
            current, size = [], rng.randint(1, 3)
        current.append(item)
        if alone:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _format(rng: random.Random, docs: list[tuple[int, Document]], sides: int, multi_count: int) -> str:
    if sides > 1:
        return (".pdf", ".tif")[multi_count % 2]
    if docs[0][1].type_code == "PARTY_ID":
        return ".jpg"
    return ".png" if docs[0][1].type_code == "SERVICE_PROOF" or rng.random() < 0.3 else ".jpg"


def _add_doc(plan: _Plan, rng: random.Random, path: str, case_no: str, doc_index: int, doc: Document,
             duplex: bool) -> None:
    """Sheets of one document into a file, each page followed by its blank back when scanned duplex."""
    for page in doc.pages:
        plan.add(path, Sheet("page", scan_params(rng), page), case_no, doc_index)
        if duplex:
            blank = Sheet("blank", scan_params(rng), blank_seed=rng.getrandbits(32))
            plan.add(path, blank, case_no, doc_index)


def _plan_case(plan: _Plan, rng: random.Random, case: CaseFile, loose: dict, first: bool) -> None:
    """Files of one case folder: 001.pdf, 002.jpg, … in the order the paper was scanned."""
    docs = [(i, d) for i, d in enumerate(case.documents) if (case.case_no, i) not in loose]
    must_duplex = first  # the first case always has one duplex-scanned file, so the backlog has blank backs
    for number, chunk in enumerate(_chunks(rng, docs), 1):
        alone = chunk[0][1].type_code in ("PARTY_ID", "SERVICE_PROOF")
        duplex = not alone and (rng.random() < DUPLEX_SHARE or (must_duplex and number > 1))
        must_duplex = must_duplex and not duplex
        sides = sum(len(d.pages) for _, d in chunk) * (2 if duplex else 1)
        suffix = _format(rng, chunk, sides, plan.multi_page_files)
        plan.multi_page_files += sides > 1
        path = f"{case.case_no}/{number:03d}{suffix}"
        for doc_index, doc in chunk:
            _add_doc(plan, rng, path, case.case_no, doc_index, doc, duplex)


def _plan_loose(plan: _Plan, rng: random.Random, cases: list[CaseFile], loose: dict) -> None:
    """Top-level scans: a separator-led PDF, a Patch-T-split TIFF and a photo whose case shows only in its text."""
    by_no = {c.case_no: c for c in cases}
    for (case_no, doc_index), path in loose.items():
        doc = by_no[case_no].documents[doc_index]
        if path == SEPARATOR_FILE:
            sheet = Sheet("separator", scan_params(rng, border=False), case_no=case_no, type_code=doc.type_code)
            plan.add(path, sheet, case_no, doc_index)
        if path == PATCH_FILE and doc.type_code == "ENF_RULING":
            plan.add(path, Sheet("patch", scan_params(rng, border=False)), case_no, doc_index)
        _add_doc(plan, rng, path, case_no, doc_index, doc, duplex=False)


def _flip_one(plan: _Plan, rng: random.Random) -> tuple[str, int]:
    """Turn one content page inside a case folder upside down; returns its (file, index)."""
    candidates = [(path, i) for path, sheets in plan.files.items() if "/" in path
                  for i, s in enumerate(sheets) if s.kind == "page"]
    path, index = rng.choice(candidates)
    sheet = plan.files[path][index]
    plan.files[path][index] = replace(sheet, params=replace(sheet.params, upside_down=True))
    return path, index


def _write_files(out_dir: Path, plan: _Plan) -> dict[tuple[str, int], str]:
    """Rasterise and write every planned file; returns the ground-truth text of each (file, index)."""
    texts: dict[tuple[str, int], str] = {}
    for path, sheets in plan.files.items():
        pages: list[tuple[np.ndarray, int]] = []
        for job in _jobs(sheets):
            for image, text, quality in rasterise(job):
                texts[(path, len(pages))] = text
                pages.append((image, quality))
        write_file(out_dir / path, pages)
    return texts


def _case_truth(case: CaseFile, plan: _Plan, texts: dict) -> CaseTruth:
    docs = []
    for doc_index, doc in enumerate(case.documents):
        sides = []
        for path, index in plan.sides[(case.case_no, doc_index)]:
            sheet = plan.files[path][index]
            sides.append(PageTruth(path, index, sheet.kind == "blank", sheet.kind in ("separator", "patch"),
                                   sheet.params.upside_down, texts[(path, index)]))
        docs.append(DocumentTruth(doc.type_code, doc.title, len(doc.pages), tuple(sides)))
    return CaseTruth(case.case_no, case.kind, case.court.name, case.cause, case.case_no, tuple(docs))


def _file_truth(plan: _Plan) -> tuple[FileTruth, ...]:
    formats = {".pdf": "pdf", ".tif": "tiff", ".jpg": "jpeg", ".png": "png"}
    return tuple(FileTruth(path, len(sheets), formats[Path(path).suffix], path.split("/")[0] if "/" in path else None)
                 for path, sheets in sorted(plan.files.items()))


def default_truth_path(out_dir: Path) -> Path:
    """Where the truth file goes unless told: beside the backlog folder, never inside it."""
    return out_dir.parent / (out_dir.name + ".truth.json")


def make_backlog(out_dir: Path, seed: int = 7, cases: int = 3, truth_path: Path | None = None) -> BacklogTruth:
    """Write a backlog folder (one sub-folder per case plus loose scans) and its truth JSON; same seed, same bytes."""
    out_dir = Path(out_dir)
    if cases < 2:
        raise ValueError("a backlog needs at least 2 cases (one civil, one enforcement)")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    rng = random.Random(seed)
    case_files = _make_cases(rng, cases)
    loose = _loose_choice(case_files)
    plan = _Plan()
    for number, case in enumerate(case_files):
        _plan_case(plan, rng, case, loose, number == 0)
    _plan_loose(plan, rng, case_files, loose)
    _flip_one(plan, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = _write_files(out_dir, plan)
    truth = BacklogTruth(out_dir.name, seed, tuple(_case_truth(c, plan, texts) for c in case_files), _file_truth(plan))
    target = Path(truth_path) if truth_path else default_truth_path(out_dir)
    target.write_text(truth.to_json(), encoding="utf-8")
    return truth


@dataclass(frozen=True)
class DemoProblem:
    """A problem put into a demo backlog on purpose, so a new operator meets it and its remedy before real work."""
    kind: str          # "damaged" (goes to quarantine) or "misfiled" (a document flagged for review)
    path: str          # relative to the backlog folder
    case_no: str       # the folder's case
    note: str


def add_demo_problems(out_dir: Path, truth: BacklogTruth) -> tuple[DemoProblem, ...]:
    """Two problems: a scan cut off mid-file in the first case's folder, and a one-page notice of the first case
    filed in the second case's folder (it prints the first case's number)."""
    out_dir = Path(out_dir)
    first, second = truth.cases[0], truth.cases[1]
    pages_of = {f.path: f.pages for f in truth.files}
    source = next(p.file for d in first.documents for p in d.pages
                  if pages_of.get(p.file) == 1 and any(first.case_no in line for line in p.text.splitlines()[:4]))
    damaged = f"{first.case_no}/扫描中断.jpg"
    scan = next(out_dir.joinpath(first.case_no).glob("*.jpg"), None) or out_dir / source
    whole = scan.read_bytes()
    (out_dir / damaged).write_bytes(whole[: len(whole) // 3])
    misfiled = f"{second.case_no}/误放-{Path(source).name}"
    (out_dir / misfiled).write_bytes((out_dir / source).read_bytes())
    return (DemoProblem("damaged", damaged, first.case_no, "a scan cut off a third of the way through"),
            DemoProblem("misfiled", misfiled, second.case_no, f"a notice of {first.case_no} in the wrong folder"))
