"""The court's figures (`edossier report`), from what each case carries as proof, on SQLite and on PostgreSQL: a
catalogue holding cases of two tribunals, in and out of the period, each figure counted by hand from the rows; and
the HTML report opened in a real Chromium, its figures read off the page and compared with the JSON."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from shared import missing
from sqlalchemy import insert

from conftest import ROOT
from storage.catalogue import Catalogue, archives, case_events, cases, documents, receipts, volumes

ZONE = dt.timezone(dt.timedelta(hours=8))
CHROMIUM = Path("/usr/bin/chromium")
CIVIL = "（2026）浙0803民初{}号"


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


# case: tribunal, opened, closed (JUDGMENT), volume built, digitised, usable, pages (received, scanned),
#       documents (total, corrected), receipts [(received, due, digitised)], archive (digitised at archiving)
CASES = {
    1: ("民一庭", "2026-03-02", "2026-03-20", True, True, True, (10, 10), (5, 1),
        [("2026-03-02T10:00", "2026-03-04", "2026-03-03T09:00"), ("2026-03-09T10:00", "2026-03-11", "2026-03-12")],
        True),
    2: ("民一庭", "2026-03-03", None, False, False, False, (4, 2), (2, 0),
        [("2026-03-30T10:00", "2099-01-01", None), ("2026-03-03T10:00", "2026-03-05", None)], None),
    3: ("民二庭", "2026-03-10", "2026-03-25", True, True, False, (6, 6), (3, 0),
        [("2026-03-10T11:00", "2026-03-12", "2026-03-11")], False),
    4: ("民二庭", "2026-01-05", "2026-03-05", True, False, False, (8, 7), (4, 2), [], None),   # closed in the period
    5: ("民二庭", "2026-05-01", None, True, True, True, (3, 3), (1, 0), [], None),               # after the period
}


@pytest.fixture
def court(catalogue_url, tmp_path):
    """The cases above in a catalogue, on each implementation."""
    return _court(catalogue_url, tmp_path)


@pytest.fixture
def court_on_sqlite(tmp_path):
    return _court(f"sqlite:///{tmp_path / 'catalogue.sqlite3'}", tmp_path)


def _court(url: str, tmp_path: Path) -> dict:
    """A catalogue holding the cases above, and a case with pages that was never opened; the command's
    environment pointing to it."""
    catalogue = Catalogue(url)
    stack = catalogue.open_stack(kind="upload", client="test")
    with catalogue.writer.begin() as conn:
        for n, (tribunal, opened, closed, built, digitised, usable, (got, read), (docs, fixed), paper, packed) \
                in CASES.items():
            case_no = CIVIL.format(n)
            conn.execute(insert(cases).values(case_no=case_no, family="civil_first", created_at=at(opened + "T08:00"),
                                              version=1, assembled_version=1, tribunal=tribunal,
                                              opened_at=at(opened + "T08:00"), pages_received=got, pages_scanned=read,
                                              digitised=digitised, usable=usable, settled_at=at(opened + "T09:00")))
            conn.execute(insert(case_events).values(case_no=case_no, stage="FILING", at=at(opened + "T08:00"),
                                                    recorded_at=0, client="cms"))
            if closed:
                for stage, day in (("JUDGMENT", closed), ("SERVICE", "2026-06-01")):
                    conn.execute(insert(case_events).values(case_no=case_no, stage=stage, at=at(day + "T15:00"),
                                                            recorded_at=0, client="cms"))
            if built:
                conn.execute(insert(volumes).values(case_no=case_no, volume="ZJ", blob_key="0" * 64, pdf_pages=got,
                                                    built_at=0))
            for d in range(docs):
                conn.execute(insert(documents).values(case_no=case_no, volume="ZJ", type_code="EVIDENCE",
                                                      title="证据", confidence=0.9, review=False, stack_id=stack.id,
                                                      received_order=d, created_at=0, corrected=d < fixed))
            for received_at, due, done in paper:
                conn.execute(insert(receipts).values(case_no=case_no, type_code="EVIDENCE", pages=2,
                                                     received_at=at(received_at), client="test",
                                                     due_at=at(due + "T00:00"),
                                                     digitised_at=at(done if "T" in done else done + "T10:00")
                                                     if done else None))
            if packed is not None:
                conn.execute(insert(archives).values(case_no=case_no, archived_at=at("2026-03-28T10:00"),
                                                     actor="档案员", forced=False, digitised=packed,
                                                     manifest_sha256="0" * 64, path="/archive"))
        conn.execute(insert(cases).values(case_no=CIVIL.format(9), family="civil_first", created_at=0, version=1,
                                          assembled_version=0))          # pages only: the case is not opened
    catalogue.dispose()
    home = tmp_path / "home"
    return {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CATALOGUE": url, "COLUMNS": "200"}


def report(env: dict, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "report", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def figures(block: dict) -> dict:
    return {name: (f["numerator"], f["denominator"]) for name, f in block["figures"].items()}


def test_every_figure_per_tribunal_and_court_wide_is_counted_from_the_records(court):
    ran = report(court, "--from", "2026-03-01", "--to", "2026-03-31", "--json")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert [c["case_no"] for c in data["cases"]] == [CIVIL.format(n) for n in (1, 2, 3, 4)]
    by_tribunal = {t["tribunal"]: figures(t) for t in data["tribunals"]}
    # 民一庭: cases 1 and 2. Case 2's first receipt is not due yet and not digitised: not counted either way.
    assert by_tribunal["民一庭"] == {
        "coverage": (1, 2), "digitisation_cases": (1, 2), "digitisation_pages": (12, 14), "timeliness": (1, 3),
        "usability": (1, 1), "cataloguing_accuracy": (6, 7), "single_set_archiving": (1, 1)}
    # 民二庭: case 3 (archived while not digitised: not single-set) and case 4 (opened before, closed in the period)
    assert by_tribunal["民二庭"] == {
        "coverage": (2, 2), "digitisation_cases": (1, 2), "digitisation_pages": (13, 14), "timeliness": (1, 1),
        "usability": (0, 2), "cataloguing_accuracy": (5, 7), "single_set_archiving": (0, 2)}
    assert figures(data["court"]) == {
        "coverage": (3, 4), "digitisation_cases": (2, 4), "digitisation_pages": (25, 28), "timeliness": (2, 4),
        "usability": (1, 3), "cataloguing_accuracy": (11, 14), "single_set_archiving": (1, 3)}
    assert data["court"]["figures"]["digitisation_pages"]["value"] == round(25 / 28, 4)
    assert [(w["week"], w["cases"]) for w in data["weeks"]] == [("2026-W10", 2), ("2026-W11", 1)]
    assert set(data["definitions"]) == set(data["court"]["figures"])


def test_one_tribunal_and_the_definitions_printed_beside_the_figures(court):
    ran = report(court, "--from", "2026-03-01", "--to", "2026-03-31", "--tribunal", "民二庭", "--json")
    data = json.loads(ran.stdout)
    assert [t["tribunal"] for t in data["tribunals"]] == ["民二庭"] and data["court"]["cases"] == 2
    shown = report(court, "--from", "2026-03-01", "--to", "2026-03-31")
    assert shown.returncode == 0, shown.stderr
    assert "75.00 % 电子卷宗覆盖率 coverage (3 ÷ 4)" in shown.stdout
    assert "= closed cases archived electronically only" in shown.stdout
    everything = json.loads(report(court, "--json").stdout)
    assert everything["court"]["cases"] == 5                         # to today: case 5 too, never the unopened one
    wrong = report(court, "--from", "2026-04-01", "--to", "2026-03-01")
    assert wrong.returncode == 2 and "before" in wrong.stderr


def test_the_html_report_shows_in_chromium_the_figures_of_the_json(court_on_sqlite, tmp_path):
    court = court_on_sqlite
    page_file = tmp_path / "figures.html"
    ran = report(court, "--from", "2026-03-01", "--to", "2026-03-31", "--html", page_file, "--json")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    shown, errors = _read_page(page_file)
    assert errors == []
    expected = {f"court.{name}": f["value"] for name, f in data["court"]["figures"].items()}
    for index, block in enumerate(data["tribunals"]):
        expected |= {f"tribunals.{index}.{name}": f["value"] for name, f in block["figures"].items()}
    for index, block in enumerate(data["weeks"]):
        expected |= {f"weeks.{index}.{name}": f["value"] for name, f in block["figures"].items()
                     if name in ("coverage", "digitisation_cases", "timeliness") and f["value"] is not None}
    for index, block in enumerate(data["cases"]):
        expected |= {f"cases.{index}.{name}": f["value"] for name, f in block["figures"].items()}
    assert set(shown) == set(expected)
    for key, value in expected.items():
        for text, raw, height in shown[key]:
            assert (float(raw) if raw else None) == value, key
            if text:                       # a figure written out: as a percentage of the same value
                assert text == ("—" if value is None else f"{value * 100:.2f} %"), key
            if height is not None:         # a bar: its height is the value, 160 px for 100 %
                assert abs(height - (value or 0) * 160) < 0.2, key
    assert shown["court.coverage"][0][0] == "75.00 %"


def _read_page(page_file: Path) -> tuple[dict, list[str]]:
    """Every element carrying a figure (its text, data-value, and a bar's height), and the script errors."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python", "pip install -e '.[test]' installs it")
    if not CHROMIUM.exists():
        missing("Chromium", "scripts/setup.sh --test installs Debian's chromium")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(page_file.as_uri())
        page.wait_for_function("() => document.body.dataset.ready === 'yes'", timeout=30_000)
        page.click("#tribunals th:nth-child(3)")                 # the sort works: no error, rows still there
        found = page.evaluate("""() => Array.from(document.querySelectorAll('[data-figure]')).map(e => [
            e.dataset.figure, e instanceof SVGElement ? '' : e.textContent.trim(), e.dataset.value,
            e.tagName.toLowerCase() === 'rect' ? e.getBBox().height : null])""")
        browser.close()
    shown: dict[str, list] = {}
    for key, text, raw, height in found:
        shown.setdefault(key, []).append((text, raw, height))
    return shown, errors


def test_the_api_answers_the_same_figures_and_the_page(court):
    from fastapi.testclient import TestClient

    from config.settings import load_settings
    from ingest.auth import create_token
    from ingest.context import build_context
    from ingest.service import create_app
    ctx = build_context(load_settings(env={k: court[k] for k in ("EDOSSIER_HOME", "EDOSSIER_CATALOGUE")}))
    leader, device = create_token(ctx.catalogue, "leader", "operator"), create_token(ctx.catalogue, "desk", "device")
    cli = json.loads(report(court, "--from", "2026-03-01", "--to", "2026-03-31", "--json").stdout)
    with TestClient(create_app(ctx, workers=False)) as api:
        auth = {"Authorization": f"Bearer {leader}"}
        answer = api.get("/api/v1/report", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["court"] == cli["court"] and answer.json()["tribunals"] == cli["tribunals"]
        page = api.get("/api/v1/report.html", params={"from": "2026-03-01", "to": "2026-03-31",
                                                      "tribunal": "民一庭"}, headers=auth)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'data-figure="court.coverage" data-value="0.5"' in page.text
        bad = api.get("/api/v1/report", params={"from": "March"}, headers=auth)
        assert bad.status_code == 422 and bad.json()["code"] == "refused"
        assert api.get("/api/v1/report", headers={"Authorization": f"Bearer {device}"}).status_code == 403
    ctx.catalogue.dispose()
