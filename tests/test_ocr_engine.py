"""The OCR adapter on a real rendered page: text read at the recognition resolution, boxes in the page's own pixels,
and a searchable PDF page that keeps the full-resolution image under the text."""
from __future__ import annotations

import io
import random

import pikepdf
import pypdfium2 as pdfium

from classify.doctype import find_title
from ocr.engine import OcrOptions, join_words, recognise
from synth.documents import civil_case, make_court
from synth.render import render_page


def _judgment_page():
    case = civil_case(random.Random(5), make_court(random.Random(5)))
    judgment = next(d for d in case.documents if d.type_code == "JUDGMENT")
    return render_page(judgment.pages[0])


def test_page_is_read_and_boxes_are_in_page_pixels():
    page = _judgment_page()
    result = recognise(page.image, 300, OcrOptions(recognition_dpi=150))
    assert find_title(result.layout) == "民事判决书"
    title = next(line for line in result.layout.lines if line.text.replace(" ", "") == "民事判决书")
    assert abs(title.centre_x - page.image.shape[1] / 2) < 0.1 * page.image.shape[1]
    assert title.height > 60                      # a 300-dpi title, not the 150-dpi copy's
    assert result.mean_conf > 70
    assert result.engine["dpi"] == 150


def test_searchable_page_keeps_the_full_image_under_the_text():
    page = _judgment_page()
    result = recognise(page.image, 300, OcrOptions(recognition_dpi=150))
    with pikepdf.open(io.BytesIO(result.pdf)) as pdf:
        images = list(pdf.pages[0].get_images().values())
        assert [(int(i.Width), int(i.Height)) for i in images] == [(2480, 3508)]
        width, height = float(pdf.pages[0].mediabox[2]), float(pdf.pages[0].mediabox[3])
    assert abs(width - 595.2) < 1 and abs(height - 841.9) < 1
    text = pdfium.PdfDocument(result.pdf)[0].get_textpage().get_text_range().replace(" ", "")
    assert "民事判决书" in text


def test_words_join_without_spaces_next_to_chinese():
    assert join_words(["民事", "判决", "书"]) == "民事判决书"
    assert join_words(["2023", "年"]) == "2023年"
    assert join_words(["page", "1"]) == "page 1"


def test_the_text_layer_finds_chinese_phrases_as_printed(tmp_path):
    """pdftotext (as a viewer's search) reads each line as printed, with no spaces between Chinese characters: the
    title, 诉讼请求 and the parties' full names are found as phrases."""
    import shutil
    import subprocess
    assert shutil.which("pdftotext"), "pdftotext missing: scripts/setup.sh installs poppler-utils"
    case = civil_case(random.Random(8), make_court(random.Random(8)))
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    page = render_page(complaint.pages[0])
    result = recognise(page.image, 300, OcrOptions(recognition_dpi=150))
    (tmp_path / "page.pdf").write_bytes(result.pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "page.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    lines = complaint.pages[0].lines
    plaintiff, defendant = (lines[i].text.split("：", 1)[1].split("，")[0] for i in (1, 3))
    for phrase in ("民事起诉状", "诉讼请求", plaintiff, f"判令被告{defendant}"):
        assert phrase in text, (phrase, text[:400])
