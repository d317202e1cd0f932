"""一键归档 on a real small case — a statement of claim in the main volume and a deliberation record (filed behind a
separator sheet) in the internal one, scanned and read by the pipeline — with real Ghostscript: a case not closed is
refused unless forced with a reason; a closed case's package holds each volume as PDF/A-2b (as far as pikepdf can
tell: its XMP claim, its output intent's embedded profile, every font embedded, no encryption) with its cover and
contents first and a remarks sheet naming every volume's pages and the archiver; its manifest lists every file with
its SHA-256; and `edossier verify DIR` names a byte flipped, a file deleted and a file added."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from PIL import Image

from conftest import ROOT
from shared import missing

PERSONAL_ID = "11010519491231002X"        # a valid test vector: masked when printed, kept in the PDF


def _run(home: Path, *args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    environment = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=environment, cwd=ROOT, timeout=timeout)


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def gs() -> str:
    found = shutil.which("gs")
    if found is None:
        missing("Ghostscript (gs)", "scripts/setup.sh installs Debian's ghostscript")
    return found


@pytest.fixture(scope="module")
def filed(gs, tmp_path_factory):
    """A case at its filing stage: a statement of claim scanned into the main volume, and a separator sheet for a
    deliberation record (副卷) followed by that record's page."""
    from classify.coversheet import coversheet_pdf
    from synth.documents import civil_case, make_court
    from synth.render import render_page
    rng = random.Random(41)
    case = civil_case(rng, make_court(rng), year=2026)
    base = tmp_path_factory.mktemp("archive")
    home = base / "home"
    _ok(_run(home, "case", "open", case.case_no, "--tribunal", "民一庭"))
    _ok(_run(home, "case", "event", case.case_no, "FILING", "--at", "2026-01-05"))
    folder = base / "backlog" / case.case_no
    folder.mkdir(parents=True)
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    record = next(d for d in case.documents if d.type_code == "TRIAL_RECORD")
    Image.fromarray(render_page(complaint.pages[0]).image).save(folder / "001.png", dpi=(300, 300))
    sheet = pypdfium2.PdfDocument(coversheet_pdf(case.case_no, "DELIBERATION", "合议庭评议笔录", "FJ"))
    sheet[0].render(scale=300 / 72, grayscale=True).to_pil().save(folder / "002.png", dpi=(300, 300))
    Image.fromarray(render_page(record.pages[0]).image).save(folder / "003.png", dpi=(300, 300))
    _ok(_run(home, "backlog", base / "backlog", "--jobs", "1", "--json"))
    return home, case.case_no


def _copy_home(filed, to: Path) -> tuple[Path, str]:
    home, case_no = filed
    shutil.copytree(home, to / "home")
    return to / "home", case_no


@pytest.fixture(scope="module")
def closed(filed, tmp_path_factory):
    """The case closed by its judgment and archived: (home, case_no, package folder, the command's JSON)."""
    home, case_no = _copy_home(filed, tmp_path_factory.mktemp("closed"))
    _ok(_run(home, "case", "event", case_no, "JUDGMENT", "--at", "2026-03-02"))
    package = home.parent / "package"
    result = _ok(_run(home, "archive", case_no, "--out", package, "--json"))
    return home, case_no, package, json.loads(result.stdout)


def _texts(path: Path) -> list[str]:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return ["".join(document[i].get_textpage().get_text_range().split()) for i in range(len(document))]
    finally:
        document.close()


def _labels(path: Path) -> list[str]:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return [document.get_page_label(i) for i in range(len(document))]
    finally:
        document.close()


def _rows(home: Path, query: str, *args) -> list[tuple]:
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        return db.execute(query, args).fetchall()


