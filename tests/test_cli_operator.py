"""The commands an operator reaches for in the first hour: they forgive how a case number is typed, say plainly what
is wrong, never create an empty data folder by reading, and keep case numbers whole in an 80-column terminal."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from PIL import Image
from rich.cells import cell_len

from conftest import ROOT

CASE = "（2024）浙0803民初1234号"
TYPED = ["(2024)浙0803民初1234号", "( 2024 )浙0803民初1234号", "（２０２４）浙０８０３民初１２３４号"]


@pytest.fixture(scope="module")
def one_case(tmp_path_factory):
    """A data folder holding one digitised case (a blank page: no OCR time needed) and one quarantined file."""
    base = tmp_path_factory.mktemp("operator")
    folder = base / "backlog" / CASE
    folder.mkdir(parents=True)
    Image.new("L", (850, 1100), 255).save(folder / "blank.png", dpi=(100, 100))
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not a scan")
    home = base / "home"
    result = _run(home, "backlog", base / "backlog", "--json")
    assert result.returncode == 3, result.stderr
    return home


def _run(home, *args, columns: int = 200):
    env = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)


@pytest.mark.parametrize("typed", TYPED)
def test_case_numbers_are_found_however_typed(one_case, typed, tmp_path):
    status = _run(one_case, "status", typed, "--json")
    assert status.returncode == 0, status.stderr
    assert '"case_no": "（2024）浙0803民初1234号"' in status.stdout
    exported = _run(one_case, "export", typed, "--out", tmp_path / "out")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_status_keeps_case_numbers_whole_in_80_columns(one_case):
    """On a terminal 80 columns wide (a pseudo-terminal, as an operator's) the case number is printed whole."""
    env = {**os.environ, "EDOSSIER_HOME": str(one_case), "COLUMNS": "80", "LINES": "40"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "status"], stdout=follower, stderr=follower,
                            env=env, cwd=ROOT)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert proc.returncode == 0, text
    assert CASE in text, text
    assert max(cell_len(line.rstrip("\r")) for line in text.splitlines()) <= 80, text


def test_reading_commands_never_create_the_data_folder(tmp_path):
    home = tmp_path / "nowhere"
    for args in (["status"], ["quarantine", "list"], ["quarantine"], ["export", CASE, "--out", tmp_path / "x"]):
        result = _run(home, *args)
        assert result.returncode == 7, (args, result.stderr)
        assert str(home) in result.stderr.replace("\n", "") and "EDOSSIER_HOME" in result.stderr
    assert not home.exists()


def test_quarantine_alone_lists_and_show_reads_like_a_record(one_case):
    listed = _run(one_case, "quarantine")
    assert listed.returncode == 0 and "notes.docx" in listed.stdout and "unsupported_type" in listed.stdout
    item_id = listed.stdout.split("notes.docx")[0].rsplit("│", 2)[-2].strip()
    shown = _run(one_case, "quarantine", "show", item_id)
    assert shown.returncode == 0, shown.stderr
    assert "notes.docx" in shown.stdout and "{" not in shown.stdout
    assert f"edossier quarantine retry {item_id}" in shown.stdout
    as_json = _run(one_case, "quarantine", "show", item_id, "--json")
    assert '"error_code": "unsupported_type"' in as_json.stdout


