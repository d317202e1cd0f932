"""How a page image is kept in its searchable PDF: a black-on-white page as CCITT G4 that decodes to the very pixels
kept, a page with grey content (a seal printed grey) as a smaller greyscale JPEG at the tuned quality, colour as
colour; and real scans, read again from the stored image, give the text they gave as scanned."""
from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw
from shared import missing

from classify.doctype import edit_distance
from config.settings import load_settings
from ingest.digitise import digitise
from ingest.inspect import Limits
from ingest.pages import load_page
from ocr import pageimage, preprocess
from ocr.engine import OcrOptions, recognise
from ocr.pageimage import ImageOptions
from synth.degrade import degrade, scan_params
from synth.documents import civil_case, make_court
from synth.render import render_page

BEFORE = ImageOptions(bitonal=False, jpeg_quality=75, jpeg_dpi=1200)    # how every page was kept until now
LIMITS = Limits(2 ** 30, 150_000_000, 60)


def _scanned(type_code: str, seed: int = 5) -> np.ndarray:
    """The first page of a synthetic document as a greyscale scanner delivers it (skew, blur, noise, paper)."""
    case = civil_case(random.Random(seed), make_court(random.Random(seed)))
    page = next(d for d in case.documents if d.type_code == type_code).pages[0]
    params = scan_params(random.Random(seed), border=False)
    return preprocess.prepare(degrade(render_page(page).image, params, jpeg=True)).image


def cer(hypothesis: str, truth: str) -> float:
    """Character error rate, both sides NFKC with whitespace removed (as benchmarks/common.py counts it); the
    common start and end are set aside first, so that two near-identical readings compare fast."""
    hyp, ref = (re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)) for text in (hypothesis, truth))
    start, end, shorter = 0, 0, min(len(hyp), len(ref))
    while start < shorter and hyp[start] == ref[start]:
        start += 1
    while end < shorter - start and hyp[-1 - end] == ref[-1 - end]:
        end += 1
    return edit_distance(hyp[start:len(hyp) - end], ref[start:len(ref) - end]) / max(1, len(ref))


@contextmanager
def only_image(page_pdf: bytes) -> Iterator[pikepdf.Stream]:
    """The one image of a page PDF (the PDF open while it is used)."""
    with pikepdf.open(io.BytesIO(page_pdf)) as pdf:
        [image] = pdf.pages[0].get_images().values()
        yield image


@pytest.fixture(scope="module")
def text_page() -> np.ndarray:
    return _scanned("JUDGMENT")


@pytest.fixture(scope="module")
def sealed_page() -> np.ndarray:
    return _scanned("ACCEPT_NOTICE")


def test_a_black_on_white_page_is_kept_as_ccitt_g4(text_page):
    page = recognise(text_page, 300, OcrOptions())
    with only_image(page.pdf) as image:
        parms = image.DecodeParms
        assert image.Filter == pikepdf.Name.CCITTFaxDecode and int(image.BitsPerComponent) == 1
        assert (int(parms.K), int(parms.Columns), int(parms.Rows), bool(parms.BlackIs1)) == \
            (-1, text_page.shape[1], text_page.shape[0], False)
    assert page.engine["image"]["kind"] == "bitonal" and page.engine["image"]["dpi"] == 300
    assert len(page.pdf) < 80_000 < len(pageimage.kept_image(text_page, 300, BEFORE).data) / 5