# refused, forced ------------------------------------------------------------------------------------------------
def test_a_case_not_closed_is_refused_unless_an_operator_forces_it_with_a_reason(filed, tmp_path):
    home, case_no = _copy_home(filed, tmp_path)
    package = tmp_path / "package"
    refused = _run(home, "archive", case_no, "--out", package)
    said = " ".join(refused.stderr.split())
    assert refused.returncode == 2 and "is not closed" in said and "--force --reason" in said
    assert not package.exists()
    without_reason = _run(home, "archive", case_no, "--out", package, "--force")
    assert without_reason.returncode == 2 and "--force needs --reason" in " ".join(without_reason.stderr.split())
    reason = f"上诉移送前先行归档，当事人{PERSONAL_ID}申请"
    forced = _ok(_run(home, "archive", case_no, "--out", package, "--force", "--reason", reason, "--json"))
    shown = json.loads(forced.stdout)
    assert shown["forced"] is True and shown["closed_at"] is None
    assert PERSONAL_ID not in forced.stdout and "110105********002X" in shown["reason"]      # masked when printed
    remarks = _texts(package / "ZJ.pdf")[-2]
    assert "本案尚未结案，经操作员决定提前归档" in remarks and "".join(reason.split()) in remarks    # kept in the PDF
    assert _rows(home, "select forced, reason from archives where case_no = ?", case_no) == [(1, reason)]


# the package -----------------------------------------------------------------------------------------------------
def test_every_volume_is_pdfa_2b_with_an_embedded_profile_and_every_font_embedded(closed):
    home, case_no, package, shown = closed
    volumes = sorted(p.name for p in package.glob("*.pdf"))
    assert volumes == ["FJ.pdf", "ZJ.pdf"]
    for name in volumes:
        with pikepdf.open(package / name) as pdf:
            assert not pdf.is_encrypted
            with pdf.open_metadata() as meta:
                assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B"), name
                assert meta.get("dc:title") == f"{case_no} {'正卷' if name == 'ZJ.pdf' else '副卷'}"
            intents = list(pdf.Root.get("/OutputIntents", []))
            assert intents and all(i.S == "/GTS_PDFA1" for i in intents)
            profile = intents[0].DestOutputProfile
            assert profile.read_bytes()[36:40] == b"acsp" and int(profile.N) == 3        # an ICC profile, RGB
            fonts = _fonts(pdf)
            assert fonts, name
            for font_name, files in fonts:
                assert files & {"/FontFile", "/FontFile2", "/FontFile3"}, f"{name}: {font_name} is not embedded"


def _fonts(pdf: pikepdf.Pdf) -> list[tuple[str, set[str]]]:
    """(font name, font-file keys of its descriptor) for every font with a descriptor (Type0: its descendant)."""
    found = []
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font" and obj.get("/Subtype") != "/Type0":
            descriptor = obj.get("/FontDescriptor")
            assert descriptor is not None or obj.get("/Subtype") == "/Type3", f"{obj.get('/BaseFont')} has none"
            if descriptor is not None:
                found.append((str(obj.get("/BaseFont")), set(descriptor.keys())))
    return found


def test_cover_and_contents_come_first_and_the_remarks_sheet_names_every_volumes_pages_and_the_archiver(closed):
    home, case_no, package, shown = closed
    for name, volume in (("ZJ.pdf", "正卷"), ("FJ.pdf", "副卷")):
        texts = _texts(package / name)
        assert "诉讼档案" in texts[0] and f"（{volume}）" in texts[0]
        assert "卷内目录" in texts[1] and "序号文件名称页号" in texts[1]
        assert "备考表" in texts[-2]
        assert "本案归档卷宗共2卷：正卷1页；副卷1页。" in texts[-2]
        assert f"归档人：{shown['actor']}" in texts[-2] and f"立卷人：{shown['actor']}" in texts[-2]
        assert "归档时间：" in texts[-2] and "提前归档" not in texts[-2]
        assert _labels(package / name) == ["封面", "目录1", "1", "备考表", "卷底"]     # only the material numbered
    assert shown["actor"].startswith("cli") and shown["forced"] is False and shown["closed_at"].startswith("2026-03-02")
    contents = _texts(package / "ZJ.pdf")[1]
    assert "1民事起诉状1" in contents                 # index, title, page range


def test_the_scanned_pages_keep_their_text_and_images_as_the_dossier_has_them(closed, tmp_path):
    home, case_no, package, shown = closed
    _ok(_run(home, "export", case_no, "--out", tmp_path / "export"))
    for name in ("ZJ.pdf", "FJ.pdf"):
        assert _texts(package / name)[2:-2] == _texts(tmp_path / "export" / name)[2:-2]
        with pikepdf.open(package / name) as archived, pikepdf.open(tmp_path / "export" / name) as exported:
            assert _images(archived.pages[2]) == _images(exported.pages[2])
    assert "民事起诉状" in _texts(package / "ZJ.pdf")[2]


