"""Tests of the synthetic court paper: checksums, layout, determinism, backlog truth and one real OCR read."""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from classify.separator import PATCH_T, parse_separator_text, separator_payload
from synth.__main__ import main
from synth.backlog import BacklogTruth, default_truth_path, make_backlog
from synth.bench import make_bench_pages
from synth.degrade import blank_backside, degrade, ink_ratio, scan_params, upside_down
from synth.documents import STYLES, TYPE_NAMES, civil_case, enforcement_case, make_court
from synth.people import (
    credit_code_valid, make_company, make_person, make_phone, resident_id_valid,
)
from synth.render import A4, code39_modules, page_text, render_page, render_patch_t, render_separator

CASE_NO = re.compile(r"^（20\d\d）[\u4e00-\u9fff]\d{4}(民初|执)\d+号$")


def _cases(seed: int):
    rng = random.Random(seed)
    court = make_court(rng)
    return civil_case(rng, court), enforcement_case(rng, court)


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# ---- people -----------------------------------------------------------------------------------------------------

def test_checksum_vectors():
    assert resident_id_valid("11010519491231002X")
    assert resident_id_valid("360426199101010071")
    assert not resident_id_valid("360426199101010072")
    assert credit_code_valid("91110000600037341L")
    assert not credit_code_valid("91110000600037341M")


def test_generated_ids_and_codes_pass_checksums_from_fake_regions():
    rng = random.Random(1)
    for _ in range(300):
        person, company = make_person(rng), make_company(rng)
        assert resident_id_valid(person.id_number) and person.id_number.startswith("99")
        assert (int(person.id_number[16]) % 2 == 1) == (person.sex == "男")
        assert credit_code_valid(company.credit_code) and company.credit_code[2:4] == "99"
        assert resident_id_valid(company.legal_rep.id_number)
        assert re.fullmatch(r"1990000\d{4}", make_phone(rng))


# ---- documents and rendering ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_documents_have_expected_shape(seed):
    civil, enforcement = _cases(seed)
    assert CASE_NO.match(civil.case_no) and "民初" in civil.case_no
    assert CASE_NO.match(enforcement.case_no) and "执" in enforcement.case_no
    codes = [d.type_code for case in (civil, enforcement) for d in case.documents]
    assert set(codes) == set(TYPE_NAMES)
    pages = {d.type_code: d.pages for d in civil.documents}
    assert len(pages["COMPLAINT"]) == 2 and pages["COMPLAINT"][1].title_index is None
    assert len(pages["TRIAL_RECORD"]) == 2 and 2 <= len(pages["JUDGMENT"]) <= 3
    for case in (civil, enforcement):
        for doc in case.documents:
            first = doc.pages[0]
            assert first.title == doc.title
            assert all(line.style in STYLES for page in doc.pages for line in page.lines)
            assert all(p.title_index is None for p in doc.pages[1:])
            if doc.type_code in ("ACCEPT_NOTICE", "RESPONSE_NOTICE", "SUMMONS", "JUDGMENT", "ENF_NOTICE", "ENF_RULING"):
                t = first.title_index
                assert first.lines[t - 1].text.endswith("人民法院") and first.lines[t + 1].text == case.case_no


@pytest.mark.parametrize("seed", range(25))
def test_every_page_fits_on_a4(seed):
    for case in _cases(seed):
        for doc in case.documents:
            for page in doc.pages:
                assert page_text(page)


def test_render_returns_a4_image_and_exact_text():
    civil, _ = _cases(2)
    for doc in civil.documents[:2]:
        page = doc.pages[0]
        rendered = render_page(page)
        assert rendered.image.shape == (A4[1], A4[0]) and rendered.image.dtype == np.uint8
        assert rendered.text == page_text(page) and doc.title in rendered.text.splitlines()
    judgment = next(d for d in civil.documents if d.type_code == "JUDGMENT").pages[0]
    lines = render_page(judgment).text.splitlines()
    assert lines[:3] == [civil.court.name, "民事判决书", civil.case_no]


def test_code39_bars_follow_the_spec():
    row = code39_modules(PATCH_T)
    edges = np.flatnonzero(np.diff(row.astype(np.int8))) + 1
    widths = np.diff(np.concatenate([[0], edges, [row.size]]))
    assert set(widths) == {10, 28} and 28 / 10 >= 2.5
    assert row.size == 8 * (6 * 10 + 3 * 28) + 7 * 10  # *PATCHT*: 8 characters, 7 gaps


def test_separator_and_patch_sheets_decode():
    import zxingcpp
    case_no = "（2024）浙0803民初1234号"
    sheet = render_separator(case_no, "JUDGMENT", "ZJ")
    scanned = degrade(sheet.image, scan_params(random.Random(3)))
    texts = [r.text for r in zxingcpp.read_barcodes(Image.fromarray(scanned))]
    assert texts == [separator_payload(case_no, "JUDGMENT", "ZJ")]
    assert parse_separator_text(texts[0]).case_no == case_no and case_no in sheet.text
    patch = degrade(render_patch_t().image, scan_params(random.Random(4)))
    assert [r.text for r in zxingcpp.read_barcodes(Image.fromarray(patch))] == [PATCH_T]


# ---- degradation ------------------------------------------------------------------------------------------------

def test_degrade_is_deterministic_and_blank_backs_look_blank():
    page = render_page(_cases(5)[0].documents[0].pages[0]).image
    params = scan_params(random.Random(9), border=True)
    assert 1.0 <= abs(params.skew_deg) <= 3.0 and 60 <= params.jpeg_quality <= 80
    once, twice = degrade(page, params), degrade(page, params)
    assert np.array_equal(once, twice) and not np.array_equal(once, page)
    assert np.array_equal(upside_down(upside_down(once)), once)
    blank = blank_backside(random.Random(1), page)
    assert np.array_equal(blank, blank_backside(random.Random(1), page))
    assert ink_ratio(blank) < 1e-4 and blank.mean() > 220 and blank.std() > 1.0
    assert ink_ratio(once) > 5e-3


