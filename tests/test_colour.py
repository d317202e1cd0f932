"""Colour scans stay in colour in the dossier (a red seal must stay red); black-on-white paper, even scanned in
colour, is kept grey, and compact: two-level."""
from __future__ import annotations

import random

import numpy as np
import pikepdf
from PIL import Image, ImageDraw

from synth.documents import civil_case, make_court
from synth.render import render_page

CASE = "（2024）浙0803民初1234号"


def _judgment_image() -> Image.Image:
    case = civil_case(random.Random(9), make_court(random.Random(9)))
    judgment = next(d for d in case.documents if d.type_code == "JUDGMENT")
    return Image.fromarray(render_page(judgment.pages[0]).image).rotate(1.5, fillcolor=255)


def _volume_images(home) -> list:
    path = next((home / "dossiers").glob("*/ZJ.pdf"))
    with pikepdf.open(path) as pdf:
        found = []
        for page in pdf.pages:
            for image in page.get_images().values():
                pim = pikepdf.PdfImage(image)
                if pim.width > 1000:        # the page image (kept at 200 dpi or more), not a sheet's
                    found.append((str(image.ColorSpace), np.asarray(pim.as_pil_image().convert("RGB")),
                                  str(image.Filter)))
        return found


def test_red_seal_stays_red(edossier, tmp_path, home):
    page = _judgment_image().convert("RGB")
    ImageDraw.Draw(page).ellipse((1500, 2300, 2000, 2800), outline=(220, 20, 30), width=18)
    scan = tmp_path / "judgment.jpg"
    page.save(scan, quality=90, dpi=(300, 300))
    result = edossier("import", scan, "--case", CASE, "--json")
    assert result.code == 0, result.stderr
    [(space, pixels, _)] = _volume_images(home)
    assert space == "/DeviceRGB"
    red = (pixels[:, :, 0] > 150) & (pixels[:, :, 1] < 90) & (pixels[:, :, 2] < 90)
    assert red.sum() > 5000
    manifest = result.json()["cases"][0]
    assert manifest["pages_digitised"] == 1


def test_black_on_white_paper_scanned_in_colour_is_kept_two_level(edossier, tmp_path, home):
    scan = tmp_path / "judgment.png"
    _judgment_image().convert("RGB").save(scan, dpi=(300, 300))    # an RGB file of black-on-white paper
    result = edossier("import", scan, "--case", CASE, "--json")
    assert result.code == 0, result.stderr
    assert [(space, kept) for space, _, kept in _volume_images(home)] == [("/DeviceGray", "/CCITTFaxDecode")]
