"""Cases opened and moved by the case-management system's events — through the command line and the HTTP API,
some twice, some out of order — and what a case's dossier still lacks for the stage it has reached, said in words,
on real pages read by the pipeline. The working-day calendar behind the scanning deadline."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT

ZONE = dt.timezone(dt.timedelta(hours=8))


def _run(home: Path, *args, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def _json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# the calendar --------------------------------------------------------------------------------------------------
def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


@pytest.mark.parametrize("received, due", [
    ("2026-09-16T10:00", "2026-09-18T00:00"),     # Wednesday: by the end of Thursday
    ("2026-09-18T16:30", "2026-09-21T00:00"),     # Friday: Sunday 20 September is worked (National Day 调休)
    ("2026-09-30T09:00", "2026-10-09T00:00"),     # the National Day holiday, then Friday 9 October
    ("2026-10-03T11:00", "2026-10-09T00:00"),     # received on a holiday: the next working day after it
    ("2026-02-13T12:00", "2026-02-15T00:00"),     # Friday before the Spring Festival: Saturday 14 is worked
])
def test_paper_is_due_scanned_by_the_end_of_the_next_working_day(received, due):
    from dossier.calendar import WorkCalendar
    calendar = WorkCalendar.load()
    assert dt.datetime.fromtimestamp(calendar.deadline(_at(received), 1), ZONE) == dt.datetime.fromisoformat(
        due).replace(tzinfo=ZONE)


def test_a_calendar_file_is_checked_when_loaded(tmp_path):
    from dossier.calendar import WorkCalendar
    bad = tmp_path / "holidays.yaml"
    bad.write_text("holidays:\n  - {from: 2026-10-08, to: 2026-10-01}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="ends before it starts"):
        WorkCalendar.load(bad)


# stage rules ---------------------------------------------------------------------------------------------------
def test_what_each_stage_requires_accumulates_and_one_of_a_choice_is_enough():
    from classify.taxonomy import Taxonomy
    from dossier.calendar import WorkCalendar
    from dossier.progress import StageRules, progress
    taxonomy, calendar = Taxonomy.load(), WorkCalendar.load()
    rules = StageRules.load(None, taxonomy)
    reached = {"FILING": _at("2026-01-05T09:00"), "JUDGMENT": _at("2026-03-02T10:00")}
    held = {"COMPLAINT", "PARTY_ID", "ACCEPT_NOTICE", "RESPONSE_NOTICE", "TRIAL_RECORD", "MEDIATION_DOC"}
    state = progress(rules, taxonomy, calendar, "civil_first", reached, held)
    assert (state.stage, state.complete) == ("JUDGMENT", True)
    state = progress(rules, taxonomy, calendar, "civil_first", {**reached, "SERVICE": _at("2026-03-10T10:00")}, held)
    assert state.missing == ("stage SERVICE since 2026-03-10: no proof of service (送达回证/邮寄送达凭证)",)
    state = progress(rules, taxonomy, calendar, "civil_first", reached, held - {"MEDIATION_DOC"})
    assert state.missing_types == (("JUDGMENT", "RULING", "MEDIATION_DOC", "WITHDRAWAL"),)
    assert rules.stage("裁判") == rules.stage("judgment") == "JUDGMENT"


def test_a_stages_file_naming_an_unknown_document_type_is_refused(tmp_path):
    from dossier.progress import StageRules
    bad = tmp_path / "stages.yaml"
    bad.write_text("requirements:\n  civil_first:\n    FILING: [COMPLAINT, VERDICT_X]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="VERDICT_X"):
        StageRules.load(bad)


# events on every catalogue ----------------------------------------------------------------------------------------
def test_stage_events_keep_the_earliest_time_and_come_twice_harmlessly(catalogue_url):
    from storage.catalogue import Catalogue
    catalogue = Catalogue(catalogue_url)
    case_no = "（2026）浙0803民初55号"
    assert catalogue.open_case(case_no, "civil_first", court=None, tribunal="民一庭", parties=["张三"]) is True
    assert catalogue.open_case(case_no, "civil_first", court="南湖区人民法院", tribunal=None, parties=None) is False
    row = catalogue.case(case_no)
    assert (row["tribunal"], row["court"], row["parties"]) == ("民一庭", "南湖区人民法院", ["张三"])
    assert catalogue.record_stage(case_no, "JUDGMENT", 2000.0, "cms") is True
    assert catalogue.record_stage(case_no, "JUDGMENT", 2000.0, "cms") is False        # the same event again
    assert catalogue.record_stage(case_no, "JUDGMENT", 2500.0, "cms") is False        # later: the first holds
    assert catalogue.record_stage(case_no, "JUDGMENT", 1900.0, "cms") is True         # earlier: it wins
    assert catalogue.record_stage(case_no, "FILING", 1000.0, "cms") is True           # out of order
    assert catalogue.stages_of_case(case_no) == {"FILING": 1000.0, "JUDGMENT": 1900.0}


# end to end: real pages, the command line, the API ------------------------------------------------------------------
@pytest.fixture(scope="module")
def filed(tmp_path_factory):
    """A civil case's filing papers (statement of claim, identity card, notice of acceptance) scanned before the
    case was opened, through `edossier backlog`."""
    from synth.documents import civil_case, make_court
    from synth.render import render_page
    rng = random.Random(2026)
    case = civil_case(rng, make_court(rng), year=2026)
    base = tmp_path_factory.mktemp("cases")
    folder = base / "backlog" / case.case_no
    folder.mkdir(parents=True)
    wanted = [d for d in case.documents if d.type_code in ("COMPLAINT", "PARTY_ID", "ACCEPT_NOTICE")]
    number = 0
    for document in wanted:
        for page in document.pages:
            number += 1
            Image.fromarray(render_page(page).image).save(folder / f"{number:03d}.png", dpi=(300, 300))
    home = base / "home"
    ran = _run(home, "backlog", base / "backlog", "--json")
    assert ran.returncode == 0, ran.stderr
    return home, case.case_no, number


def test_pages_scanned_before_the_case_is_opened_are_kept_and_shown_when_it_opens(filed):
    home, case_no, pages = filed
    before = _json(_run(home, "status", case_no, "--json"))
    assert before["case"]["opened"] is False and before["digitised"] is False
    assert before["missing"][0].startswith("case not opened yet")
    assert before["pages"]["digitised"] == pages
    opened = _run(home, "case", "open", case_no, "--tribunal", "民一庭", "--parties", "原告甲", "--parties", "被告乙")
    assert opened.returncode == 0, opened.stderr
    assert f"{pages} page(s) received for it before are shown with it" in opened.stdout
    after = _json(_run(home, "status", case_no, "--json"))
    assert after["case"]["opened"] is True and after["case"]["tribunal"] == "民一庭"
    assert after["case"]["parties"] == ["原告甲", "被告乙"]
    assert {d["type_code"] for d in after["documents"]} >= {"COMPLAINT", "PARTY_ID", "ACCEPT_NOTICE"}


def test_stage_events_through_the_command_line_say_what_the_dossier_lacks(filed):
    home, case_no, _ = filed
    _run(home, "case", "open", case_no)
    first = _json(_run(home, "case", "event", case_no, "FILING", "--at", "2026-01-05", "--json"))
    assert (first["stage"], first["changed"], first["stage_now"]) == ("FILING", True, "FILING")
    status = _json(_run(home, "status", case_no, "--json"))
    assert status["case"]["stage"] == "FILING" and status["missing"] == [] and status["digitised"] is True
    # the judgment reported before the pretrial stage, and the judgment twice
    assert _json(_run(home, "case", "event", case_no, "裁判", "--at", "2026-03-02T10:00", "--json"))["changed"]
    again = _json(_run(home, "case", "event", case_no, "JUDGMENT", "--at", "2026-03-04", "--json"))
    assert (again["changed"], again["at"]) == (False, "2026-03-02T10:00:00+08:00")
    late = _json(_run(home, "case", "event", case_no, "PRETRIAL", "--at", "2026-02-01", "--json"))
    assert late["stage_now"] == "JUDGMENT"
    status = _json(_run(home, "status", case_no, "--json"))
    assert status["case"]["stage"] == "JUDGMENT" and status["case"]["stage_since"] == "2026-03-02T10:00:00+08:00"
    assert status["missing"] == [
        "stage JUDGMENT since 2026-03-02: no notice to respond (应诉通知书)",
        "stage JUDGMENT since 2026-03-02: no trial transcript (庭审笔录), mediation record (调解笔录/协议) or "
        "withdrawal (撤诉申请书)",
        "stage JUDGMENT since 2026-03-02: no judgment (民事判决书), ruling (民事裁定书), mediation statement "
        "(民事调解书) or withdrawal (撤诉申请书)"]
    assert status["digitised"] is False
    shown = _run(home, "status", case_no)
    assert "missing: stage JUDGMENT since 2026-03-02: no notice to respond (应诉通知书)" in shown.stdout
    refused = _run(home, "case", "event", case_no, "VERDICT")
    assert refused.returncode == 2 and "unknown stage 'VERDICT'" in refused.stderr.replace("\n", " ")


def test_the_case_management_system_pushes_the_same_events_through_the_api(filed, tmp_path):
    from fastapi.testclient import TestClient
    from config.settings import load_settings
    from ingest.auth import create_token
    from ingest.context import build_context
    from ingest.service import create_app
    home, case_no, _ = filed
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))
    cms, device = create_token(ctx.catalogue, "cms-api", "operator"), create_token(ctx.catalogue, "desk-api", "device")
    with TestClient(create_app(ctx, workers=False)) as api:
        auth = {"Authorization": f"Bearer {cms}"}
        other = "（2026）浙0803民初77号"
        made = api.post("/api/v1/cases", json={"case_no": "(2026)浙0803民初77号", "tribunal": "民二庭"}, headers=auth)
        assert made.status_code == 201 and made.json()["case_no"] == other
        assert api.post("/api/v1/cases", json={"case_no": other}, headers=auth).status_code == 200
        for stage, at in (("SERVICE", "2026-04-01T09:00:00+08:00"), ("FILING", "2026-01-10"),
                          ("SERVICE", "2026-04-01T09:00:00+08:00")):
            answer = api.post(f"/api/v1/cases/{other}/events", json={"stage": stage, "at": at}, headers=auth)
            assert answer.status_code == 200, answer.text
        assert answer.json()["changed"] is False and answer.json()["stage_now"] == "SERVICE"
        status = api.get(f"/api/v1/cases/{other}", headers=auth).json()
        assert status["case"]["stage"] == "SERVICE" and status["case"]["tribunal"] == "民二庭"
        assert status["missing"][0] == "stage SERVICE since 2026-04-01: no statement of claim (民事起诉状/口头起诉笔录)"
        assert status["missing_types"][-1] == ["SERVICE_PROOF"]
        bad = api.post(f"/api/v1/cases/{other}/events", json={"stage": "VERDICT"}, headers=auth)
        assert bad.status_code == 422 and bad.json()["code"] == "refused"
        denied = api.post("/api/v1/cases", json={"case_no": other}, headers={"Authorization": f"Bearer {device}"})
        assert denied.status_code == 403
        assert "/api/v1/cases/{case_no}/events" in api.get("/openapi.json").json()["paths"]
        body = {"type": "EVIDENCE", "pages": 7, "from": "王五", "at": "2026-04-02T10:00", "key": "cms-9"}
        first = api.post(f"/api/v1/cases/{other}/receipts", json=body, headers=auth)
        again = api.post(f"/api/v1/cases/{other}/receipts", json=body, headers=auth)
        assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
        pdf = api.get(first.json()["pdf"], headers=auth)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        receipts = api.get(f"/api/v1/cases/{other}", headers=auth).json()["receipts"]
        assert [(r["receipt"], r["pages_received"], r["pages_scanned"]) for r in receipts] == [
            (first.json()["receipt"], 7, 0)]
        found = api.get("/api/v1/alerts", headers=auth).json()
        assert found[0]["kind"] == "overdue" and found[0]["case_no"] == other
        assert found[0]["due"] == "2026-04-04T00:00:00+08:00"        # Thursday 2 April: by the end of Friday
        assert {(a["case_no"], a["kind"]) for a in found[1:]} >= {(other, "missing_documents")}


# receipts: paper received against paper digitised --------------------------------------------------------------
@pytest.fixture(scope="module")
def received(tmp_path_factory):
    """Four pages of evidence registered on a receipt; scanned with the receipt's own sheet on top, one page left
    out and one sheet fed twice (another scan of it: other bytes)."""
    import pypdfium2
    from synth.degrade import degrade, scan_params
    from synth.documents import civil_case, make_court
    from synth.render import render_page
    rng = random.Random(77)
    case = civil_case(rng, make_court(rng), year=2026)
    base = tmp_path_factory.mktemp("receipts")
    home = base / "home"
    made = _json(_run(home, "receive", case.case_no, "--type", "证据材料", "--pages", "4", "--from",
                      "代理人王五 13812345678", "--at", "2026-03-02T15:30", "--out", base / "r.pdf", "--json"))
    sheet = pypdfium2.PdfDocument(str(base / "r.pdf"))[0].render(scale=300 / 72, grayscale=True).to_pil()
    folder = base / "backlog" / case.case_no
    folder.mkdir(parents=True)
    sheet.save(folder / "000.png", dpi=(300, 300))
    pages = [render_page(p).image for d in case.documents for p in d.pages][:4]
    scans = [(pages[0], 1), (pages[1], 2), (pages[1], 3)]          # page 2 fed twice, page 4 left out
    for n, (image, seed) in enumerate(scans, 1):
        Image.fromarray(degrade(image, scan_params(random.Random(seed)))).save(folder / f"{n:03d}.png",
                                                                               dpi=(300, 300))
    ran = _run(home, "backlog", base / "backlog", "--json")
    assert ran.returncode in (0, 4), ran.stderr
    return home, case.case_no, made


def test_a_receipt_is_printed_with_its_code_and_personal_numbers_masked(received):
    home, case_no, made = received
    assert (made["receipt"], made["pages"], made["type_code"], made["new"]) == ("R-1", 4, "EVIDENCE", True)
    assert made["handed_in_by"] == "代理人王五 138****5678"
    assert made["received_at"] == "2026-03-02T15:30:00+08:00"


def test_a_receipt_flags_the_missing_page_and_the_sheet_scanned_twice(received):
    home, case_no, made = received
    status = _json(_run(home, "status", case_no, "--json"))
    receipt = status["receipts"][0]
    assert (receipt["pages_received"], receipt["pages_scanned"], receipt["pages_distinct"]) == (4, 3, 2)
    assert len(receipt["scanned_twice"]) == 1 and receipt["digitised"] is False
    twice = receipt["scanned_twice"][0]
    assert receipt["page_ids"].index(twice["page_id"]) == 2 and receipt["page_ids"].index(twice["same_as"]) == 1
    assert receipt["flags"] == ["receipt R-1: 4 pages received, 2 scanned (3 scanned, 1 of them twice)",
                                f"receipt R-1: page 3 is page 2 scanned again (pages {twice['page_id']} and "
                                f"{twice['same_as']})"]
    assert "receipt R-1: 4 pages received, 2 scanned (3 scanned, 1 of them twice)" in status["missing"]
    assert status["pages"]["separator"] == 1 and status["digitised"] is False
    shown = _run(home, "status", case_no)
    assert "missing: receipt R-1: 4 pages received, 2 scanned" in shown.stdout


def test_paper_handed_in_later_on_its_own_receipt_is_counted_there_alone(received, tmp_path):
    """The page left out, handed in later on a receipt of its own and scanned under that receipt's sheet: the new
    receipt is digitised, and the first one keeps its flags (its pages are not mixed up with the new ones)."""
    home, case_no, made = received
    import pypdfium2
    from synth.degrade import degrade, scan_params
    from synth.documents import civil_case, make_court
    from synth.render import render_page
    rng = random.Random(77)
    case = civil_case(rng, make_court(rng), year=2026)
    folder = tmp_path / "again" / case_no
    folder.mkdir(parents=True)
    status = _json(_run(home, "status", case_no, "--json"))
    sheet = _run(home, "receive", case_no, "--type", "EVIDENCE", "--pages", "1", "--out", tmp_path / "r2.pdf")
    assert sheet.returncode == 0, sheet.stderr
    first = pypdfium2.PdfDocument(str(tmp_path / "r2.pdf"))[0].render(scale=300 / 72, grayscale=True).to_pil()
    first.save(folder / "000.png", dpi=(300, 300))
    page = [render_page(p).image for d in case.documents for p in d.pages][3]
    Image.fromarray(degrade(page, scan_params(random.Random(4)))).save(folder / "001.png", dpi=(300, 300))
    ran = _run(home, "backlog", tmp_path / "again", "--json")
    assert ran.returncode in (0, 4), ran.stderr
    after = _json(_run(home, "status", case_no, "--json"))
    second = after["receipts"][1]
    assert (second["receipt"], second["pages_scanned"], second["digitised"]) == ("R-2", 1, True)
    assert after["receipts"][0]["pages_distinct"] == status["receipts"][0]["pages_distinct"]


def test_paper_not_digitised_by_its_deadline_is_an_alert(received):
    home, case_no, made = received
    found = _json(_run(home, "alerts", "--json"))
    assert [(a["case_no"], a["kind"], a["receipt"], a["due"]) for a in found] == [
        (case_no, "overdue", "R-1", "2026-03-04T00:00:00+08:00")]       # Monday 2 March: by the end of Tuesday
    assert found[0]["reasons"][0] == "receipt R-1: 4 pages received, 2 scanned (3 scanned, 1 of them twice)"
    shown = _run(home, "alerts")
    assert f"{case_no} R-1: overdue since 2026-03-04T00:00" in shown.stdout
