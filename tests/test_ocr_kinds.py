"""The court paper tesseract reads worst, read through the product's page steps (ingest.digitise): dense text pages,
short notices, decisions sealed in red, bordered forms filled by hand and ID-card photocopies (synth/courtpaper.py),
each kind within a character error rate measured for it; what is dropped for reading (a seal, table rules, toner
specks) is named in the page's steps and stays in the page kept; and the real Chinese samples read within theirs.

CER = Levenshtein / truth length, NFKC, whitespace removed (ocr.accuracy). Ceilings are the rates measured on these
very pages (tesseract 5.3.0, Debian's chi_sim 4.1.0 models) with a margin; the rates before the reading steps
existed are beside them, for the record.
"""
from __future__ import annotations

import io
import random
import re
import statistics
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw
from shared import missing

from classify.identifiers import valid_resident_id
from config.settings import load_settings
from ingest.digitise import PageResult, digitise
from ingest.inspect import Limits
from ingest.pages import Raster, colour_of, load_page, to_gray
from ocr import dropout
from ocr.accuracy import cer, pooled_cer
from synth.courtpaper import KINDS, KindPage, kind_page, kind_pages
from synth.render import font

SEED, PER_KIND = 10, 2
# Mean CER of the kind's two pages here: the ceiling, and (measured: with the reading steps; before them).
CEILINGS = {
    "long_text": 0.025,      # 1.02 %; 5.93 % (a photocopy, its toner specks read as text)
    "short_notice": 0.045,   # 2.34 %; 14.7 % (two summonses, sealed over the date)
    "sealed": 0.08,          # 5.43 %; 38.4 % (a colour scan and a photocopy, its seal grey)
    "form": 0.07,            # 4.14 %; 10.7 % (an evidence list, a proof of service with a seal)
    "id_copy": 0.35,         # 28.2 %; 95.6 % (two cards; one card photocopied again)
}
LIMITS = Limits(2 ** 30, 150_000_000, 60)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """tesseract itself, whatever the default engine is (the rates measured are tesseract's)."""
    return load_settings(env={"EDOSSIER_HOME": str(tmp_path_factory.mktemp("home"))}, ocr={"engine": "tesseract"})


@pytest.fixture(scope="module")
def read(settings) -> dict[str, list[tuple[KindPage, PageResult]]]:
    """Every page of the sample, digitised as a scanned image is: greyscale to read, colour kept when it has any."""
    pages = kind_pages(per_kind=PER_KIND, seed=SEED)
    return {kind: [(page, digitise(_raster(page.image), settings)) for page in pages if page.kind == kind]
            for kind in KINDS}


def _raster(image: Image.Image) -> Raster:
    return Raster(to_gray(image), 300, "decoded image", colour_of(image))


def _kept(result: PageResult) -> np.ndarray:
    """The page image of the searchable page PDF, as RGB pixels."""
    with pikepdf.open(io.BytesIO(result.ocr.pdf)) as pdf:
        [image] = pdf.pages[0].get_images().values()
        return np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("RGB"))


def _with(read, kind: str, variation: str | None = None, without: str | None = None):
    return next((page, result) for page, result in read[kind]
                if (variation is None or variation in page.variations)
                and (without is None or without not in page.variations))


def _has_step(result: PageResult, start: str) -> bool:
    return any(step.startswith(start) for step in result.steps)


# --- what each kind reads like -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_court_paper_reads_within_its_measured_error_rate(read, kind):
    rates = [cer(result.ocr.text, page.text) for page, result in read[kind]]
    report = ", ".join(f"{rate:.2%} ({'+'.join(page.variations) or 'plain'})"
                       for rate, (page, _) in zip(rates, read[kind]))
    assert statistics.mean(rates) <= CEILINGS[kind], f"{kind}: {report}"


def test_a_red_seal_is_dropped_for_reading_and_stays_red_in_the_page_kept(read):
    page, result = _with(read, "sealed", "seal", without="photocopy")
    assert _has_step(result, "red seal dropped for reading")
    assert result.ocr.engine["image"]["kind"] == "colour"
    pixels = _kept(result).astype(np.int16)
    red = (pixels[:, :, 0] > 150) & (pixels[:, :, 1] < 110) & (pixels[:, :, 2] < 110)
    assert red.sum() > 5000                      # a 42 mm seal at 200 dpi: tens of thousands of red pixels
    assert cer(result.ocr.text, page.text) < 0.05


def test_red_print_that_is_no_stamp_is_read_and_a_red_ring_is_dropped():
    """An official letter's red head (a line of large red print and a red rule) is text to read; a red ring is a
    seal."""
    page = Image.new("RGB", (2480, 3508), "white")
    draw = ImageDraw.Draw(page)
    draw.text((300, 300), "望川市人民政府办公室文件", font=font("song", 150), fill=(220, 30, 40))
    draw.line((300, 520, 2180, 520), fill=(220, 30, 40), width=8)
    draw.text((300, 800), "关于印发工作方案的通知", font=font("song", 60), fill=(20, 20, 20))
    draw.ellipse((1600, 2600, 2100, 3100), outline=(220, 30, 40), width=14)
    gray = to_gray(page)
    reading = dropout.reading_copy(gray, np.asarray(page), 300)
    assert reading.steps == ("red seal dropped for reading",)
    assert np.array_equal(reading.image[250:900], gray[250:900])
    assert reading.image[2600:3100, 1600:2100].min() > 200