def test_the_g4_image_decodes_and_renders_to_the_pixels_kept(text_page, tmp_path):
    """pdfium (Chromium's PDF engine) decodes the stream to exactly the two-level page; drawn at 100 % the page
    is black where the ink is (not inverted), up to the renderer's resampling at stroke edges."""
    ink, _ = pageimage.two_level_page(text_page, 300)
    pdf = recognise(text_page, 300, OcrOptions()).pdf
    document = pdfium.PdfDocument(pdf)
    [stored] = [o for o in document[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    decoded = stored.get_bitmap(render=False).to_numpy()
    assert np.array_equal(decoded.reshape(ink.shape) == 0, ink)
    drawn = document[0].render(scale=300 / 72, grayscale=True).to_numpy()
    drawn = (drawn[..., 0] if drawn.ndim == 3 else drawn)[:ink.shape[0], :ink.shape[1]] < 128
    assert (drawn == ink).mean() > 0.98 and 0.9 < drawn.mean() / ink.mean() < 1.1


def test_a_page_with_a_grey_seal_is_kept_as_a_smaller_grey_jpeg_at_the_tuned_quality(sealed_page):
    page = recognise(sealed_page, 300, OcrOptions())
    with only_image(page.pdf) as image:
        assert image.Filter == pikepdf.Name.DCTDecode and image.ColorSpace == pikepdf.Name.DeviceGray
        size, jpeg = (int(image.Width), int(image.Height)), image.read_raw_bytes()
    assert page.engine["image"]["kind"] == "grey" and page.engine["image"]["grey_share"] > 0.02
    assert size == (round(sealed_page.shape[1] * 2 / 3), round(sealed_page.shape[0] * 2 / 3))     # 200 dpi
    assert Image.open(io.BytesIO(jpeg)).quantization == _tables(ImageOptions().jpeg_quality)
    assert len(jpeg) < len(pageimage.kept_image(sealed_page, 300, BEFORE).data) / 2.5


def _tables(quality: int) -> dict:
    """The quantisation tables Pillow writes at `quality` (what identifies a JPEG's quality setting)."""
    out = io.BytesIO()
    Image.new("L", (16, 16), 128).save(out, "JPEG", quality=quality)
    return Image.open(out).quantization


def test_a_red_seal_keeps_its_colour(text_page):
    colour = np.repeat(text_page[:, :, None], 3, axis=2)
    picture = Image.fromarray(colour)
    ImageDraw.Draw(picture).ellipse((1500, 2300, 2000, 2800), outline=(220, 20, 30), width=18)
    kept = pageimage.kept_image(text_page, 300, ImageOptions(), colour=np.asarray(picture))
    pixels = np.asarray(Image.open(io.BytesIO(kept.data)))
    assert kept.kind == "colour" and pixels.ndim == 3 and kept.dpi == 200
    red = (pixels[:, :, 0] > 150) & (pixels[:, :, 1] < 90) & (pixels[:, :, 2] < 90)
    assert red.sum() > 2000


def test_a_page_scanned_black_and_white_stays_two_level_and_lossless(samples, tmp_path):
    """A bitonal scan (a 200-dpi G4 form page whose speckled background would make a grey page's measure
    hesitate) is kept two-level; not turned by preprocessing, it is kept pixel for pixel."""
    path = samples / "scans" / "pillow_pport_g4.tif"
    if not path.is_file():
        missing(str(path))
    raster = load_page(path, "image/tiff", 0, LIMITS, 300)
    settings = load_settings(env={"EDOSSIER_HOME": str(tmp_path)}, ocr={"languages": "eng"},
                             preprocess={"deskew": False})
    result = digitise(raster, settings)
    with only_image(result.ocr.pdf) as image:
        assert image.Filter == pikepdf.Name.CCITTFaxDecode
        decoded = np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("L"))
    assert result.ocr.engine["image"]["kind"] == "bitonal" and result.rotation == result.prepared.rotation
    assert np.array_equal(decoded, result.prepared.image)


REAL = (("ocr_gt/eng_tesseract_test/unlv_8087_054.3B.tif", "eng", "bitonal", 0.02),   # bitonal scan
        ("ocr_gt/eng_misc/linn.png", "eng", "bitonal", 0.02),                         # two-level grey page
        ("ocr_gt/eng_sroie_receipts/sroie_200.jpg", "eng", "grey", 0.06))             # a receipt, kept grey


@pytest.mark.parametrize("relative, languages, kind, bound", REAL, ids=[r[0].rsplit("/", 1)[-1] for r in REAL])
def test_a_real_scan_reads_the_same_from_its_stored_image(samples, tmp_path, relative, languages, kind, bound):
    """Legibility measured: the stored image, decoded and read again at its own resolution, gives the text the
    page as scanned gave (character error rate between the two readings; benchmarks/size.py measures more)."""
    path = samples / relative
    if not path.is_file():
        missing(str(path))
    with Image.open(path) as picture:
        media = Image.MIME[picture.format]
    raster = load_page(path, media, 0, LIMITS, 300)
    settings = load_settings(env={"EDOSSIER_HOME": str(tmp_path)}, ocr={"languages": languages})
    result = digitise(raster, settings)
    assert result.ocr.engine["image"]["kind"] == kind
    options = OcrOptions(languages=languages, recognition_dpi=raster.dpi)
    as_scanned = recognise(result.prepared.image, raster.dpi, options, pdf=False).text
    with only_image(result.ocr.pdf) as image:
        stored = np.asarray(pikepdf.PdfImage(image).as_pil_image().convert("L"))
    again = recognise(stored, raster.dpi, options, pdf=False).text
    assert len(as_scanned) > 500
    assert cer(again, as_scanned) <= bound


def test_pdftotext_still_reads_the_text_over_a_g4_page(text_page, tmp_path):
    if not shutil.which("pdftotext"):
        missing("pdftotext", "scripts/setup.sh --test installs poppler-utils")
    (tmp_path / "page.pdf").write_bytes(recognise(text_page, 300, OcrOptions()).pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "page.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "民事判决书" in "".join(text.split())
