"""The tamper-evident record of a case: every event that touches it appended once to a hash-chained log, and
`edossier verify` recomputing the chain and the stored bytes — a byte flipped in a stored page, in a dossier
volume, or in the log, and a log entry deleted in the middle or cut off the end, are each caught and named."""
from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT


def _run(home: Path, *args, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A case opened, moved to a stage, paper registered and its statement of claim scanned and filed."""
    from synth.documents import civil_case, make_court
    from synth.render import render_page
    rng = random.Random(31)
    case = civil_case(rng, make_court(rng), year=2026)
    base = tmp_path_factory.mktemp("audit")
    home = base / "home"
    assert _run(home, "case", "open", case.case_no, "--tribunal", "民一庭").returncode == 0
    assert _run(home, "case", "event", case.case_no, "FILING", "--at", "2026-01-05").returncode == 0
    assert _run(home, "receive", case.case_no, "--type", "COMPLAINT", "--pages", "1", "--out",
                base / "r.pdf").returncode == 0
    folder = base / "backlog" / case.case_no
    folder.mkdir(parents=True)
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    Image.fromarray(render_page(complaint.pages[0]).image).save(folder / "claim.png", dpi=(300, 300))
    ran = _run(home, "backlog", base / "backlog", "--json")
    assert ran.returncode == 0, ran.stderr
    return home, case.case_no


def _copy(recorded, tmp_path) -> tuple[Path, str]:
    home, case_no = recorded
    shutil.copytree(home, tmp_path / "home")
    return tmp_path / "home", case_no


def _log(home: Path, case_no: str) -> list[tuple]:
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        return db.execute("select seq, kind, key, detail from audit where case_no = ? order by seq",
                          (case_no,)).fetchall()


def _blob(home: Path, key: str) -> Path:
    found = [p for p in home.rglob(key) if p.is_file()]
    assert len(found) == 1, found
    return found[0]


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _verify(home: Path, case_no: str) -> tuple[int, dict]:
    result = _run(home, "verify", case_no, "--json")
    return result.returncode, json.loads(result.stdout)


def test_every_event_of_the_case_is_in_its_log_once_and_the_record_verifies(recorded):
    home, case_no = recorded
    kinds = [kind for _, kind, _, _ in _log(home, case_no)]
    assert kinds[:4] == ["case opened", "case details", "stage reached", "receipt"]
    assert {"file received", "page done", "documents filed", "dossier built"} <= set(kinds)
    assert kinds.count("file received") == 1 and kinds.count("page done") == 1
    again = _run(home, "case", "event", case_no, "FILING", "--at", "2026-01-05")
    assert again.returncode == 0 and len(_log(home, case_no)) == len(kinds)        # the same event: not again
    code, verdict = _verify(home, case_no)
    assert code == 0 and verdict["ok"] and verdict["entries_checked"] == len(kinds)
    assert verdict["blobs_checked"] >= 4          # the file, its page PDF, the volume and the manifest
    shown = _run(home, "verify", case_no)
    assert shown.returncode == 0 and "intact" in shown.stdout


def test_a_byte_flipped_in_a_stored_page_is_caught_and_named(recorded, tmp_path):
    home, case_no = _copy(recorded, tmp_path)
    received = next(json.loads(d) for _, kind, _, d in _log(home, case_no) if kind == "file received")
    _flip(_blob(home, received["sha256"]), 1000)
    code, verdict = _verify(home, case_no)
    assert code == 10 and verdict["problem"].startswith("stored file claim.png")
    assert "was altered" in verdict["problem"]


def test_a_byte_flipped_in_a_dossier_volume_is_caught_and_named(recorded, tmp_path):
    home, case_no = _copy(recorded, tmp_path)
    built = [json.loads(d) for _, kind, _, d in _log(home, case_no) if kind == "dossier built"][-1]
    _flip(_blob(home, built["blobs"]["ZJ.pdf"]), 400)
    code, verdict = _verify(home, case_no)
    assert code == 10 and verdict["problem"].startswith("stored ZJ.pdf") and "was altered" in verdict["problem"]


def test_an_entry_changed_in_the_log_is_caught_and_named(recorded, tmp_path):
    home, case_no = _copy(recorded, tmp_path)
    seq, kind, key, detail = next(row for row in _log(home, case_no) if row[1] == "receipt")
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("update audit set detail = ? where case_no = ? and seq = ?",
                   (detail.replace('"pages":1', '"pages":2'), case_no, seq))
    code, verdict = _verify(home, case_no)
    assert code == 10 and verdict["problem"] == f"audit entry {seq} (receipt, {key}) was altered: its hash does " \
                                                "not match what it says"


def test_an_entry_deleted_from_the_log_is_caught_where_and_at_the_end(recorded, tmp_path):
    home, case_no = _copy(recorded, tmp_path)
    rows = _log(home, case_no)
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("delete from audit where case_no = ? and seq = 3", (case_no,))
    code, verdict = _verify(home, case_no)
    assert code == 10 and verdict["problem"] == "audit entry 3 is missing: entry 4 follows entry 2"
    shutil.rmtree(home)
    home, case_no = _copy(recorded, tmp_path)
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("delete from audit where case_no = ? and seq = ?", (case_no, len(rows)))
    code, verdict = _verify(home, case_no)
    assert code == 10 and "entries were removed from its end" in verdict["problem"]


def test_two_writers_appending_to_one_case_keep_one_chain(catalogue_url):
    """Appends racing from threads (two workers finishing pages of one case): every entry once, one chain."""
    from concurrent.futures import ThreadPoolExecutor
    from dossier.audit import verify_case
    from storage.catalogue import Catalogue
    catalogue = Catalogue(catalogue_url)
    case_no = "（2026）浙0803民初9号"
    catalogue.open_case(case_no, "civil_first", court=None, tribunal=None, parties=None)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: catalogue.append_audit(case_no, f"k:{n % 20}", "test", "t", {"n": n % 20}),
                                range(40)))
    assert sum(results) == 20
    rows = catalogue.audit_of_case(case_no)
    assert [r["seq"] for r in rows] == list(range(1, 21)) and len({r["key"] for r in rows}) == 20
    assert verify_case(catalogue, None, case_no).ok
