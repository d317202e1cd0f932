"""Volume assembly: a bound volume built from real OCR'd page PDFs, checked through what readers of the PDF see."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import pikepdf
import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from dossier.assemble import AssemblyError, assemble_volume, place_documents
from dossier.model import DocumentEntry, VolumeSpec
from dossier.sheets import cover_pdf, number_overlay

REPO = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
CASE_NO = "（2021）浙0803民初1234号"
CM = 72 / 2.54
PAGE_TEXTS = (   # doc 1 (2 pages), doc 2 (3 pages), doc 3 (1 page, unnumbered)
    ("民事起诉状", "原告张三与被告李四", "借款合同纠纷一案"),
    ("事实与理由", "被告向原告借款五万元", "至今未还"),
    ("授权委托书", "委托人王五", "受托人赵六律师"),
    ("代理权限", "特别授权", "代为调解和解"),
    ("委托人签名", "此致人民法院", "二零二一年三月"),
    ("证物袋", "内装借条原件一份", "共计一张"),
)
TITLES = ("民事起诉状", "授权委托书", "证物袋")


def squash(text: str) -> str:
    return "".join(text.split())


def render_page_image(lines: tuple[str, ...], path: Path) -> None:
    """A 1000×1400 px page at 150 dpi; text kept clear of the top-right corner where the number goes."""
    image = Image.new("L", (1000, 1400), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 48)
    for row, line in enumerate(lines):
        draw.text((120, 300 + 110 * row), line, font=font, fill=0)
    image.save(path, dpi=(150, 150))


@pytest.fixture(scope="module")
def ocr_pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six one-page searchable PDFs made by tesseract (image + invisible text layer)."""
    assert shutil.which("tesseract"), "tesseract missing: scripts/setup.sh installs it"
    folder = tmp_path_factory.mktemp("pages")
    jobs = []
    for i, lines in enumerate(PAGE_TEXTS):
        render_page_image(lines, folder / f"page{i}.png")
        jobs.append(subprocess.Popen(["tesseract", str(folder / f"page{i}.png"), str(folder / f"page{i}"),
                                      "-l", "chi_sim", "--dpi", "150", "pdf"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for job in jobs:
        assert job.wait() == 0, job.stderr.read().decode()
    return [folder / f"page{i}.pdf" for i in range(len(PAGE_TEXTS))]


def three_documents(pages: list[Path]) -> tuple[DocumentEntry, ...]:
    return (
        DocumentEntry(TITLES[0], "COMPLAINT", "民事起诉状", tuple(pages[0:2])),
        DocumentEntry(TITLES[1], "POA", "授权委托书", tuple(pages[2:5]), review=True),
        DocumentEntry(TITLES[2], "EVIDENCE", "证据材料", tuple(pages[5:6]), numbered=False),
    )


def make_spec(documents: tuple[DocumentEntry, ...], **changes) -> VolumeSpec:
    values = dict(case_no=CASE_NO, volume="ZJ", court="浙江省温州市鹿城区人民法院", cause="民间借贷纠纷",
                  case_family_label="民事一审", documents=documents, produced_on=date(2024, 5, 6))
    values.update(changes)
    return VolumeSpec(**values)


@pytest.fixture(scope="module")
def volume(ocr_pages: list[Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("volume") / "volume.pdf"
    return assemble_volume(make_spec(three_documents(ocr_pages)), out)


def page_text(pdf_path: Path, index: int) -> str:
    """All extractable text of one page (pdfium: fast on tesseract's glyphless font, unlike pypdf)."""
    document = pdfium.PdfDocument(str(pdf_path))
    text = document[index].get_textpage().get_text_range()
    document.close()
    return text


def corner_text(pdf_path: Path, index: int) -> str:
    """Text inside the 3 cm square at the page's top-right corner (where the archival number belongs)."""
    document = pdfium.PdfDocument(str(pdf_path))
    page = document[index]
    width, height = page.get_size()
    text = page.get_textpage().get_text_bounded(left=width - 3 * CM, bottom=height - 3 * CM, right=width, top=height)
    document.close()
    return text.strip()


# ---------------------------------------------------------------- the assembled volume

def test_volume_has_cover_contents_six_pages_remarks_and_back_cover(volume) -> None:
    reader = pypdf.PdfReader(volume.path)
    assert len(reader.pages) == volume.pages == 1 + 1 + 6 + 1 + 1
    assert volume.numbered_pages == 5
    assert "卷内目录" in reader.pages[1].extract_text()
    assert "备考表" in reader.pages[8].extract_text()
    assert squash(reader.pages[9].extract_text()).startswith("卷底")


def test_placements_give_archival_numbers_and_pdf_indexes(volume) -> None:
    got = [(p.index, p.title, p.first_page, p.last_page, p.pdf_first_index, p.pdf_last_index, p.page_range)
           for p in volume.documents]
    assert got == [(1, "民事起诉状", 1, 2, 2, 3, "1-2"),
                   (2, "授权委托书", 3, 5, 4, 6, "3-5"),
                   (3, "证物袋", None, None, 7, 7, "")]


def test_bookmarks_point_at_cover_contents_each_document_and_remarks(volume) -> None:
    reader = pypdf.PdfReader(volume.path)
    got = [(item.title, reader.get_destination_page_number(item)) for item in reader.outline]
    assert got == [("封面", 0), ("卷内目录", 1), ("1 民事起诉状", 2), ("2 授权委托书", 4), ("3 证物袋", 7),
                   ("备考表", 8)]


def test_contents_lists_each_title_with_its_page_range(volume) -> None:
    text = squash(pypdf.PdfReader(volume.path).pages[1].extract_text())
    assert "序号文件名称页号备注" in text
    assert "1民事起诉状1-2" in text
    assert "2授权委托书3-5待核" in text
    assert "3证物袋不编页号（1页）" in text
    assert "第1页共1页" in text


def test_cover_shows_court_case_number_and_particulars(volume) -> None:
    text = squash(pypdf.PdfReader(volume.path).pages[0].extract_text())
    for expected in ("浙江省温州市鹿城区人民法院", "诉讼档案", CASE_NO, "民间借贷纠纷", "正卷", "共5页", "永久",
                     "2024年5月6日"):
        assert expected in text


def test_remarks_sheet_counts_documents_and_pages(volume) -> None:
    text = squash(pypdf.PdfReader(volume.path).pages[8].extract_text())
    assert "本卷共3件5页" in text
    assert "其中不编页号材料1件1页" in text
    for blank in ("立卷人", "检查人", "立卷时间"):
        assert blank in text


def test_remarks_sheet_says_which_scanned_pages_were_left_out_and_why(ocr_pages: list[Path], tmp_path: Path) -> None:
    left_out = (("空白页（扫描件背面等无内容页）", 3), ("分隔页（扫描用，不属卷宗材料）", 1))
    result = assemble_volume(make_spec(three_documents(ocr_pages), left_out=left_out), tmp_path / "ZJ.pdf")
    text = squash(pypdf.PdfReader(result.path).pages[8].extract_text())
    assert "另有4页未装订入卷" in text
    assert "空白页（扫描件背面等无内容页）3页" in text and "分隔页（扫描用，不属卷宗材料）1页" in text


def test_numbered_pages_carry_their_number_top_right_and_others_none(volume) -> None:
    corners = [corner_text(volume.path, i) for i in range(volume.pages)]
    assert corners == ["", "", "1", "2", "3", "4", "5", "", "", ""]


def test_document_pages_keep_their_ocr_text_and_size(volume, ocr_pages: list[Path]) -> None:
    reader = pypdf.PdfReader(volume.path)
    for offset, source in enumerate(ocr_pages):
        source_text = squash(page_text(source, 0))
        assert source_text, f"tesseract produced no text for {source}"
        assert source_text in squash(page_text(volume.path, 2 + offset))
        assert list(reader.pages[2 + offset].mediabox) == list(pypdf.PdfReader(source).pages[0].mediabox)
    whole = squash("".join(page_text(volume.path, i) for i in range(volume.pages)))
    assert "授权委托书" in whole and "借款五万元" in whole


def content_streams(page: pikepdf.Page) -> list[bytes]:
    contents = page.obj.Contents
    return [stream.read_raw_bytes() for stream in (contents if isinstance(contents, pikepdf.Array) else [contents])]


def test_captured_page_streams_are_copied_byte_for_byte(volume, ocr_pages: list[Path]) -> None:
    with pikepdf.open(volume.path) as out:
        for offset, source in enumerate(ocr_pages):
            with pikepdf.open(source) as src:
                page, original = out.pages[2 + offset], src.pages[0]
                for stream in content_streams(original):
                    assert stream in content_streams(page)
                for name, image in original.Resources.XObject.items():
                    assert page.Resources.XObject[name].read_raw_bytes() == image.read_raw_bytes()


def kept_page_pdfs(folder: Path) -> list[Path]:
    """Page PDFs as the OCR stage makes them: a two-level page (CCITT G4), a grey one (JPEG), a colour one."""
    from ocr import pageimage, pdfpage, tesseract
    from ocr.types import PageLayout
    page = Image.new("L", (1000, 1400), 255)
    ImageDraw.Draw(page).text((120, 300), "民事起诉状", font=ImageFont.truetype(FONT, 48), fill=0)
    grey = np.asarray(page).copy()
    grey[700:1000, 300:700] = 160                                          # a grey stamp
    colour = np.repeat(grey[:, :, None], 3, axis=2)
    colour[700:1000, 300:700] = (200, 30, 40)
    options = pageimage.ImageOptions()
    kept = [pageimage.kept_image(np.asarray(page), 150, options), pageimage.kept_image(grey, 150, options),
            pageimage.kept_image(grey, 150, options, colour=colour)]
    assert [k.kind for k in kept] == ["bitonal", "grey", "colour"]
    paths = [folder / f"kept{i}.pdf" for i in range(len(kept))]
    for path, image in zip(paths, kept):
        path.write_bytes(pdfpage.searchable_page(image, 150, PageLayout(1000, 1400, ()), tesseract.glyphless_font()))
    return paths


def test_two_level_grey_and_colour_page_images_are_bound_byte_for_byte(tmp_path: Path) -> None:
    pages = kept_page_pdfs(tmp_path)
    spec = make_spec((DocumentEntry("民事起诉状", "COMPLAINT", "民事起诉状", tuple(pages)),))
    result = assemble_volume(spec, tmp_path / "ZJ.pdf")
    with pikepdf.open(result.path) as out:
        for offset, source in enumerate(pages):
            with pikepdf.open(source) as src:
                [(name, image)] = src.pages[0].Resources.XObject.items()
                bound = out.pages[2 + offset].Resources.XObject[name]
                assert bound.read_raw_bytes() == image.read_raw_bytes()
                assert str(bound.Filter) == str(image.Filter)
                assert _parms(bound) == _parms(image)
    filters = [str(out_filter) for out_filter in _image_filters(result.path)]
    assert filters == ["/CCITTFaxDecode", "/DCTDecode", "/DCTDecode"]


def _parms(image: pikepdf.Stream) -> dict:
    return {str(k): int(v) for k, v in image.get("/DecodeParms", pikepdf.Dictionary()).items()}


def _image_filters(path: Path) -> list:
    with pikepdf.open(path) as pdf:
        return [image.Filter for page in pdf.pages for image in page.get_images().values()
                if int(image.Width) >= 600]


def test_same_input_gives_the_same_bytes(ocr_pages: list[Path], tmp_path: Path) -> None:
    first = assemble_volume(make_spec(three_documents(ocr_pages)), tmp_path / "a.pdf")
    second = assemble_volume(make_spec(three_documents(ocr_pages)), tmp_path / "b.pdf")
    assert first.path.read_bytes() == second.path.read_bytes()


def test_metadata_and_page_labels(volume) -> None:
    reader = pypdf.PdfReader(volume.path)
    assert reader.metadata.title == f"{CASE_NO} 正卷"
    assert reader.metadata.creator == "edossier"
    assert "民间借贷纠纷" in reader.metadata.subject
    assert reader.page_labels == ["封面", "目录1", "1", "2", "3", "4", "5", "不编页", "备考表", "卷底"]


def test_no_temporary_file_is_left_next_to_the_volume(volume) -> None:
    assert [p.name for p in volume.path.parent.iterdir()] == ["volume.pdf"]


# ---------------------------------------------------------------- longer volumes, odd pages, bad input

def test_long_contents_run_over_two_pages_and_shift_the_documents(ocr_pages: list[Path], tmp_path: Path) -> None:
    documents = tuple(DocumentEntry(f"证据材料第{i + 1}组", "EVIDENCE", "证据材料", (ocr_pages[1],) * (1 + i % 2))
                      for i in range(40))
    result = assemble_volume(make_spec(documents), tmp_path / "long.pdf")
    reader = pypdf.PdfReader(result.path)
    contents = [squash(reader.pages[i].extract_text()) for i in (1, 2)]
    assert "第1页共2页" in contents[0] and "第2页共2页" in contents[1]
    assert "40证据材料第40组59-60" in contents[1]
    assert result.documents[0].pdf_first_index == 3
    assert result.pages == 1 + 2 + 60 + 2
    outline = {item.title: reader.get_destination_page_number(item) for item in reader.outline}
    assert outline["40 证据材料第40组"] == result.documents[-1].pdf_first_index == 61
    assert [corner_text(result.path, i) for i in (2, 3, 61, 62, 63)] == ["", "1", "59", "60", ""]


def blank_page_pdf(path: Path, size: tuple[float, float], rotate: int = 0) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=size)
    if rotate:
        pdf.pages[0].rotate(rotate)
    pdf.save(path)
    return path


def ink_box(pdf_path: Path, index: int) -> tuple[float, float, float, float, float, float]:
    """(left, top, right, bottom, width, height) of the dark pixels of a page as displayed, in points."""
    page = pdfium.PdfDocument(str(pdf_path))[index]
    pixels = np.asarray(page.render(scale=1).to_pil().convert("L"))
    ys, xs = np.nonzero(pixels < 128)
    height, width = pixels.shape
    return xs.min(), ys.min(), xs.max(), ys.max(), width, height


@pytest.mark.parametrize("size, rotate", [((842, 595), 0), ((1191, 842), 90), ((420, 595), 270)])
def test_stamp_sits_top_right_of_the_page_as_seen_and_nothing_is_scaled(
        tmp_path: Path, size: tuple[float, float], rotate: int) -> None:
    page = blank_page_pdf(tmp_path / "odd.pdf", size, rotate)
    spec = make_spec((DocumentEntry("图纸", "EVIDENCE", "证据材料", (page,)),))
    result = assemble_volume(spec, tmp_path / "odd-volume.pdf")
    with pikepdf.open(result.path) as pdf:
        assert list(pdf.pages[2].mediabox) == [0, 0, *size]
    left, top, right, bottom, width, height = ink_box(result.path, 2)
    assert 1 * CM - 2 <= width - right <= 1 * CM + 6               # ~1 cm from the right edge ("1" has a wide bearing)
    assert 1 * CM - 2 <= top <= 1 * CM + 4                         # ~1 cm below the top edge
    assert right - left < 12 and bottom - top < 12                 # small: one digit of ~11 pt


def test_missing_page_file_is_reported_and_nothing_is_written(ocr_pages: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "gone.pdf"
    spec = make_spec((DocumentEntry("答辩状", "DEFENSE", "民事答辩状", (ocr_pages[0], missing)),))
    with pytest.raises(AssemblyError, match="gone.pdf"):
        assemble_volume(spec, tmp_path / "v.pdf")
    assert not (tmp_path / "v.pdf").exists()


def test_multi_page_page_file_is_refused(ocr_pages: list[Path], tmp_path: Path) -> None:
    two = tmp_path / "two.pdf"
    with pikepdf.open(ocr_pages[0]) as one:
        one.pages.append(one.pages[0])
        one.save(two)
    spec = make_spec((DocumentEntry("答辩状", "DEFENSE", "民事答辩状", (two,)),))
    with pytest.raises(AssemblyError, match="exactly one page"):
        assemble_volume(spec, tmp_path / "v.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.pdf"]


def test_page_file_that_is_no_pdf_is_reported(ocr_pages: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"\xff\xd8 not a pdf at all")
    spec = make_spec((DocumentEntry("答辩状", "DEFENSE", "民事答辩状", (ocr_pages[0], bad)),))
    with pytest.raises(AssemblyError, match="scan.pdf"):
        assemble_volume(spec, tmp_path / "v.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.pdf"]


def test_existing_volume_is_replaced(ocr_pages: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "v.pdf"
    out.write_bytes(b"old")
    assemble_volume(make_spec(three_documents(ocr_pages)), out)
    assert out.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in tmp_path.iterdir()] == ["v.pdf"]


# ---------------------------------------------------------------- pure parts

def test_place_documents_skips_unnumbered_documents_in_the_count(tmp_path: Path) -> None:
    page = tmp_path / "p.pdf"
    docs = (DocumentEntry("a", "A", "a", (page,) * 2), DocumentEntry("b", "B", "b", (page,), numbered=False),
            DocumentEntry("c", "C", "c", (page,) * 3))
    placements = place_documents(docs, first_pdf_index=2)
    assert [(p.first_page, p.last_page, p.pdf_first_index, p.pdf_last_index) for p in placements] == [
        (1, 2, 2, 3), (None, None, 4, 4), (3, 5, 5, 7)]
    assert [p.page_range for p in placements] == ["1-2", "", "3-5"]


def test_single_page_document_shows_one_number() -> None:
    placement = place_documents((DocumentEntry("a", "A", "a", (Path("p.pdf"),)),), first_pdf_index=0)[0]
    assert placement.page_range == "1"


def test_number_overlay_is_one_page_of_the_asked_size_with_the_number() -> None:
    reader = pypdf.PdfReader(io.BytesIO(number_overlay(123, 500, 700)))
    assert len(reader.pages) == 1 and list(reader.pages[0].mediabox) == [0, 0, 500, 700]
    assert reader.pages[0].extract_text().strip() == "123"
    with pytest.raises(ValueError):
        number_overlay(0, 500, 700)
    with pytest.raises(ValueError):
        number_overlay(1, 500, 700, position="bottom")  # type: ignore[arg-type]


def test_spec_refuses_unknown_volume_and_empty_documents() -> None:
    with pytest.raises(ValueError, match="volume"):
        make_spec(three_documents([Path("p.pdf")] * 6), volume="XJ")
    with pytest.raises(ValueError, match="no pages"):
        DocumentEntry("a", "A", "a", ())


def test_cover_fits_a_long_court_name_and_cause(tmp_path: Path) -> None:
    spec = make_spec(three_documents([Path("p.pdf")] * 6), court="新疆维吾尔自治区高级人民法院生产建设兵团分院",
                     cause="侵害计算机软件著作权许可使用合同纠纷及不正当竞争纠纷", volume="FJ")
    text = squash(pypdf.PdfReader(io.BytesIO(cover_pdf(spec))).pages[0].extract_text())
    assert "新疆维吾尔自治区高级人民法院生产建设兵团分院" in text and "副卷" in text and "共5页" in text


# ---------------------------------------------------------------- memory

def synthetic_page_pdfs(folder: Path, count: int) -> list[Path]:
    """count one-page PDFs, each embedding its own copy of the same ~0.45 MB JPEG, plus invisible text."""
    noise = np.random.default_rng(7).integers(0, 256, (800, 600, 3), dtype=np.uint8)
    jpeg = io.BytesIO()
    Image.fromarray(noise).save(jpeg, "JPEG", quality=85)
    template = io.BytesIO()
    canvas = Canvas(template, pagesize=(595, 842))
    jpeg.seek(0)
    canvas.drawImage(ImageReader(jpeg), 0, 0, 595, 842)
    text = canvas.beginText(60, 700)
    text.setTextRenderMode(3)
    text.textLine("synthetic page")
    canvas.drawText(text)
    canvas.save()
    paths = [folder / f"p{i:04d}.pdf" for i in range(count)]
    for path in paths:
        path.write_bytes(template.getvalue())
    return paths


def test_500_page_volume_assembles_in_bounded_memory(tmp_path: Path) -> None:
    pages = synthetic_page_pdfs(tmp_path, 500)
    image_bytes = sum(p.stat().st_size for p in pages)
    script = textwrap.dedent(f"""
        from datetime import date
        from pathlib import Path
        from dossier.assemble import assemble_volume
        from dossier.model import DocumentEntry, VolumeSpec
        pages = sorted(Path({str(tmp_path)!r}).glob("p*.pdf"))
        docs = tuple(DocumentEntry(f"证据{{i // 5 + 1}}", "EVIDENCE", "证据材料", tuple(pages[i:i + 5]))
                     for i in range(0, len(pages), 5))
        spec = VolumeSpec({CASE_NO!r}, "ZJ", "浙江省温州市鹿城区人民法院", "民间借贷纠纷", "民事一审", docs,
                          date(2024, 5, 6))
        result = assemble_volume(spec, Path({str(tmp_path / "big.pdf")!r}))
        contents_pages = result.documents[0].pdf_first_index - 1
        peak_kb = int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0])
        print(result.pages - contents_pages, peak_kb // 1024)
    """)
    # VmHWM, not ru_maxrss: after fork+exec, ru_maxrss still reports the (large) pytest parent's peak
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    pages_out, peak_mb = map(int, run.stdout.split())
    assert pages_out == 1 + 500 + 2
    assert image_bytes > 200 * 2**20
    assert peak_mb < 200, f"peak RSS {peak_mb} MB while assembling {image_bytes // 2**20} MB of pages"
    for path in tmp_path.iterdir():     # ~450 MB of files: not worth keeping among pytest's last three runs
        path.unlink()
