"""End to end through the HTTP API alone, as a court's case-management system and a scanning desk use it — the
scenario of test_corrections.py, which goes through the command line. A real `edossier serve` (with its in-process
workers and real tesseract): the case-management system opens a synthetic civil case and reports its filing
(twice, once out of order) and registers the paper handed in on a receipt; the scanning desk uploads one stack, the
receipt's own sheet on top, with one page missing, one sheet fed twice (another scan: other bytes) and a notice whose
title line did not print. The exact flags, the figures and the alerts are read back; then an operator corrects
everything through POST /corrections, the page left out is scanned later under the same receipt's sheet and merged
in, and everything turns green: documents, receipt, figures, the corrections' history and the case's audit chain."""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest
from PIL import Image

from conftest import ROOT
from scenario import (HANDED_IN, FLAGGED_FIGURES, check_flagged, check_green, green_figures, handed_in_later,
                      handed_in_pages, misfiled)
from servers import Service

CMS, DESK = "cms-e2e", "desk-e2e"              # the case-management system, an operator; the scanning desk, a device


def _png(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()


def _scan(image, seed: int) -> bytes:
    """A page as a scanner gives it: through a degraded scan of its own (other seed, other bytes)."""
    from synth.degrade import degrade, scan_params
    return _png(degrade(image, scan_params(random.Random(seed))))


def _sheet(pdf: bytes, seed: int | None = None) -> bytes:
    """The receipt's first page rendered at 300 dpi: as printed, or through another scan with a seed."""
    import numpy as np
    import pypdfium2
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")
    return _png(np.asarray(image)) if seed is None else _scan(np.asarray(image), seed)


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """The service as its clients call it: one token each, JSON answers, the case number percent-encoded."""

    def __init__(self, url: str, cms: str, desk: str, case_no: str):
        self.url, self.cms, self.desk, self.case = url, _auth(cms), _auth(desk), f"{url}/api/v1/cases/{quote(case_no)}"

    def get(self, path: str, headers: dict | None = None, **params) -> httpx.Response:
        return httpx.get(path if path.startswith("http") else f"{self.url}/api/v1{path}",
                         headers=headers or self.cms, params=params or None, timeout=60)

    def post(self, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
        return httpx.post(path if path.startswith("http") else f"{self.url}/api/v1{path}", json=body,
                          headers=headers or self.cms, timeout=300)

    def status(self) -> dict:
        answer = self.get(self.case)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def figures(self) -> dict:
        answer = self.get("/report")
        assert answer.status_code == 200, answer.text
        return {name: (f["numerator"], f["denominator"]) for name, f in answer.json()["court"]["figures"].items()}

    def correct(self, **body) -> dict:
        answer = self.post("/corrections", body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def scan_stack(self, case_no: str, files: list[bytes], limit: float = 300) -> dict:
        """The scanning desk's session: open a stack for the case, upload each file at its position, close it,
        and read the stack until every page is read, filed and the case's dossier built."""
        opened = self.post("/stacks", {"case_no": case_no, "device": "desk-scanner"}, headers=self.desk)
        assert opened.status_code == 201, opened.text
        stack = opened.json()["id"]
        for seq, data in enumerate(files):
            sent = httpx.post(f"{self.url}/api/v1/stacks/{stack}/files", headers=self.desk, timeout=60,
                              files={"file": (f"{seq:03d}.png", data, "image/png")}, data={"seq": str(seq)})
            assert sent.status_code == 201, sent.text
            assert sent.json()["sha256"] == hashlib.sha256(data).hexdigest() and "duplicate_of" not in sent.json()
        assert self.post(f"/stacks/{stack}/close", {}, headers=self.desk).status_code == 200
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            state = self.get(f"/stacks/{stack}", headers=self.desk).json()
            if state["state"] == "closed" and state["settled"]:
                assert state["pages"]["done"] == len(files) and state["pages"]["failed"] == 0, state
                return state
            time.sleep(0.5)
        raise AssertionError(f"stack {stack} never settled: {state}")


@pytest.fixture(scope="module")
def case():
    from synth.documents import civil_case, make_court
    rng = random.Random(41)
    return civil_case(rng, make_court(rng), year=2026)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from config.settings import load_settings
    from ingest.auth import create_token
    from ingest.context import build_context
    base = tmp_path_factory.mktemp("e2e-api")
    home, config = base / "home", base / "settings.yaml"
    config.write_text("dossier:\n  rebuild_every_s: 1\n", encoding="utf-8")
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(config)}))
    tokens = {CMS: create_token(ctx.catalogue, CMS, "operator"), DESK: create_token(ctx.catalogue, DESK, "device")}
    ctx.catalogue.dispose()
    running = Service(home, config).start()
    yield running, tokens
    running.stop()