def test_a_backlog_with_nothing_to_digitise_says_so(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run(tmp_path / "home", "backlog", empty)
    assert result.returncode == 2 and "no files" in result.stderr
    (empty / "readme.txt").write_text("not a scan", encoding="utf-8")
    result = _run(tmp_path / "home", "backlog", empty)
    assert result.returncode == 2 and "supported type" in result.stderr


def test_samples_refuse_a_folder_that_is_not_empty(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine", encoding="utf-8")
    result = _run(tmp_path / "home", "samples", folder)
    assert result.returncode == 2 and "not empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("given", ["COMPLAINT", "complaint", "民事起诉状"])
def test_coversheet_takes_a_type_by_code_or_chinese_name(given, tmp_path):
    result = _run(tmp_path / "home", "coversheet", "--case", TYPED[0], "--type", given, "--out", tmp_path / "s.pdf")
    assert result.returncode == 0, result.stderr
    assert f"{CASE} / COMPLAINT" in result.stdout


def test_coversheet_error_lists_types_with_their_chinese_names(tmp_path):
    result = _run(tmp_path / "home", "coversheet", "--case", CASE, "--type", "nope", "--out", tmp_path / "s.pdf")
    assert result.returncode == 2 and "COMPLAINT 民事起诉状" in result.stderr


def test_a_bad_settings_file_is_explained_in_plain_words(tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("queue:\n  workers: lots\n  nonsense: 1\n", encoding="utf-8")
    result = _run(tmp_path / "home", "--config", config, "status")
    assert result.returncode == 5
    message = result.stderr.replace("\n", " ")
    assert str(config.name) in message and "queue.workers" in message and "integer" in message
    assert "queue.nonsense: no such setting" in message
    assert "pydantic" not in message and "http" not in message


def test_the_log_records_each_run_with_its_counts(one_case):
    log = (one_case / "logs" / "edossier.log").read_text(encoding="utf-8")
    assert "run started: backlog of 2 files in 1 stacks" in log
    assert "run ended: backlog, 2 new files, 1 pages digitised, 0 failed, 1 quarantined" in log
    assert "exit 3" in log


def test_status_shows_unfinished_work_before_any_page_is_done(tmp_path):
    """Files accepted and not yet worked (as after Ctrl-C, or `--no-wait` with no worker running) show in status:
    the case with its pages pending, and the files waiting; JSON keys are there when their counts are zero."""
    folder = tmp_path / "backlog" / CASE
    folder.mkdir(parents=True)
    Image.new("L", (850, 1100), 255).save(folder / "blank.png", dpi=(100, 100))
    home = tmp_path / "home"
    accepted = _run(home, "backlog", tmp_path / "backlog", "--no-wait", "--json")
    assert accepted.returncode == 0, accepted.stderr
    status = _run(home, "status", "--json")
    data = __import__("json").loads(status.stdout)
    assert [c["case_no"] for c in data["cases"]] == [CASE]
    assert data["totals"]["files_waiting"] == 1 and data["totals"]["pages_done"] == 0
    assert set(data["totals"]) == {"pages_pending", "pages_done", "pages_failed", "files_waiting", "quarantined",
                                   "in_review"}
    table = _run(home, "status")
    assert CASE in table.stdout and "unfinished: 1 files waiting" in table.stdout


def test_the_demo_backlog_shows_a_quarantined_file_and_a_document_in_review(tmp_path):
    """`samples --demo` (what the quick start runs) holds, on purpose, one damaged scan and one misfiled notice:
    the run ends with the scan in quarantine and the notice in review, its reason naming both case numbers."""
    folder = tmp_path / "demo"
    made = _run(tmp_path / "home", "samples", folder, "--demo")
    assert made.returncode == 0, made.stderr
    result = _run(tmp_path / "home", "backlog", folder, "--json")
    assert result.returncode == 3, result.stderr[-2000:]
    report = __import__("json").loads(result.stdout)
    assert [q["file"].rsplit("/", 1)[-1] for q in report["quarantined"]] == ["扫描中断.jpg"]
    status = __import__("json").loads(_run(tmp_path / "home", "status", "--json").stdout)
    cases = [c["case_no"] for c in status["cases"]]
    flagged = []
    for case_no in cases:
        detail = __import__("json").loads(_run(tmp_path / "home", "status", case_no, "--json").stdout)
        flagged += [(case_no, d["reason"]) for d in detail["documents"] if d["review"] and "prints case number" in d["reason"]]
    assert len(flagged) == 1, flagged
    case_no, reason = flagged[0]
    assert case_no in reason and any(other in reason for other in cases if other != case_no)
