"""Page preprocessing on synthetic pages with known skew, borders and backsides, and on real scans of other projects."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageSequence
from shared import SAMPLES, missing

from ocr import preprocess

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
A4 = (2480, 3508)                     # 300 dpi
PAPER, INK = 245, 20

CHINESE = ("原告张某与被告李某民间借贷纠纷一案，本院于二〇二三年三月十日立案后，"
           "依法适用简易程序，公开开庭进行了审理。原告及其委托诉讼代理人到庭参加诉讼，"
           "被告经传票传唤无正当理由拒不到庭。本案现已审理终结。原告向本院提出诉讼请求："
           "判令被告偿还借款本金及利息，本案诉讼费用由被告负担。")
ENGLISH = ("The court finds that the plaintiff filed the claim within the time limit and that the defendant, "
           "duly summoned, did not appear. The loan agreement of 10 March 2023 is valid and the defendant shall "
           "repay the principal with interest within ten days after this judgment takes effect. ")


# --- synthetic pages -----------------------------------------------------------------------------------------

def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    assert path.exists(), f"font {path} missing: scripts/setup.sh installs fonts-wqy-microhei"
    return ImageFont.truetype(str(path), size)


def _text_page(text: str, font: Path, *, lines: int = 36, size: int = 44, chars: int = 45) -> Image.Image:
    """An A4 page at 300 dpi: ``lines`` lines of ``chars`` characters taken in turn from ``text``."""
    page = Image.new("L", A4, PAPER)
    draw, face = ImageDraw.Draw(page), _font(font, size)
    for i in range(lines):
        start = i * chars % len(text)
        draw.text((250, 300 + i * int(size * 1.8)), (text * 2)[start:start + chars], font=face, fill=INK)
    return page


def _rotated(page: Image.Image, degrees_ccw: float) -> np.ndarray:
    return np.asarray(page.rotate(degrees_ccw, resample=Image.BILINEAR, fillcolor=PAPER))


@pytest.fixture(scope="module")
def scans() -> Path:
    if not (SAMPLES / "scans").is_dir():
        missing(str(SAMPLES / "scans"))
    return SAMPLES / "scans"


@pytest.fixture(scope="module")
def chinese_page() -> Image.Image:
    return _text_page(CHINESE, CJK_FONT)


@pytest.fixture(scope="module")
def english_page() -> Image.Image:
    return _text_page(ENGLISH, LATIN_FONT, size=40, chars=70)


@pytest.fixture(scope="module")
def backside(chinese_page) -> np.ndarray:
    """A duplex backside: off-white paper, sensor noise, dust specks, punch holes, the front showing through."""
    rng = np.random.default_rng(7)
    front = np.asarray(chinese_page, dtype=np.float32)
    through = cv2.GaussianBlur(front[:, ::-1], (0, 0), 2.0)           # mirrored and blurred by the paper
    page = 236.0 - (PAPER - through) / (PAPER - INK) * 25.0 + rng.normal(0.0, 5.0, front.shape)
    image = np.clip(page, 0, 255).astype(np.uint8)
    for _ in range(80):
        centre = (int(rng.integers(0, A4[0])), int(rng.integers(0, A4[1])))
        cv2.circle(image, centre, int(rng.integers(1, 5)), int(rng.integers(30, 120)), -1)
    for y in (1274, 2234):                                              # ISO 838: 80 mm apart, 12 mm in
        cv2.circle(image, (142, y), 35, 40, -1)
    return image


def _write(image: np.ndarray, text: str, at: tuple[int, int], size: int = 44) -> np.ndarray:
    page = Image.fromarray(image)
    ImageDraw.Draw(page).text(at, text, font=_font(CJK_FONT, size), fill=INK)
    return np.asarray(page)


def _ink_box(gray: np.ndarray) -> tuple[int, int, int, int]:
    left, top, width, height = cv2.boundingRect(cv2.compare(gray, 128, cv2.CMP_LT))
    return left, top, left + width, top + height


# --- conversions and exact rotations -------------------------------------------------------------------------

def test_to_gray_handles_rgb_rgba_and_bilevel_arrays():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 255)
    rgba = np.dstack([rgb, np.array([[255, 0], [255, 128]], np.uint8)])
    bilevel = np.array([[True, False]])

    assert preprocess.to_gray(rgb).tolist() == [[255, 0], [0, 0]]
    assert preprocess.to_gray(rgba).tolist() == [[255, 255], [0, 127]]       # transparent = white paper
    assert preprocess.to_gray(bilevel).tolist() == [[255, 0]]
    assert preprocess.to_gray(np.full((3, 4), 9, np.uint8)).shape == (3, 4)


def test_rotate_is_lossless_and_takes_quarter_turns_only():
    page = np.arange(12, dtype=np.uint8).reshape(3, 4)

    assert preprocess.rotate(page, 90).tolist() == np.rot90(page, -1).tolist()
    assert np.array_equal(preprocess.rotate(preprocess.rotate(page, 90), 270), page)
    with pytest.raises(ValueError):
        preprocess.rotate(page, 45)


# --- skew ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("degrees", [0.5, -0.5, 1.7, -1.7, 3.0, -3.0])
def test_skew_of_a_chinese_page_is_found_within_a_tenth_of_a_degree(chinese_page, degrees):
    page = _rotated(chinese_page, degrees)

    assert preprocess.estimate_skew(page) == pytest.approx(-degrees, abs=0.1)


@pytest.mark.parametrize("degrees", [1.7, -3.0])
def test_skew_of_an_english_page_is_found_within_a_tenth_of_a_degree(english_page, degrees):
    assert preprocess.estimate_skew(_rotated(english_page, degrees)) == pytest.approx(-degrees, abs=0.1)


def test_deskew_by_the_estimate_straightens_the_page_and_keeps_its_size(chinese_page):
    page = _rotated(chinese_page, -2.3)
    straight = preprocess.deskew(page, preprocess.estimate_skew(page))

    assert straight.shape == page.shape
    assert preprocess.estimate_skew(straight) == pytest.approx(0.0, abs=0.1)
    assert straight[0, 0] == 255                                   # uncovered corners are white paper


def test_a_page_without_text_lines_gets_no_skew():
    rng = np.random.default_rng(1)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (1754, 1240), dtype=np.uint8), (0, 0), 9)
    photo = cv2.normalize(photo, None, 0, 255, cv2.NORM_MINMAX)

    assert preprocess.estimate_skew(photo) == 0.0


# --- quarter turns -------------------------------------------------------------------------------------------

def test_upright_and_sideways_chinese_pages(chinese_page):
    page = np.asarray(chinese_page)

    assert preprocess.detect_quarter_turn(page) == 0
    assert preprocess.detect_quarter_turn(np.rot90(page)) == 90
    assert preprocess.detect_quarter_turn(np.rot90(page, -1)) == 90


def test_cardinal_rotations_of_a_real_scan(scans):
    import pypdfium2 as pdfium
    document = pdfium.PdfDocument(scans / "ocrmypdf_cardinal.pdf")      # the same page at 0, 90, 180, 270 degrees
    pages = [np.asarray(page.render(scale=150 / 72, grayscale=True).to_pil()) for page in document]

    assert [preprocess.detect_quarter_turn(page) for page in pages] == [0, 90, 0, 90]


@pytest.mark.parametrize(("name", "turn"), [("tesseract_phototest-rotated-L.png", 90),
                                            ("tesseract_phototest-rotated-R.png", 90),
                                            ("tesseract_phototest-rotated-180.png", 0)])
def test_rotated_phototest_pages(scans, name, turn):
    page = np.asarray(Image.open(scans / name).convert("L"))          # a two-colour palette PNG

    assert preprocess.detect_quarter_turn(page) == turn


def test_prepare_turns_a_sideways_skewed_page_and_deskews_it(english_page):
    sideways = np.ascontiguousarray(np.rot90(_rotated(english_page, 2.0)))   # needs 90 clockwise, then -2.0

    prepared = preprocess.prepare(sideways)

    assert prepared.rotation == 90 and prepared.skew == pytest.approx(-2.0, abs=0.1)
    assert prepared.image.shape == (A4[1], A4[0])
    assert [step.split()[0] for step in prepared.steps] == ["rotate", "deskew"]
    assert preprocess.estimate_skew(prepared.image) == pytest.approx(0.0, abs=0.1)


def test_prepare_does_only_what_it_is_asked(english_page):
    page = _rotated(english_page, 2.0).copy()
    page[:, :50] = 0

    prepared = preprocess.prepare(page, deskew=False, crop=False, orientation=False)

    assert prepared.image is page and prepared.steps == () and prepared.crop is None
    assert (prepared.rotation, prepared.skew, prepared.blank) == (0, 0.0, False)


# --- a real skewed scan, read by tesseract -------------------------------------------------------------------

def _confident_words(gray: np.ndarray, dpi: int) -> int:
    from ocr import tesseract
    tsv = tesseract.read(Image.fromarray(gray), lang="eng", psm=3, dpi=dpi, timeout=120)
    words = [row.split("\t") for row in tsv.splitlines()[1:]]
    return sum(1 for cells in words if len(cells) == 12 and cells[11].strip() and float(cells[10]) > 60)


def test_deskewing_a_skewed_scan_lets_tesseract_read_more_words(scans):
    assert shutil.which("tesseract"), "tesseract missing: scripts/setup.sh installs it"
    import pypdfium2 as pdfium
    # 100 dpi: at 150 dpi and above tesseract's own line finding copes with this page's skew.
    page = pdfium.PdfDocument(scans / "ocrmypdf_skew.pdf")[0]
    skewed = np.asarray(page.render(scale=100 / 72, grayscale=True).to_pil())

    angle = preprocess.estimate_skew(skewed)
    straight = preprocess.deskew(skewed, angle)

    assert 1.6 < angle < 2.1                      # the PDF turns the page 1.87 degrees clockwise
    # The "Additional Features" list, full-width lines; the skewed cut-out is taller by the drift of a line
    # across the page, so it holds everything the straight one holds.
    height, width = skewed.shape
    top, bottom = int(0.67 * height), int(0.90 * height)
    drift = int(np.ceil(width / 2 * np.tan(np.radians(angle))))
    assert _confident_words(straight[top:bottom], 100) > _confident_words(skewed[top - drift:bottom + drift], 100)


# --- blank backsides -----------------------------------------------------------------------------------------

def test_backside_with_noise_specks_holes_and_show_through_is_blank(backside):
    assert preprocess.is_blank(backside)


def test_a_blank_page_stops_prepare(backside):
    prepared = preprocess.prepare(backside)

    assert prepared.blank and prepared.rotation == 0 and prepared.skew == 0.0
    assert prepared.steps[-1] == "blank"


def test_one_short_line_of_text_is_not_blank(backside):
    assert not preprocess.is_blank(_write(backside, "第 3 页", (1100, 1600)))


def test_one_latin_word_is_not_blank(backside):
    page = Image.fromarray(backside)
    ImageDraw.Draw(page).text((400, 3000), "Page 3", font=_font(LATIN_FONT, 40), fill=INK)

    assert not preprocess.is_blank(np.asarray(page))


def test_a_signature_is_not_blank(backside):
    x = np.linspace(1500, 1900, 60)
    stroke = np.stack([x, 2900 + 25 * np.sin(x / 23)], axis=1).astype(np.int32)
    signed = cv2.polylines(backside.copy(), [stroke], False, 70, 4, cv2.LINE_AA)

    assert not preprocess.is_blank(signed)


def test_pages_holding_a_single_word_are_not_blank(scans):
    with Image.open(scans / "pillow_g4-multi.tiff") as tiff:         # 400 dpi G4: "Page1", "Page2", "Page3"
        pages = [preprocess.to_gray(np.asarray(frame)) for frame in ImageSequence.Iterator(tiff)]

    assert [preprocess.is_blank(page) for page in pages] == [False, False, False]


# --- scanner borders -----------------------------------------------------------------------------------------

def test_black_border_strips_are_cropped_without_cutting_text(chinese_page):
    page = np.asarray(chinese_page).copy()
    text = _ink_box(page)
    rng = np.random.default_rng(3)
    page[:, :140] = rng.integers(5, 45, (A4[1], 140))                   # ADF backing down the left edge
    page[-90:, :] = rng.integers(5, 45, (90, A4[0]))                    # and along the bottom

    cropped, box = preprocess.crop_borders(page)

    assert box == (140, 0, A4[0], A4[1] - 90)
    assert np.array_equal(cropped, page[:A4[1] - 90, 140:])
    left, top, right, bottom = box
    assert left <= text[0] and top <= text[1] and right >= text[2] and bottom >= text[3]


def test_text_touching_a_border_is_kept(chinese_page):
    page = np.asarray(chinese_page).copy()
    text_left = _ink_box(page)[0]
    page[:, :text_left] = 0                                             # the band runs right up to the text

    cropped, box = preprocess.crop_borders(page)

    assert box == (text_left, 0, A4[0], A4[1])
    assert np.array_equal(cropped, np.asarray(chinese_page)[:, text_left:])


def test_a_page_without_borders_is_not_cropped(chinese_page):
    page = np.asarray(chinese_page)

    cropped, box = preprocess.crop_borders(page)

    assert box is None and cropped is page


def test_prepare_records_the_crop_in_input_coordinates(chinese_page):
    page = np.asarray(chinese_page).copy()
    page[:, -60:] = 10

    prepared = preprocess.prepare(page)

    assert prepared.crop == (0, 0, A4[0] - 60, A4[1])
    assert prepared.steps[0] == f"crop 0,0,{A4[0] - 60},{A4[1]}"
    assert prepared.image.shape == (A4[1], A4[0] - 60)

