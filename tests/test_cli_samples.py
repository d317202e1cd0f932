"""The command line on real scans from other projects: page order, rotation, duplicates, passwords, bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CASE = "（2024）浙0803民初1234号"


@pytest.fixture
def english(tmp_path: Path) -> dict:
    config = tmp_path / "eng.yaml"
    config.write_text("ocr:\n  languages: eng\n", encoding="utf-8")
    return {"EDOSSIER_CONFIG": str(config)}


def _manifest_texts(home: Path) -> list[str]:
    manifest = json.loads((home / "dossiers" / CASE / "manifest.json").read_text(encoding="utf-8"))
    return [p["text"] for v in manifest["volumes"] for d in v["documents"] for p in d["pages"]]


def test_multipage_tiff_keeps_page_order(samples, edossier, home, english):
    result = edossier("import", samples / "scans/paperless_multi-page-images.tiff", "--case", CASE, "--json",
                      env=english)
    assert result.code == 0, result.stderr
    texts = [t.lower() for t in _manifest_texts(home)]
    assert [i for i, t in enumerate(texts) for n in (1, 2, 3) if f"page {n}" in t] == [0, 1, 2]


def test_rotated_pages_are_turned_upright(samples, edossier, home, english):
    result = edossier("import", samples / "scans/paperless_rotated.pdf", "--case", CASE, "--json", env=english)
    assert result.code == 0, result.stderr
    text = " ".join(_manifest_texts(home))
    for expected in ("appears on the first page", "pages are rotated", "weird file", "your own fault"):
        assert expected in text


def test_same_bytes_twice_are_not_processed_twice(samples, edossier, english, tmp_path):
    source = samples / "scans/paperless_multi-page-images.tiff"
    copy = tmp_path / "again.tiff"
    shutil.copy(source, copy)
    first = edossier("import", source, "--case", CASE, "--json", env=english).json()
    assert first["pages_done"] == 3
    second = edossier("import", copy, "--case", CASE, "--json", env=english)
    assert second.code == 0
    data = second.json()
    assert data["pages_done"] == 0 and data["files_new"] == 0
    assert data["duplicates"][0]["same_as"].endswith("paperless_multi-page-images.tiff")


def test_password_protected_pdf_is_quarantined_then_unlocked(samples, edossier, english):
    result = edossier("import", samples / "bad_inputs/pdf/paperless_password-is-test.pdf", "--case", CASE,
                      "--json", env=english)
    assert result.code == 3
    item = result.json()["quarantined"][0]
    assert item["code"] == "encrypted" and "password" in item["reason"]
    listed = edossier("quarantine", "list", "--json", env=english).json()
    assert [i["id"] for i in listed] == [item["id"]]
    wrong = edossier("quarantine", "retry", item["id"], "--password", "nope", "--json", env=english)
    assert wrong.code == 3 and "wrong" in wrong.json()["quarantined"][0]["reason"]
    fresh = edossier("quarantine", "list", "--json", env=english).json()
    retried = edossier("quarantine", "retry", fresh[0]["id"], "--password", "test", "--json", env=english)
    assert retried.code == 0, retried.stdout + retried.stderr
    assert retried.json()["pages_done"] >= 1
    assert edossier("quarantine", "list", "--json", env=english).json() == []


def test_folder_that_is_not_a_case_number_is_quarantined(samples, edossier, tmp_path, english):
    backlog = tmp_path / "backlog"
    (backlog / "box 17").mkdir(parents=True)
    shutil.copy(samples / "ocr_gt/eng_misc/paperless_simple.png", backlog / "box 17" / "a.png")
    result = edossier("backlog", backlog, "--json", env=english)
    assert result.code == 3
    item = result.json()["quarantined"][0]
    assert item["code"] == "unknown_case" and "box 17" in item["reason"] and "--manifest" in item["reason"]


def test_manifest_maps_folders_to_case_numbers(samples, edossier, tmp_path, english, home):
    backlog = tmp_path / "backlog"
    (backlog / "box 17").mkdir(parents=True)
    shutil.copy(samples / "ocr_gt/eng_misc/paperless_simple.png", backlog / "box 17" / "a.png")
    manifest = tmp_path / "map.csv"
    manifest.write_text(f"folder,case_no\nbox 17,{CASE}\n", encoding="utf-8")
    result = edossier("backlog", backlog, "--manifest", manifest, "--json", env=english)
    assert result.code == 0, result.stderr
    assert [c["case_no"] for c in result.json()["cases"]] == [CASE]
    assert (home / "dossiers" / CASE / "ZJ.pdf").exists()


def test_invalid_case_option_is_a_usage_error(samples, edossier, english):
    result = edossier("import", samples / "ocr_gt/eng_misc/paperless_simple.png", "--case", "（2020）司鉴字第12号",
                      env=english)
    assert result.code == 2
    assert "not a valid case number" in result.stderr


@pytest.mark.parametrize("command", ["backlog", "import", "status", "export", "quarantine", "quarantine list",
                                     "quarantine show", "quarantine retry", "coversheet", "samples", "worker", "serve",
                                     "token create", "token list", "token revoke", "db", "db upgrade"])
def test_every_command_explains_itself(edossier, command):
    result = edossier(*command.split(), "--help")
    assert result.code == 0
    assert "Usage:" in result.stdout
    assert "Example" in result.stdout
    assert "Exit codes" in result.stdout


def test_export_of_unknown_case_is_not_found(edossier, tmp_path):
    result = edossier("export", CASE, "--out", tmp_path / "x")
    assert result.code == 7 and "no catalogue" in result.stderr
    assert edossier("token", "create", "scanner-1", "--role", "device").code == 0     # a catalogue, no cases
    result = edossier("export", CASE, "--out", tmp_path / "x")
    assert result.code == 7 and "no case" in result.stderr
