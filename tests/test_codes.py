"""Reading codes from page images, and the printable separator sheet read back after printing and scanning."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageSequence
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code39, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from shared import SAMPLES, missing

from classify.codes import Code, find_separator, read_codes
from classify.coversheet import QR_SIZE, coversheet_pdf
from classify.separator import Separator, separator_payload

BARCODES = SAMPLES / "barcodes"
CASE_NO = "（2024）浙0803民初1234号"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
IMAGE_SUFFIXES = {".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"}


# --- helpers ----------------------------------------------------------------------------------------------------------

def sample(*parts: str) -> Path:
    path = BARCODES.joinpath(*parts)
    if not path.exists():
        missing(f"shared sample {path}")
    return path


def render(pdf: bytes | Path, dpi: int) -> list[np.ndarray]:
    """Every page of a PDF as a greyscale array."""
    document = pdfium.PdfDocument(pdf.read_bytes() if isinstance(pdf, Path) else pdf)
    try:
        return [np.asarray(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")) for page in document]
    finally:
        document.close()


@lru_cache(maxsize=None)
def sample_pages(name: str) -> tuple[np.ndarray, ...]:
    """A paperless sample's pages: PDFs rasterised at 200 dpi, TIFF frames as stored."""
    path = BARCODES / "paperless" / name
    if path.suffix == ".pdf":
        return tuple(render(path, 200))
    with Image.open(path) as image:
        return tuple(np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(image))


def scanned(gray: np.ndarray, angle: float = 2.0, quality: int = 60) -> np.ndarray:
    """What a sheet looks like after a slightly skewed trip through a scanner with JPEG output."""
    image = Image.fromarray(gray).rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