def _images(page: pikepdf.Page) -> list[tuple[str, int, int]]:
    return sorted((str(image.get("/Filter")), int(image.Width), int(image.Height))
                  for image in page.get_images().values())


def test_the_manifest_lists_every_file_with_its_sha256_and_the_package_is_recorded(closed):
    home, case_no, package, shown = closed
    manifest_bytes = (package / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "edossier-manifest/1" and manifest["case_no"] == case_no
    assert [v["file"] for v in manifest["volumes"]] == ["ZJ.pdf", "FJ.pdf"]
    assert {d["type_code"] for v in manifest["volumes"] for d in v["documents"]} == {"COMPLAINT", "DELIBERATION"}
    listed = {f["file"]: f for f in manifest["files"]}
    assert set(listed) == {p.name for p in package.iterdir()} - {"manifest.json"}
    for name, entry in listed.items():
        data = (package / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    assert shown["manifest_sha256"] == digest
    status = json.loads(_ok(_run(home, "status", case_no, "--json")).stdout)
    assert _rows(home, "select actor, forced, reason, digitised, manifest_sha256, path from archives") == [
        (shown["actor"], 0, None, int(status["digitised"]), digest, str(package))]
    entry = _rows(home, "select detail from audit where case_no = ? and kind = 'archived'", case_no)
    assert len(entry) == 1 and json.loads(entry[0][0])["manifest_sha256"] == digest
    assert _ok(_run(home, "verify", case_no)).stdout.count("intact") == 1          # the record still chains


# verify DIR ------------------------------------------------------------------------------------------------------
def test_verify_dir_says_intact_then_names_a_flipped_byte_a_deleted_file_and_an_unlisted_one(closed, tmp_path):
    home, case_no, original, shown = closed
    package = tmp_path / "copied"
    shutil.copytree(original, package)
    intact = _run(home, "verify", package)
    assert intact.returncode == 0 and "intact" in intact.stdout and "NOT" not in intact.stdout
    data = bytearray((package / "FJ.pdf").read_bytes())
    data[len(data) // 2] ^= 0x01
    (package / "FJ.pdf").write_bytes(bytes(data))
    flipped = _run(home, "verify", package, "--json")
    verdict = json.loads(flipped.stdout)
    assert flipped.returncode == 10 and not verdict["ok"]
    assert verdict["problem"].startswith("FJ.pdf was altered") and [a["file"] for a in verdict["altered"]] == ["FJ.pdf"]
    (package / "ZJ.pdf").unlink()
    (package / "notes.txt").write_text("added later", encoding="utf-8")
    shown_text = _run(home, "verify", package)
    assert shown_text.returncode == 10 and "NOT intact" in shown_text.stdout
    assert "ZJ.pdf is missing" in shown_text.stdout and "FJ.pdf was altered" in shown_text.stdout
    assert "notes.txt is in the package but the manifest does not list it" in shown_text.stdout
    verdict = json.loads(_run(home, "verify", package, "--json").stdout)
    assert (verdict["missing"], verdict["unlisted"]) == (["ZJ.pdf"], ["notes.txt"])


def test_a_manifest_rewritten_to_match_a_changed_file_is_caught_against_the_record(closed, tmp_path):
    home, case_no, original, shown = closed
    package = tmp_path / "rewritten"
    shutil.copytree(original, package)
    data = bytearray((package / "ZJ.pdf").read_bytes())
    data[len(data) // 3] ^= 0x01
    (package / "ZJ.pdf").write_bytes(bytes(data))
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["file"] == "ZJ.pdf":
            entry["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (package / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    verdict = _run(home, "verify", package, "--json")
    assert verdict.returncode == 10, verdict.stdout
    assert json.loads(verdict.stdout)["problem"].startswith("manifest.json is not the one recorded")
    elsewhere = _run(tmp_path / "another-home", "verify", package)       # no catalogue there: the files alone
    assert elsewhere.returncode == 0 and "intact" in elsewhere.stdout


def test_without_ghostscript_the_archive_stops_before_any_work_naming_the_install_command(filed, tmp_path):
    home, case_no = filed
    bare = tmp_path / "bin"
    bare.mkdir()
    result = _run(home, "archive", case_no, "--out", tmp_path / "package", env={"PATH": str(bare)})
    assert result.returncode == 6 and "apt-get install ghostscript" in " ".join(result.stderr.split())
    assert not (tmp_path / "package").exists()