def test_a_seal_photocopied_grey_is_found_by_its_ring_and_dropped_for_reading(read):
    _, result = _with(read, "sealed", "photocopy")
    assert result.ocr.engine["image"]["kind"] != "colour"
    assert "grey seal dropped for reading: 1" in result.steps, result.steps
    assert _has_step(result, "specks removed for reading")


def test_table_rules_are_removed_for_reading_and_stay_in_the_page_kept(read):
    for page, result in read["form"]:
        assert _has_step(result, "ruling lines removed for reading"), page.title
        kept = np.asarray(Image.fromarray(_kept(result)).convert("L"))
        assert dropout.remove_rules(kept, result.ocr.engine["image"]["dpi"]) is not None, page.title


def test_a_plain_text_page_is_only_evened_before_it_is_read(read):
    """Nothing is dropped from a page without seals, rules or specks: the steps must not cost dense text."""
    _, result = _with(read, "long_text", without="photocopy")
    dropped = [step for step in result.steps if "for reading" in step and step != "paper evened for reading"]
    assert dropped == [], dropped


# --- the generator ---------------------------------------------------------------------------------------------

def test_the_pages_are_a4_at_300_dpi_in_colour_and_the_same_for_the_same_seed(read):
    page = read["sealed"][0][0]
    again = kind_pages(kinds=("sealed",), per_kind=1, seed=SEED)[0]
    assert page.image.mode == "RGB" and page.image.size == (2480, 3508) and page.image.info["dpi"] == (300, 300)
    assert again.text == page.text and np.array_equal(np.asarray(again.image), np.asarray(page.image))
    with pytest.raises(ValueError, match="unknown page kinds"):
        kind_pages(kinds=("receipt",), per_kind=1, seed=SEED)


def test_cards_stacked_down_a_page_are_read_upright(settings):
    """Two cards, front and back each, one above the other: their line profiles look like a page turned sideways,
    so the page is turned a quarter, reads little of its ink, and is read as it came."""
    page = kind_page("id_copy", random.Random("0:id_copy:2"))
    assert "two cards" in page.variations
    result = digitise(_raster(page.image), settings)
    assert result.rotation == 0 and "rotate 270: the quarter turn undone" in result.steps, result.steps
    assert "居民身份证" in result.ocr.text and cer(result.ocr.text, page.text) < 0.4


def test_id_copies_carry_valid_numbers_of_no_real_region(read):
    numbers = [n for page, _ in read["id_copy"] for n in re.findall(r"\b\d{17}[\dX]\b", page.text)]
    assert numbers and all(valid_resident_id(n) and n.startswith("99") for n in numbers)


def test_the_truth_holds_what_is_printed_and_not_what_is_stamped_over_it(read):
    for page, _ in read["sealed"]:
        assert "收文" not in page.text and "专用章" not in page.text and "登记号" not in page.text
        assert page.text.splitlines()[0].endswith("人民法院")      # the court's name, printed in black


# --- real samples ------------------------------------------------------------------------------------------------

SAMPLE_FOLDERS = ("ocr_gt/chi_sim_page", "ocr_gt/chi_sim_lines")
TIER_C = ("rapidocr_test_letterbox_like",)       # transcribed by hand (ocr_gt/README.md): no CER headlined on it
SAMPLES_CEILING = 0.38        # pooled over the 19 images; measured 0.354, the same as before the reading steps


def test_real_chinese_samples_read_within_their_measured_error_rate(samples, settings):
    """The product's page steps on real Chinese line and page images (ocr_gt/README.md: tiers A and B; the partial,
    approximate and hand-made transcriptions left out). Most are line snippets, which the reading copy leaves as
    they are; the rate guards against the steps costing them."""
    pairs = []
    for folder in SAMPLE_FOLDERS:
        if not (samples / folder).is_dir():
            missing(str(samples / folder))
        for truth in sorted((samples / folder).glob("*.gt.txt")):
            if truth.name.startswith(TIER_C):
                continue
            pairs.append((_image_beside(truth), truth.read_text(encoding="utf-8", errors="replace")))
    texts = [_read_file(image, settings) for image, _ in pairs]
    rate, per_page = pooled_cer(texts, [truth for _, truth in pairs])
    assert len(pairs) >= 19
    assert rate <= SAMPLES_CEILING, [(image.name, row["cer"]) for (image, _), row in zip(pairs, per_page)]


def _image_beside(truth: Path) -> Path:
    stem = truth.name[: -len(".gt.txt")]
    found = [p for p in truth.parent.glob(stem + ".*") if not p.name.endswith(".txt")]
    if not found:
        missing(str(truth.parent / stem) + ".*")
    return found[0]


def _read_file(path: Path, settings) -> str:
    with Image.open(path) as image:
        media = Image.MIME[image.format]
    result = digitise(load_page(path, media, 0, LIMITS, 300), settings)
    return result.ocr.text if result.ocr else ""