def pdf_page(draw) -> bytes:
    """A one-page A4 PDF drawn by ``draw(canvas)``."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    draw(pdf)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def draw_code39(pdf: canvas.Canvas, text: str, x: float, y: float, angle: float = 0) -> None:
    code = code39.Standard39(text, checksum=0, barWidth=0.4 * mm, barHeight=15 * mm, quiet=1)
    pdf.saveState()
    pdf.translate(x, y)
    pdf.rotate(angle)
    code.drawOn(pdf, 0, 0)
    pdf.restoreState()


def draw_qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    widget = qr.QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x, y)


def text_page(pdf: canvas.Canvas) -> None:
    """A dense page of a judgment: heading, case number, 40 lines of Chinese text, page footer."""
    if "TestCJK" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("TestCJK", CJK_FONT, subfontIndex=0))
    chars = "本院认为原告与被告之间的借款合同关系依法成立合法有效被告未按约定履行还款义务应承担相应的违约责任判决如下"
    pdf.setFont("TestCJK", 22)
    pdf.drawCentredString(A4[0] / 2, 790, "浙江省湖州市吴兴区人民法院")
    pdf.setFont("TestCJK", 18)
    pdf.drawCentredString(A4[0] / 2, 760, "民 事 判 决 书")
    pdf.setFont("TestCJK", 12)
    pdf.drawRightString(535, 735, CASE_NO)
    for row in range(40):
        start = (row * 7) % len(chars)
        line = (chars[start:] + chars)[:39]
        pdf.drawString(60, 705 - row * 16, line if row % 5 else "　　" + line[:37])
    pdf.setFont("TestCJK", 9)
    pdf.drawCentredString(A4[0] / 2, 30, "第 1 页 共 3 页")


def separator_pages(name: str) -> dict[int, Separator]:
    found = {index: find_separator(read_codes(page)) for index, page in enumerate(sample_pages(name))}
    return {index: separator for index, separator in found.items() if separator is not None}


# --- the separator sheet ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def complaint_sheet() -> bytes:
    return coversheet_pdf(CASE_NO, "COMPLAINT", "起诉状", "ZJ")


@pytest.mark.parametrize("dpi", [300, 150])
@pytest.mark.parametrize("as_scanned", [False, True], ids=["rendered", "skewed-2deg-jpeg60"])
def test_separator_sheet_reads_back(complaint_sheet: bytes, dpi: int, as_scanned: bool) -> None:
    page = render(complaint_sheet, dpi)[0]
    if as_scanned:
        page = scanned(page)
    separator = find_separator(read_codes(page))
    assert separator == Separator(CASE_NO, "COMPLAINT", "ZJ")
    assert not separator.is_patch_t


def test_separator_sheet_has_one_large_qr_code(complaint_sheet: bytes) -> None:
    codes = read_codes(render(complaint_sheet, 300)[0])
    assert [(c.symbology, c.text) for c in codes] == [("QRCode", separator_payload(CASE_NO, "COMPLAINT", "ZJ"))]
    qr_px = QR_SIZE / 72 * 300
    assert QR_SIZE >= 5 * cm
    assert abs(codes[0].width - qr_px) < 0.03 * qr_px and abs(codes[0].height - qr_px) < 0.03 * qr_px


def test_boxes_are_in_input_pixels_whatever_the_resolution(complaint_sheet: bytes) -> None:
    big = read_codes(render(complaint_sheet, 300)[0])[0]
    small = read_codes(render(complaint_sheet, 150)[0])[0]
    for at_300, at_150 in [(big.left, small.left), (big.top, small.top), (big.width, small.width)]:
        assert abs(at_300 - 2 * at_150) <= 8


def test_full_resolution_pass_does_not_duplicate_codes(complaint_sheet: bytes) -> None:
    page = render(complaint_sheet, 300)[0]
    fast = read_codes(page, full_resolution=False)
    both = read_codes(page, full_resolution=True)  # the QR code is found by both passes, reported once
    assert len(fast) == len(both) == 1 and fast[0].text == both[0].text
    assert abs(fast[0].left - both[0].left) <= 4 and abs(fast[0].width - both[0].width) <= 4


def test_separator_sheet_text_for_people(complaint_sheet: bytes) -> None:
    document = pdfium.PdfDocument(complaint_sheet)
    text = document[0].get_textpage().get_text_bounded()
    assert len(document) == 1
    assert tuple(round(v) for v in document[0].get_size()) == (595, 842)
    for expected in ["分隔页 / SEPARATOR SHEET", CASE_NO, "COMPLAINT", "起诉状", "正卷 ZJ", "请勿装订 — 扫描后自动剔除"]:
        assert expected in text


def test_separator_sheet_embeds_its_chinese_font(complaint_sheet: bytes) -> None:
    with pikepdf.open(io.BytesIO(complaint_sheet)) as pdf:
        fonts = list(pdf.pages[0].Resources.Font.values())
        assert fonts
        for font in fonts:
            descriptor = font.get("/FontDescriptor") or font.DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in descriptor, str(font.BaseFont)
            assert "WenQuanYi" in str(font.BaseFont)


def test_secondary_volume_sheet() -> None:
    sheet = coversheet_pdf(CASE_NO, "EVIDENCE", "证据材料", "FJ")
    assert "副卷 FJ" in pdfium.PdfDocument(sheet)[0].get_textpage().get_text_bounded()
    assert find_separator(read_codes(scanned(render(sheet, 150)[0]))) == Separator(CASE_NO, "EVIDENCE", "FJ")


def test_separator_sheet_rejects_an_unknown_volume() -> None:
    with pytest.raises(ValueError):
        coversheet_pdf(CASE_NO, "COMPLAINT", "起诉状", "XX")


# --- pages without codes, generated pages with codes ------------------------------------------------------------------

def test_text_page_has_no_codes() -> None:
    page = render(pdf_page(text_page), 300)[0]
    assert page.shape == (3508, 2481)
    assert read_codes(page) == ()
    assert read_codes(scanned(page, angle=1.0, quality=70)) == ()


def test_blank_and_tiny_images_have_no_codes() -> None:
    assert read_codes(np.full((3508, 2480), 255, np.uint8)) == ()
    assert read_codes(np.zeros((4, 4), np.uint8)) == ()


def test_our_qr_code_wins_over_patch_t_on_the_same_page() -> None:
    payload = separator_payload(CASE_NO, "JUDGMENT", "ZJ")

    def draw(pdf: canvas.Canvas) -> None:
        draw_code39(pdf, "PATCHT", 2 * cm, 24 * cm)
        draw_qr(pdf, payload, 11 * cm, 5 * cm, 6 * cm)

    codes = read_codes(scanned(render(pdf_page(draw), 300)[0]))
    assert sorted((c.symbology, c.text) for c in codes) == [("Code39", "PATCHT"), ("QRCode", payload)]
    assert codes[0].text == "PATCHT"  # reading order: the Patch-T is printed above the QR code
    assert find_separator(codes) == Separator(CASE_NO, "JUDGMENT", "ZJ")


def test_patch_t_turned_sideways_on_the_page() -> None:
    page = render(pdf_page(lambda pdf: draw_code39(pdf, "PATCHT", 15 * cm, 8 * cm, angle=90)), 300)[0]
    codes = read_codes(page)
    assert [c.text for c in codes] == ["PATCHT"]
    assert codes[0].height > codes[0].width  # the box follows the code on the page
    assert find_separator(codes) == Separator(None, None)


def test_find_separator_choices() -> None:
    patch = Code("Code39", "PATCHT", 10, 10, 300, 80)
    ours = Code("QRCode", separator_payload(CASE_NO, "COMPLAINT", "FJ"), 10, 500, 400, 400)
    other = Code("Code128", "CUSTOM BARCODE", 10, 1000, 300, 80)
    assert find_separator([patch, ours, other]) == Separator(CASE_NO, "COMPLAINT", "FJ")
    assert find_separator([other, patch]) == Separator(None, None)
    assert find_separator([other]) is None
    assert find_separator([]) is None


# --- paperless-ngx samples --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "pages"), [
    ("patch-code-t.pdf", {0}),
    ("patch-code-t-middle.pdf", {1}),
    ("patch-code-t-middle-reverse.pdf", {1}),
    ("patch-code-t-middle-distorted.pdf", {1}),
    ("patch-code-t-middle-fuzzy.pdf", {1}),
    ("patch-code-t-double.pdf", {1, 2}),
    ("several-patcht-codes.pdf", {2, 5}),
    ("patch-code-t-qr.pdf", {0}),
    ("barcode-fax-image.pdf", {1}),
    ("patch-code-t-middle-unreadable.pdf", set()),
    ("patch-code-t-middle.tiff", {1}),
    ("patch-code-t-middle-alpha.tiff", {1}),
])
def test_patch_t_separators_in_paperless_samples(name: str, pages: set[int]) -> None:
    sample("paperless", name)
    found = separator_pages(name)
    assert set(found) == pages
    assert all(separator.is_patch_t for separator in found.values())


def test_patch_t_tiff_has_three_pages() -> None:
    sample("paperless", "patch-code-t-middle.tiff")
    assert len(sample_pages("patch-code-t-middle.tiff")) == 3


@pytest.mark.parametrize(("name", "symbology", "text"), [
    ("barcode-39-custom.pdf", "Code39", "CUSTOM BARCODE"),
    ("barcode-128-custom.pdf", "Code128", "CUSTOM BARCODE"),
    ("barcode-qr-custom.pdf", "QRCode", "CUSTOM BARCODE"),
    ("barcode-39-asn-123.pdf", "Code39", "ASN00123"),
    ("barcode-qr-asn-000123-upscale-dpi.pdf", "QRCode", "ASN 000123"),
])
def test_other_codes_are_read_but_are_no_separators(name: str, symbology: str, text: str) -> None:
    sample("paperless", name)
    codes = read_codes(sample_pages(name)[0])
    assert [(c.symbology, c.text) for c in codes] == [(symbology, text)]
    assert find_separator(codes) is None


def test_many_qr_codes_page() -> None:
    sample("paperless", "many-qr-codes.pdf")
    pages = sample_pages("many-qr-codes.pdf")
    codes = read_codes(pages[1])
    assert {c.text for c in codes} == {"ADAR-NEXTDOC"}
    assert sum(c.symbology == "QRCode" for c in codes) == 5
    assert sum(c.symbology == "Code128" for c in codes) == 2
    assert find_separator(codes) is None
    assert read_codes(pages[0]) == () and read_codes(pages[2]) == ()


# --- zxing-cpp's own test images --------------------------------------------------------------------------------------

BLENDED_QR = "QR code blended with a photograph (low module contrast); zxing-cpp alone cannot read it either"
KNOWN_MISSES = {"qrcode-2/12.webp": BLENDED_QR, "qrcode-2/13.webp": BLENDED_QR}


def zxing_images(with_text: bool) -> list:
    root = BARCODES / "zxing"
    if not root.is_dir():
        return [pytest.param(None, id="samples-missing")]
    params = []
    for image in sorted(root.glob("*/*")):
        key = f"{image.parent.name}/{image.name}"
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if with_text != image.with_suffix(".txt").exists() or image.parent.name.startswith("multi"):
            continue
        marks = [pytest.mark.xfail(reason=KNOWN_MISSES[key], strict=False)] if key in KNOWN_MISSES else []
        params.append(pytest.param(image, id=key, marks=marks))
    return params


def load_gray(image: Path | None) -> np.ndarray:
    if image is None:
        sample("zxing")
    with Image.open(image) as picture:
        return np.asarray(picture.convert("L"))


@pytest.mark.parametrize("image", zxing_images(with_text=True))
def test_zxing_sample_decodes_to_its_text(image: Path | None) -> None:
    gray = load_gray(image)
    expected = image.with_suffix(".txt").read_bytes().decode("utf-8").replace("\r\n", "\n")
    assert expected in [code.text for code in read_codes(gray)]


@pytest.mark.parametrize("image", [p for p in zxing_images(with_text=False)
                                   if p.values[0] is None or p.values[0].parent.name.startswith("falsepositives")])
def test_zxing_false_positive_images_decode_nothing(image: Path | None) -> None:
    assert read_codes(load_gray(image)) == ()


def test_zxing_clean_code128_samples_are_all_read() -> None:
    folders = [BARCODES / "zxing" / "code128-1", BARCODES / "zxing" / "code128-2"]
    if not all(folder.is_dir() for folder in folders):
        missing(f"zxing Code 128 samples under {BARCODES / 'zxing'}")
    images = [p for folder in folders for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    assert len(images) >= 15
    for image in images:
        expected = image.with_suffix(".txt").read_bytes().decode("utf-8").replace("\r\n", "\n")
        codes = read_codes(load_gray(image))
        assert [(c.symbology, c.text) for c in codes] == [("Code128", expected)], image.name


def test_zxing_multi_symbol_images() -> None:
    folder = sample("zxing", "multi-1")
    for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        assert len(read_codes(load_gray(image))) >= 2, image.name
