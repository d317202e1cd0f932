"""Kiosk filings as the flow (ingest/filings.py) makes them, below the pages: an enforcement filing pre-filled from
its application's OCR text, a case number of the wrong family refused, acceptance interrupted half way and done
again without a page filed twice, two judges accepting one filing at once, then a worker files the pages into the
case in binding order."""
from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw

from servers import ROOT, page_png

COURT = "山东省安和市河西区人民法院"
CASE_NO = "（2026）鲁0507执88号"


@pytest.fixture
def ctx(home):
    from config.settings import load_settings
    from ingest.context import build_context
    settings = load_settings(env={"EDOSSIER_HOME": str(home)})
    settings = settings.model_copy(update={"kiosk": settings.kiosk.model_copy(update={"courts": [COURT]})})
    return build_context(settings)


@pytest.fixture(scope="module")
def paper():
    from synth.documents import enforcement_case, make_court
    case = enforcement_case(random.Random(3), make_court(random.Random(3)))
    application = next(d for d in case.documents if d.type_code == "ENF_APPLICATION")
    ruling = next(d for d in case.documents if d.type_code == "ENF_RULING")
    return {"application": [page_png(p) for p in application.pages], "basis": page_png(ruling.pages[0]),
            "text": "\n".join(line.text for p in application.pages for line in p.lines)}


def signature() -> bytes:
    image = Image.new("RGBA", (800, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(40, 100), (300, 60), (600, 150)], fill=(20, 20, 20, 255), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def submitted(ctx, paper) -> dict:
    from devices.idcard import synthetic_card
    from ingest import filings
    card = synthetic_card(5)
    filing = filings.begin(ctx, "kiosk-1")
    filings.set_identity(ctx, filing["id"], name=card["name"], number=card["number"], source="card")
    filings.set_what(ctx, filing["id"], kind="enforcement", court=COURT, cause="民间借贷纠纷")
    filings.accept_notice(ctx, filing["id"])
    for png in paper["application"]:
        filings.add_page(ctx, filing["id"], png, material="ENF_APPLICATION", source="adf")
    filings.add_page(ctx, filing["id"], paper["basis"], material="ENF_BASIS", source="camera")
    form = {f["name"]: f for f in filings.read_form(ctx, filing["id"])}
    assert form["plaintiff"]["prefilled"] and form["plaintiff"]["value"] in paper["text"]
    assert form["defendant"]["prefilled"] and form["defendant"]["value"] in paper["text"]
    filings.save_form(ctx, filing["id"], {name: f["value"] or "—" for name, f in form.items()})
    with pytest.raises(filings.FilingRefused, match="sign"):
        filings.submit(ctx, filing["id"], b"\x89PNG\r\n\x1a\n")
    return filings.submit(ctx, filing["id"], signature())


def test_an_enforcement_filing_accepted_after_an_interrupted_acceptance_files_each_page_once(ctx, paper,
                                                                                             monkeypatch, home):
    from ingest import filings, pipeline
    filing = submitted(ctx, paper)
    assert filing["state"] == "submitted" and len(filing["code"]) == 8
    with pytest.raises(filings.FilingRefused, match="not a case number for a enforcement"):
        filings.accept(ctx, filing["id"], "（2026）鲁0507民初88号", "judge.wang")

    real_accept, calls = pipeline.accept, []

    def crash_on_the_third_page(*args, **kwargs):     # the catalogue goes away half way through the filing
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionError("the catalogue went away")
        return real_accept(*args, **kwargs)
    monkeypatch.setattr(pipeline, "accept", crash_on_the_third_page)
    with pytest.raises(ConnectionError):
        filings.accept(ctx, filing["id"], CASE_NO, "judge.wang")
    monkeypatch.undo()
    halfway = ctx.catalogue.filing(filing["id"])
    assert (halfway["state"], halfway["case_no"]) == ("accepting", CASE_NO)
    with pytest.raises(filings.FilingRefused, match="not waiting"):         # its pages are in a case already
        filings.refuse(ctx, filing["id"], "不属于本院管辖", "judge.li")
    with pytest.raises(filings.FilingRefused, match="not filed under"):
        filings.accept(ctx, filing["id"], "（2026）鲁0507执89号", "judge.li")
    done = filings.accept(ctx, filing["id"], CASE_NO, "judge.wang")       # done again: where it stopped
    again = filings.accept(ctx, filing["id"], CASE_NO, "judge.wang")      # a judge's second click
    assert done["state"] == again["state"] == "accepted" and done["stack_id"] == again["stack_id"]
    entries = ctx.catalogue.entries_of_stack(done["stack_id"])
    assert len(entries) == 3 + 2                 # three pages, two receipt sheets: nothing twice
    assert [r["type_code"] for r in ctx.catalogue.receipts_of_case(CASE_NO)] == ["ENF_APPLICATION", "ENF_BASIS"]

    burst = subprocess.run([sys.executable, "-m", "ingest", "worker", "--burst"], cwd=ROOT, capture_output=True,
                           text=True, env={**__import__("os").environ, "EDOSSIER_HOME": str(home)}, timeout=600)
    assert burst.returncode == 0, burst.stderr
    from ingest.reports import case_status
    status = case_status(ctx, CASE_NO)
    types = [d["type_code"] for d in status["documents"]]
    assert "ENF_APPLICATION" in types and sum(d["pages"] for d in status["documents"]) == 3, status["documents"]
    assert all(r["pages_received"] == r["pages_scanned"] for r in status["receipts"]), status["receipts"]
    trail = [e["kind"] for e in ctx.catalogue.audit_of_case(CASE_NO)]
    assert "kiosk filing accepted" in trail


def test_two_judges_accepting_one_filing_at_once_file_it_under_one_case_only(ctx, paper):
    import threading

    from ingest import filings
    filing = submitted(ctx, paper)
    numbers, outcomes = ["（2026）鲁0507执91号", "（2026）鲁0507执92号"], {}

    def judge(number: str) -> None:
        try:
            outcomes[number] = filings.accept(ctx, filing["id"], number, f"judge-{number[-4:-1]}")["case_no"]
        except filings.FilingRefused as exc:
            outcomes[number] = str(exc)
    threads = [threading.Thread(target=judge, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [n for n in numbers if outcomes[n] == n]
    assert len(won) == 1, outcomes
    lost = next(n for n in numbers if n not in won)
    assert "not filed under" in outcomes[lost]
    assert ctx.catalogue.receipts_of_case(lost) == [] and ctx.catalogue.case(lost) is None
