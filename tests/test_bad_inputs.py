"""Every hostile or broken file in shared/samples/bad_inputs goes through one backlog run: each is quarantined with a
reason a person understands or repaired and digitised, and the rest of the batch finishes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXPECTED_CODES = {
    "paperless_password-is-test.pdf": "encrypted",
    "paperless_encrypted.pdf": "encrypted",
    "pypdf_r2-user-password.pdf": "encrypted",
    "pypdf_r4-aes-user-password.pdf": "encrypted",
    "pypdf_r6-both-passwords.pdf": "encrypted",
    "pillow_truncated_image.png": "truncated",
    "pillow_truncated_jpeg.jpg": "truncated",
    "pillow_truncated_end_chunk.png": "truncated",
    "pillow_decompression_bomb.gif": "pixel_limit",
    "pillow_decompression_bomb_extents.gif": "pixel_limit",
    "pillow_badwidth.bmp": "pixel_limit",
    "pillow_zero_height.j2k": "unsupported_type",
    "pillow_decompression_bomb.ico": "unsupported_type",
    "pillow_pngtest_bad.png.bin": "unsupported_type",
    "ocrmypdf_invalid.pdf": "damaged",
    "qpdf_pages-loop.pdf": "damaged",
    "qpdf_bad1.pdf": "damaged",
    "pillow_broken_data_stream.png": "damaged",
}
REASON_WORDS = {"encrypted": "password", "truncated": "truncated", "pixel_limit": "pixels",
                "unsupported_type": "accepted:", "damaged": "damaged"}
REPAIRED_AND_DIGITISED = ["pypdf_issue-297.pdf", "pdfjs_helloworld-bad.pdf", "qpdf_bad2.pdf", "qpdf_xref-errors.pdf",
                          "pypdf_r6-owner-password.pdf", "pypdf_unencrypted.pdf", "pillow_junk_jpeg_header.jpg"]


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory, samples):
    import json
    import os
    import subprocess
    import sys
    base = tmp_path_factory.mktemp("bad")
    backlog = base / "backlog"
    backlog.mkdir()
    for path in (samples / "bad_inputs").rglob("*"):
        if path.is_file() and path.suffix not in (".md", ".out"):
            shutil.copy(path, backlog / path.name)
    config = base / "eng.yaml"
    config.write_text("ocr:\n  languages: eng\nqueue:\n  page_timeout_s: 120\n", encoding="utf-8")
    env = {**os.environ, "EDOSSIER_HOME": str(base / "home"), "EDOSSIER_CONFIG": str(config)}
    proc = subprocess.run([sys.executable, "-m", "ingest", "backlog", str(backlog), "--json"], capture_output=True,
                          text=True, env=env, timeout=1200, cwd=Path(__file__).resolve().parents[1])
    listing = subprocess.run([sys.executable, "-m", "ingest", "quarantine", "list", "--json"], capture_output=True,
                             text=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])
    return proc, json.loads(proc.stdout), json.loads(listing.stdout), backlog


def test_the_batch_finishes_with_the_quarantine_exit_code(bad_run):
    proc, report, _, backlog = bad_run
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert report["pages_done"] >= 100


@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_bad_file_is_quarantined_with_its_reason(bad_run, name):
    _, _, listing, _ = bad_run
    items = [i for i in listing if Path(i["source_path"]).name == name]
    assert items, f"{name} is not in quarantine"
    code = EXPECTED_CODES[name]
    assert items[0]["error_code"] == code
    assert REASON_WORDS[code] in items[0]["reason"].lower()
    assert "/blobs/" not in items[0]["reason"]


@pytest.mark.parametrize("name", REPAIRED_AND_DIGITISED)
def test_repairable_file_is_digitised(bad_run, name):
    _, _, listing, _ = bad_run
    assert name not in {Path(i["source_path"]).name for i in listing}


def test_every_file_is_accounted_for(bad_run):
    proc, report, listing, backlog = bad_run
    quarantined = {Path(i["source_path"]).name for i in listing}
    assert report["files_new"] == len(list(backlog.iterdir()))
    assert len(quarantined) == len({Path(q["file"]).name for q in report["quarantined"]})