@pytest.fixture(scope="module")
def filed(service, case):
    """Steps 1 to 3: the case opened and its filing reported, the paper received, the first stack scanned."""
    svc, tokens = service
    api = Api(svc.url, tokens[CMS], tokens[DESK], case.case_no)
    opened = api.post("/cases", {"case_no": case.case_no, "tribunal": "民一庭"})
    events = [api.post(f"{api.case}/events", {"stage": "FILING", "at": at})
              for at in ("2026-03-02T15:00", "2026-03-02T09:00", "2026-03-02T09:00")]
    receipt = api.post(f"{api.case}/receipts", {"type": "COMPLAINT", "pages": 4, "from": "原告顾敏",
                                                "at": "2026-03-02T10:00"})
    assert receipt.status_code == 201, receipt.text
    pdf = api.get(f"{svc.url}{receipt.json()['pdf']}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = handed_in_pages(case)
    first = [_sheet(pdf.content)] + [_scan(pages[name], seed) for name, seed in HANDED_IN]
    stack = api.scan_stack(case.case_no, first)              # claim page 2 left out, claim page 1 twice
    return {"api": api, "case_no": case.case_no, "opened": opened, "events": events, "receipt": receipt,
            "pdf": pdf.content, "pages": pages, "stack": stack, "home": svc.home, "config": svc.config}


def test_the_case_management_system_opens_the_case_reports_its_filing_and_registers_the_paper(filed):
    opened, events, receipt = filed["opened"], filed["events"], filed["receipt"]
    assert opened.status_code == 201 and opened.json()["opened"] is True
    assert opened.json()["case_no"] == filed["case_no"]
    assert [e.status_code for e in events] == [200, 200, 200]
    assert [(e.json()["stage"], e.json()["changed"], e.json()["at"], e.json()["stage_now"]) for e in events] == [
        ("FILING", True, "2026-03-02T15:00:00+08:00", "FILING"),
        ("FILING", True, "2026-03-02T09:00:00+08:00", "FILING"),          # earlier: it wins
        ("FILING", False, "2026-03-02T09:00:00+08:00", "FILING")]         # the same event again: nothing changes
    made = receipt.json()
    assert (made["receipt"], made["pages"], made["type_code"], made["new"]) == ("R-1", 4, "COMPLAINT", True)
    assert made["received_at"] == "2026-03-02T10:00:00+08:00"
    assert filed["pdf"].startswith(b"%PDF")
    assert filed["stack"]["pages"]["done"] == 5 and len(filed["stack"]["files"]) == 5


def test_the_errors_are_flagged_exactly_and_the_figures_and_alerts_count_them(filed):
    api = filed["api"]
    status = api.status()
    check_flagged(status)
    assert status["case"]["tribunal"] == "民一庭" and status["pages"]["separator"] == 1
    assert api.figures() == FLAGGED_FIGURES
    alerts = api.get("/alerts")
    assert alerts.status_code == 200, alerts.text
    mine = [a for a in alerts.json() if a["case_no"] == filed["case_no"]]
    assert [(a["kind"], a.get("receipt"), a.get("due")) for a in mine] == [
        ("overdue", "R-1", "2026-03-04T00:00:00+08:00"),             # Monday 2 March: by the end of Tuesday 3 March
        ("missing_documents", None, None)]
    assert mine[0]["reasons"] == status["receipts"][0]["flags"] == status["missing"][1:]
    assert mine[1]["reasons"] == status["missing"][:1]


def test_corrected_through_the_api_everything_turns_green(filed, case):
    api = filed["api"]
    status = api.status()
    duplicate = status["receipts"][0]["scanned_twice"][0]["page_id"]
    denied = api.post("/corrections", {"kind": "remove", "page": duplicate, "reason": "x"}, headers=api.desk)
    assert denied.status_code == 403                                  # a scanner's token corrects nothing
    removed = api.correct(kind="remove", page=duplicate, reason="the same sheet scanned twice")
    assert (removed["kind"], removed["by"], removed["detail"]["page"]) == ("remove", f"api:{CMS}", duplicate)
    holder, notice_page = misfiled(status)
    card = status["documents"][2]
    split = api.correct(kind="split", document=holder["id"], page=notice_page)
    assert split["kind"] == "split"
    after_split = api.status()
    notice_doc = next(d for d in after_split["documents"] if d["page_ids"] == [notice_page])
    typed = api.correct(kind="type", document=notice_doc["id"], type="受理案件通知书")
    assert typed["detail"]["type_code"] == "ACCEPT_NOTICE"
    assert api.status()["missing"] == [            # the notice is there, the duplicate gone; claim page 2 is not
        "receipt R-1: 4 pages received, 3 scanned"]

    # the page left out, handed in later: scanned under the same receipt's sheet (scanned again: other bytes)
    api.scan_stack(filed["case_no"], [_sheet(filed["pdf"], seed=6), _scan(filed["pages"]["claim2"], 5)])
    later = api.status()
    claim = next(d for d in later["documents"] if d["type_code"] == "COMPLAINT" and len(d["page_ids"]) == 1
                 and d["page_ids"][0] < notice_page)
    loose = handed_in_later(status, later)
    merged = api.correct(kind="merge", document=claim["id"], other=loose["id"])
    assert merged["kind"] == "merge"

    final = api.status()
    check_green(final, claim, loose, card, notice_page)
    assert len(claim["page_ids"] + loose["page_ids"]) == 2 and final["review"] == []
    receipt = final["receipts"][0]
    assert receipt["scanned_twice"] == [] and len(final["receipts"]) == 1
    assert final["pages"]["separator"] == 2
    documents = final["documents"]
    assert api.figures() == green_figures(documents)
    assert [a for a in api.get("/alerts").json() if a["case_no"] == filed["case_no"]] == []
    history = api.get(f"{api.case}/corrections")
    assert history.status_code == 200, history.text
    assert [(c["kind"], c["by"], c["id"]) for c in history.json()] == [
        ("remove", f"api:{CMS}", removed["id"]), ("split", f"api:{CMS}", split["id"]),
        ("type", f"api:{CMS}", typed["id"]), ("merge", f"api:{CMS}", merged["id"])]
    manifest = api.get(f"{api.case}/manifest.json")
    assert manifest.status_code == 200, manifest.text
    assert sorted((v["volume"], d["type_code"], d["last_page"] - d["first_page"] + 1)
                  for v in manifest.json()["volumes"] for d in v["documents"]) == sorted(
        (d["volume"], d["type_code"], d["pages"]) for d in documents)           # the dossier as corrected

    env = {**os.environ, "EDOSSIER_HOME": str(filed["home"]), "EDOSSIER_CONFIG": str(filed["config"])}
    verified = subprocess.run([sys.executable, "-m", "ingest", "verify", filed["case_no"], "--json"],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    from config.settings import load_settings
    from ingest.context import build_context
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(filed["home"]),
                                           "EDOSSIER_CONFIG": str(filed["config"])}))
    audit = ctx.catalogue.audit_of_case(filed["case_no"])
    ctx.catalogue.dispose()
    corrections = [(r["actor"], json.loads(r["detail"])["kind"]) for r in audit if r["kind"] == "correction"]
    assert corrections == [(f"api:{CMS}", kind) for kind in ("remove", "split", "type", "merge")]
