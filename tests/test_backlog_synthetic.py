"""A synthetic scanning-centre backlog through `edossier backlog`: documents, types, order, exclusions, accounting,
resuming, interruption and a killed worker — checked against the generator's ground truth."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from classify.doctype import edit_distance
from classify.taxonomy import Taxonomy
from synth.backlog import make_backlog

ROOT = Path(__file__).resolve().parents[1]


def _run(home: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDOSSIER_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _cer(hyp: str, ref: str) -> float:
    return edit_distance(_norm(hyp), _norm(ref)) / max(1, len(_norm(ref)))


@pytest.fixture(scope="module")
def backlog(tmp_path_factory):
    base = tmp_path_factory.mktemp("synthetic")
    truth = make_backlog(base / "backlog", seed=7, cases=2)
    home = base / "home"
    first = _run(home, "backlog", base / "backlog", "--json")
    return base, json.loads((base / "backlog.truth.json").read_text(encoding="utf-8")), home, first


def _manifest(home: Path, case_no: str) -> dict:
    return json.loads((home / "dossiers" / case_no / "manifest.json").read_text(encoding="utf-8"))


def _pages_by_origin(manifest: dict) -> dict:
    return {(p["original_file"], p["original_page"]): (d["type_code"], p)
            for v in manifest["volumes"] for d in v["documents"] for p in d["pages"]}


def test_run_digitises_every_page(backlog):
    _, truth, _, first = backlog
    assert first.returncode == 0, first.stderr[-3000:]
    report = json.loads(first.stdout)
    assert report["pages_failed"] == 0 and report["quarantined"] == []
    assert report["documents_unrouted"] == 0
    assert sorted(c["case_no"] for c in report["cases"]) == sorted(c["case_no"] for c in truth["cases"])
    assert report["pages_done"] == sum(f["pages"] for f in truth["files"])


def test_documents_get_their_types_in_binding_order(backlog):
    _, truth, home, _ = backlog
    taxonomy = Taxonomy.load()
    for case in truth["cases"]:
        manifest = _manifest(home, case["case_no"])
        documents = [d for v in manifest["volumes"] for d in v["documents"]]
        assert sorted(d["type_code"] for d in documents) == sorted(d["type_code"] for d in case["documents"])
        keys = [taxonomy.sort_key(manifest["case_family"], "ZJ", d["type_code"]) for d in documents]
        assert keys == sorted(keys)
        pages = [p for d in documents for p in d["pages"]]
        assert documents[0]["first_page"] == 1 and documents[-1]["last_page"] == len(pages)


def test_every_page_is_filed_where_it_belongs(backlog):
    _, truth, home, _ = backlog
    for case in truth["cases"]:
        manifest = _manifest(home, case["case_no"])
        filed = _pages_by_origin(manifest)
        excluded = {(e["original_file"], e["original_page"]): e["reason"] for e in manifest["excluded_pages"]}
        for document in case["documents"]:
            for page in document["pages"]:
                origin = (Path(page["file"]).name, page["index"] + 1)
                if page["blank"] or page["separator"]:
                    assert excluded[origin] == ("blank" if page["blank"] else "separator")
                    continue
                type_code, filed_page = filed[origin]
                assert type_code == document["type_code"], origin
                assert _cer(filed_page["text"], page["text"]) < 0.25, origin
        assert manifest["digitisation"]["rate"] == 1.0


def test_the_upside_down_page_is_turned_and_read(backlog):
    _, truth, home, _ = backlog
    turned = [(case["case_no"], p) for case in truth["cases"] for d in case["documents"] for p in d["pages"]
              if p["upside_down"]]
    assert turned, "the generator always puts one page upside down"
    for case_no, page in turned:
        _, filed = _pages_by_origin(_manifest(home, case_no))[(Path(page["file"]).name, page["index"] + 1)]
        assert filed["rotation"] == 180
        assert _cer(filed["text"], page["text"]) < 0.1


def test_volume_pdf_is_searchable_with_a_bookmark_per_document(backlog):
    _, truth, home, _ = backlog
    case_no = truth["cases"][0]["case_no"]
    manifest = _manifest(home, case_no)
    volume = manifest["volumes"][0]
    pdf = pdfium.PdfDocument(str(home / "dossiers" / case_no / volume["file"]))
    assert len(pdf) == volume["pdf_pages"]
    titles = [item.get_title() for item in pdf.get_toc()]
    assert len(titles) == len(volume["documents"]) + 3            # cover, contents, remarks sheet
    text = "".join(_norm(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf)))
    assert _norm(case_no) in text
    assert _norm(volume["documents"][0]["pages"][0]["text"])[:12] in text


def test_identity_numbers_never_appear_in_clear(backlog):
    _, truth, home, _ = backlog
    ids = {m for case in truth["cases"] for d in case["documents"] for p in d["pages"]
           for m in re.findall(r"\d{17}[\dX]", p["text"])}
    assert ids
    shown = _run(home, "status", truth["cases"][0]["case_no"], "--json").stdout
    shown += (home / "logs" / "edossier.log").read_text(encoding="utf-8")
    assert not any(i in shown for i in ids)


def test_second_run_resumes_without_redoing_anything(backlog):
    base, truth, home, _ = backlog
    again = _run(home, "backlog", base / "backlog", "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    assert report["files_new"] == 0 and report["pages_done"] == 0
    assert report["files_already_known"] == len(truth["files"])


def _done_pages(home: Path) -> int:
    with sqlite3.connect(home / "catalogue.sqlite3") as conn:
        try:
            return conn.execute("select count(*) from pages where status='done'").fetchone()[0]
        except sqlite3.OperationalError:      # the catalogue is being created
            return 0


def _wait_for_done(home: Path, count: int, proc: subprocess.Popen, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if (home / "catalogue.sqlite3").exists() and _done_pages(home) >= count:
            return
        time.sleep(0.3)
    raise AssertionError("the run never got that far")


def _start(home: Path, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "EDOSSIER_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "ingest", "backlog", str(folder), "--json"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_interrupted_run_resumes_where_it_stopped(backlog, tmp_path):
    base, truth, _, _ = backlog
    home = tmp_path / "home"
    total = sum(f["pages"] for f in truth["files"])
    proc = _start(home, base / "backlog")
    _wait_for_done(home, 4, proc)
    os.killpg(proc.pid, signal.SIGINT)                   # Ctrl-C reaches the whole foreground group
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    done_before = _done_pages(home)
    assert 0 < done_before < total
    resumed = _run(home, "backlog", base / "backlog", "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["pages_done"] == total - done_before
    assert _done_pages(home) == total


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _worker_processes(pid: int) -> list[int]:
    """The OCR worker processes under a command: children of its fork server, which is a child of the command."""
    servers = [c for c in _children(pid) if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return [w for server in servers for w in _children(server)
            if b"tesseract" not in Path(f"/proc/{w}/cmdline").read_bytes()]


def test_killed_worker_delays_pages_but_loses_none(backlog, tmp_path):
    base, truth, _, _ = backlog
    home = tmp_path / "home"
    total = sum(f["pages"] for f in truth["files"])
    proc = _start(home, base / "backlog")
    _wait_for_done(home, 3, proc)
    os.kill(_worker_processes(proc.pid)[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, err[-2000:]
    report = json.loads(out)
    assert report["quarantined"] == [] and report["pages_done"] == total
    assert _done_pages(home) == total
