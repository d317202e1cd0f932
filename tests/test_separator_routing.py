"""A printed `edossier coversheet` sheet, scanned on top of a document in a loose file, files that document into the
sheet's case with the sheet's type; the sheet itself stays in the catalogue and out of the dossier."""
from __future__ import annotations

import io
import json
import random

import pikepdf
from PIL import Image

from synth.documents import civil_case, make_court
from synth.render import render_page


def _image_pdf(gray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gray).save(out, format="PDF", resolution=300, quality=80)
    return out.getvalue()


def _merge(*pdfs: bytes) -> bytes:
    merged = pikepdf.new()
    for data in pdfs:
        merged.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
    out = io.BytesIO()
    merged.save(out)
    return out.getvalue()


def test_scanned_coversheet_routes_the_document(edossier, tmp_path, home):
    case = civil_case(random.Random(3), make_court(random.Random(3)))
    poa = next(d for d in case.documents if d.type_code == "POA")
    sheet = tmp_path / "sheet.pdf"
    made = edossier("coversheet", "--case", case.case_no, "--type", "EVIDENCE", "--out", sheet)
    assert made.code == 0, made.stderr
    backlog = tmp_path / "backlog"
    backlog.mkdir()
    (backlog / "scan_0001.pdf").write_bytes(_merge(sheet.read_bytes(), _image_pdf(render_page(poa.pages[0]).image)))

    result = edossier("backlog", backlog, "--json")
    assert result.code == 0, result.stderr
    assert [c["case_no"] for c in result.json()["cases"]] == [case.case_no]
    manifest = json.loads((home / "dossiers" / case.case_no / "manifest.json").read_text(encoding="utf-8"))
    documents = [d for v in manifest["volumes"] for d in v["documents"]]
    assert [(d["type_code"], d["confidence"], d["review"]) for d in documents] == [("EVIDENCE", 1.0, False)]
    assert [p["original_page"] for p in documents[0]["pages"]] == [2]
    assert [(e["original_page"], e["reason"]) for e in manifest["excluded_pages"]] == [(1, "separator")]


def test_coversheet_refuses_an_unknown_type(edossier, tmp_path):
    result = edossier("coversheet", "--case", "（2024）浙0803民初1234号", "--type", "NOPE", "--out",
                      tmp_path / "x.pdf")
    assert result.code == 2
    assert "unknown type" in result.stderr and not (tmp_path / "x.pdf").exists()
