"""One contract for every OCR engine behind ocr.engine.recognise: a rendered Chinese court page is read within a
character error ceiling, in reading order, with boxes inside the page and confidences 0–100; the page's record names
the engine and its version; the searchable PDF page carries the text; a page upside down reads as unreadable, so
the pipeline turns it. An engine that is not installed skips here and fails under CI=true."""
from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pypdfium2 as pdfium
import pytest

from config.errors import MissingDependency
from ocr import rapid
from ocr.accuracy import cer
from ocr.engine import READERS, OcrOptions, recognise
from shared import missing
from synth.documents import civil_case, make_court
from synth.render import page_text, render_page

ENGINES = ["tesseract", "rapidocr", "cascade"]
CER_CEILING = 0.03          # measured on this page: tesseract 0.8 %, rapidocr 0.6 %
RETRY_BELOW = 55            # ocr.retry_below_confidence: under it the pipeline reads the page turned 180°


def _needs(engine: str) -> None:
    if engine in ("rapidocr", "cascade"):
        try:
            rapid.check_installed()
        except MissingDependency as exc:
            missing("the OCR engine rapidocr (rapidocr_onnxruntime with onnxruntime)", str(exc))


@pytest.fixture(scope="module")
def judgment():
    case = civil_case(random.Random(5), make_court(random.Random(5)))
    page = next(d for d in case.documents if d.type_code == "JUDGMENT").pages[0]
    return render_page(page).image, page_text(page)


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.fixture(scope="module", params=ENGINES)
def reading(request, judgment):
    """(engine, what it read of the judgment page), each engine reading the page once for all the tests."""
    _needs(request.param)
    return request.param, recognise(judgment[0], 300, OcrOptions(engine=request.param, recognition_dpi=150))


def test_every_engine_is_registered():
    assert set(ENGINES) <= set(READERS)


def test_the_page_is_read_within_the_error_ceiling(reading, judgment):
    engine, result = reading
    assert cer(result.text, judgment[1]) <= CER_CEILING, result.text[:300]
    assert "民事判决书" in _plain(result.text)


def test_lines_come_in_reading_order_inside_the_page(reading, judgment):
    engine, result = reading
    height, width = judgment[0].shape
    lines = result.layout.lines
    assert len(lines) >= 10
    centres = [line.top + line.height / 2 for line in lines]
    assert centres == sorted(centres)
    for line in lines:
        assert 0 <= line.left and line.left + line.width <= width and 0 <= line.top and line.top + line.height <= height
        assert line.words and all(word.text for word in line.words)
        for word in line.words:
            assert line.left <= word.left and word.left + word.width <= line.left + line.width
    title = next(line for line in lines if _plain(line.text) == "民事判决书")
    assert abs(title.centre_x - width / 2) < 0.1 * width and title.height > 60      # boxes in 300-dpi pixels


def test_confidences_are_percentages(reading):
    engine, result = reading
    words = [word for line in result.layout.lines for word in line.words]
    assert all(0 <= word.conf <= 100 for word in words)
    assert all(0 <= line.conf <= 100 for line in result.layout.lines)
    assert 70 < result.mean_conf <= 100


def test_the_record_names_the_engine_and_its_version(reading):
    engine, result = reading
    record = result.engine
    assert record["engine"] == engine
    versions = re.findall(r"\d+\.\d+\.\d+", record["version"])
    assert len(versions) == (2 if engine == "cascade" else 1), record["version"]
    if engine == "cascade":        # and which engine read the page, with that engine's own record
        assert record["read_by"].split(",")[0] in READERS and record["tesseract"]["version"] in versions
    assert record["dpi"] == 150
    assert record["image"]["dpi"] == 300


def test_the_text_layer_holds_the_text_as_printed(reading, judgment):
    """The searchable page's text is the text read, with no space between Chinese characters nor inside a number:
    a viewer's search finds the title and the case number as printed."""
    engine, result = reading
    layer = pdfium.PdfDocument(result.pdf)[0].get_textpage().get_text_range()
    assert cer(layer, result.text) <= 0.01
    assert "民事判决书" in layer.replace(" ", "")
    year, _, number = re.search(r"（(\d{4})）(\D+)(\d+民初\d+号)", judgment[1]).groups()
    searchable = unicodedata.normalize("NFKC", layer)
    assert f"({year})" in searchable and number in searchable, layer[:300]     # the court's 赣 may be misread


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_upside_down_reads_as_unreadable(engine, judgment):
    _needs(engine)
    turned = np.ascontiguousarray(judgment[0][::-1, ::-1])
    result = recognise(turned, 300, OcrOptions(engine=engine, recognition_dpi=150), pdf=False)
    assert result.mean_conf < RETRY_BELOW


def _cascade(judgment, **thresholds):
    return recognise(judgment[0], 300, OcrOptions(engine="cascade", **thresholds), pdf=False)


def test_the_cascade_keeps_a_confident_tesseract_reading(judgment):
    _needs("cascade")
    kept = _cascade(judgment, cascade_below_confidence=0, cascade_line_below_confidence=0)
    assert kept.engine["read_by"] == "tesseract" and kept.engine["tesseract"]["engine"] == "tesseract"
    assert kept.text == recognise(judgment[0], 300, OcrOptions(), pdf=False).text


def test_the_cascade_reads_a_doubtful_page_again_whole(judgment):
    _needs("cascade")
    again = _cascade(judgment, cascade_below_confidence=100)
    assert again.engine["read_by"] == "rapidocr" and again.engine["rapidocr"]["engine"] == "rapidocr"
    assert again.engine["tesseract_confidence"] < 100
    assert again.text == recognise(judgment[0], 300, OcrOptions(engine="rapidocr"), pdf=False).text


def test_the_cascade_reads_doubtful_lines_again_in_place(judgment):
    """Every line read again on its own: the page keeps tesseract's lines and boxes, with rapidocr's text."""
    _needs("cascade")
    tesseract_only = recognise(judgment[0], 300, OcrOptions(), pdf=False)
    by_line = _cascade(judgment, cascade_below_confidence=0, cascade_line_below_confidence=100)
    assert by_line.engine["read_by"] == "tesseract, rapidocr by line"
    assert by_line.engine["lines_replaced"] >= len(tesseract_only.layout.lines) - 2
    assert cer(by_line.text, judgment[1]) <= CER_CEILING
    assert [line.top for line in by_line.layout.lines] == [line.top for line in tesseract_only.layout.lines]