# ---- backlog ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def backlog(tmp_path_factory):
    root = tmp_path_factory.mktemp("backlog") / "backlog"
    return root, make_backlog(root)


def _page_count(path: Path) -> int:
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def test_backlog_layout_matches_truth(backlog):
    root, truth = backlog
    truth_file = default_truth_path(root)
    assert truth_file.is_file() and not (root / truth_file.name).exists()
    assert BacklogTruth.from_json(truth_file.read_text(encoding="utf-8")) == truth
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert on_disk == sorted(f.path for f in truth.files)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(c.case_no for c in truth.cases) and all(CASE_NO.match(f) for f in folders)
    assert {c.kind for c in truth.cases} == {"civil", "enforcement"}
    for f in truth.files:
        assert _page_count(root / f.path) == f.pages
    suffixes = {Path(f.path).suffix for f in truth.files}
    assert suffixes == {".pdf", ".tif", ".jpg", ".png"}


def test_backlog_pages_are_300dpi_a4(backlog):
    root, truth = backlog
    pdf_file = next(f for f in truth.files if f.format == "pdf")
    with pikepdf.open(root / pdf_file.path) as pdf:
        page = pdf.pages[0]
        image = page.Resources.XObject.Im0
        assert (image.Width, image.Height, image.Filter) == (2480, 3508, pikepdf.Name.DCTDecode)
        assert [round(float(v)) for v in page.mediabox] == [0, 0, 595, 842]
    for fmt in ("tiff", "jpeg", "png"):
        f = next(f for f in truth.files if f.format == fmt)
        with Image.open(root / f.path) as image:
            assert image.size == (2480, 3508) and round(image.info["dpi"][0]) == 300


def test_backlog_truth_pages(backlog):
    root, truth = backlog
    sides = [p for c in truth.cases for d in c.documents for p in d.pages]
    assert sum(f.pages for f in truth.files) == len(sides)
    assert len({(p.file, p.index) for p in sides}) == len(sides)
    assert sum(p.upside_down for p in sides) == 1
    assert "/" in next(p for p in sides if p.upside_down).file
    assert any(p.blank for p in sides) and all(p.text == "" for p in sides if p.blank)
    for case in truth.cases:
        for doc in case.documents:
            content = [p for p in doc.pages if not p.blank and not p.separator]
            assert len(content) == doc.page_count and content[0].text.count("\n") > 2
            assert doc.title.replace(" ", "") in content[0].text


def test_backlog_loose_files(backlog):
    _, truth = backlog
    loose = {f.path: f for f in truth.files if f.folder is None}
    assert set(loose) == {"scan_0001.pdf", "scan_0002.tif", "IMG_0003.jpg"}
    docs = {(p.file, p.index): (c, d) for c in truth.cases for d in c.documents for p in d.pages}
    case, doc = docs[("scan_0001.pdf", 0)]
    assert doc.pages[0].separator and case.case_no in doc.pages[0].text and doc.type_code in doc.pages[0].text
    middle = docs[("scan_0002.tif", 1)][1]
    assert middle.pages[0].separator and "PATCHT" in middle.pages[0].text
    assert docs[("scan_0002.tif", 0)][1] is not middle
    case, doc = docs[("IMG_0003.jpg", 0)]
    assert case.case_no in doc.pages[0].text and not doc.pages[0].separator


def test_backlog_same_seed_same_bytes(backlog, tmp_path):
    root, truth = backlog
    again = tmp_path / "backlog"
    assert make_backlog(again, seed=truth.seed) == truth
    assert _digest(again) == _digest(root)
    assert default_truth_path(again).read_bytes() == default_truth_path(root).read_bytes()


def test_backlog_refuses_a_full_folder_and_one_case(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.pdf").write_bytes(b"%PDF-")
    with pytest.raises(FileExistsError):
        make_backlog(tmp_path / "full")
    with pytest.raises(ValueError):
        make_backlog(tmp_path / "one", cases=1)


# ---- bench and command line -------------------------------------------------------------------------------------

def test_bench_pages_deterministic(tmp_path):
    first = make_bench_pages(tmp_path / "a", n=3, seed=5)
    assert [p.name for p in first] == ["page_01.jpg", "page_02.jpg", "page_03.jpg"]
    assert main(["bench", str(tmp_path / "b"), "--n", "3", "--seed", "5"]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert sum(m["params"]["upside_down"] for m in manifest) == 1
    for path in first:
        assert path.with_name(path.stem + ".gt.txt").read_text(encoding="utf-8").strip()


def test_cli_reports_bad_arguments(tmp_path, capsys):
    assert main(["backlog", str(tmp_path / "x"), "--cases", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err


# ---- one real OCR read ------------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("tesseract") is None and not os.environ.get("CI"),
                    reason="tesseract is not installed (under CI=true this fails instead)")
def test_tesseract_reads_rendered_title(tmp_path):
    civil, _ = _cases(0)
    page = next(d for d in civil.documents if d.type_code == "JUDGMENT").pages[0]
    path = tmp_path / "page.png"
    Image.fromarray(render_page(page).image).save(path)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    result = subprocess.run(["tesseract", str(path), "-", "-l", "chi_sim", "--psm", "6"],
                            capture_output=True, text=True, env=env, timeout=300, check=True)
    text = "".join(result.stdout.split())
    assert "民事判决书" in text
