"""End to end on a synthetic civil case, through the command line and the HTTP API: the case opened and moved by
events (one twice, one out of order), its paper registered on a receipt and scanned with one page missing, one sheet
fed twice (another scan of it: other bytes) and a notice whose title line did not print, so it is filed as a page of
the document before it. The exact flags, the status text, the figures and the audit chain are checked; then the
errors are corrected — the duplicate removed, the notice split off and typed (through the API), the missing page
scanned later on the same receipt and merged into its document — and everything turns green. Filing the stacks
again afterwards changes nothing: a classification never undoes a person's correction."""
from __future__ import annotations

import getpass
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT
from scenario import (HANDED_IN, FLAGGED_FIGURES, check_flagged, check_green, green_figures, handed_in_later,
                      handed_in_pages, misfiled)

USER = f"cli:{getpass.getuser()}"


def _run(home: Path, *args, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDOSSIER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def _json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _scan(image, seed: int, path: Path) -> None:
    from synth.degrade import degrade, scan_params
    Image.fromarray(degrade(image, scan_params(random.Random(seed)))).save(path, dpi=(300, 300))


def _sheet(pdf: Path, path: Path, seed: int | None = None) -> None:
    """The receipt's sheet as scanned: as rendered, or through another scan (other bytes) with a seed."""
    import numpy as np
    import pypdfium2
    image = pypdfium2.PdfDocument(str(pdf))[0].render(scale=300 / 72, grayscale=True).to_pil()
    if seed is None:
        image.save(path, dpi=(300, 300))
    else:
        _scan(np.asarray(image.convert("L")), seed, path)


@pytest.fixture(scope="module")
def case():
    from synth.documents import civil_case, make_court
    rng = random.Random(41)
    return civil_case(rng, make_court(rng), year=2026)


@pytest.fixture(scope="module")
def scanned(case, tmp_path_factory):
    base = tmp_path_factory.mktemp("corrections")
    home, number = base / "home", case.case_no
    assert _json(_run(home, "case", "open", number, "--tribunal", "民一庭", "--json"))["opened"] is True
    for stage, at in (("FILING", "2026-03-02T15:00"), ("FILING", "2026-03-02T09:00"), ("FILING", "2026-03-02T09:00")):
        _json(_run(home, "case", "event", number, stage, "--at", at, "--json"))
    receipt = _json(_run(home, "receive", number, "--type", "COMPLAINT", "--pages", "4", "--from", "原告顾敏",
                         "--at", "2026-03-02T10:00", "--out", base / "r1.pdf", "--json"))
    pages = handed_in_pages(case)
    folder = base / "first" / number
    folder.mkdir(parents=True)
    _sheet(base / "r1.pdf", folder / "000.png")
    for n, (name, seed) in enumerate(HANDED_IN, 1):
        _scan(pages[name], seed, folder / f"{n:03d}.png")            # claim page 2 left out, claim page 1 twice
    ran = _run(home, "backlog", base / "first", "--json")
    assert ran.returncode in (0, 4), ran.stderr
    return {"home": home, "base": base, "case_no": number, "receipt": receipt, "pages": pages}


def _status(scanned) -> dict:
    return _json(_run(scanned["home"], "status", scanned["case_no"], "--json"))


def _report(scanned) -> dict:
    data = _json(_run(scanned["home"], "report", "--json"))
    return {name: (f["numerator"], f["denominator"]) for name, f in data["court"]["figures"].items()}


def test_the_errors_are_flagged_exactly_and_the_figures_count_them(scanned):
    check_flagged(_status(scanned))
    assert _report(scanned) == FLAGGED_FIGURES


def test_corrected_through_the_cli_and_the_api_everything_turns_green(scanned):
    home, number = scanned["home"], scanned["case_no"]
    status = _status(scanned)
    receipt = status["receipts"][0]
    duplicate = receipt["scanned_twice"][0]["page_id"]
    removed = _json(_run(home, "correct", "remove", duplicate, "--reason", "the same sheet scanned twice", "--json"))
    assert removed["kind"] == "remove" and removed["by"] == USER
    holder, notice_page = misfiled(status)
    card = status["documents"][2]
    _json(_run(home, "correct", "split", holder["id"], "--at", notice_page, "--json"))
    split = _status(scanned)
    notice_doc = next(d for d in split["documents"] if d["page_ids"] == [notice_page])
    _api_type(home, notice_doc["id"], "受理案件通知书")

    # the page left out, handed in later: scanned under the same receipt's sheet, then merged into its document
    folder = scanned["base"] / "later" / number
    folder.mkdir(parents=True)
    _sheet(scanned["base"] / "r1.pdf", folder / "000.png", seed=6)    # the same sheet, scanned again
    _scan(scanned["pages"]["claim2"], 5, folder / "001.png")
    assert _run(home, "backlog", scanned["base"] / "later", "--json").returncode in (0, 4)
    later = _status(scanned)
    claim = next(d for d in later["documents"] if d["type_code"] == "COMPLAINT" and len(d["page_ids"]) == 1
                 and d["page_ids"][0] < notice_page)
    loose = handed_in_later(status, later)
    _json(_run(home, "correct", "merge", claim["id"], loose["id"], "--json"))

    final = _status(scanned)
    check_green(final, claim, loose, card, notice_page)
    assert _report(scanned) == green_figures(final["documents"])
    history = _json(_run(home, "correct", "list", number, "--json"))
    assert [(c["kind"], c["by"]) for c in history] == [("remove", USER), ("split", USER), ("type", "api:desk-7"),
                                                       ("merge", USER)]
    verified = _run(home, "verify", number, "--json")
    assert verified.returncode == 0, verified.stdout
    audit = _audit_kinds(home, number)
    assert audit.count("correction") == 4


def test_the_cover_and_the_manifest_give_the_cause_of_action_the_papers_print(scanned, case, tmp_path):
    import pypdfium2
    ran = _run(scanned["home"], "export", scanned["case_no"], "--out", tmp_path / "out")
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cause"] == case.cause
    cover = pypdfium2.PdfDocument(str(tmp_path / "out" / "ZJ.pdf"))[0].get_textpage().get_text_range()
    assert case.cause in "".join(cover.split())
    left_out = manifest["excluded_pages"]
    assert [p["reason"] for p in left_out if p["reason"] in ("removed", "replaced")] == ["removed"]


def test_filing_the_stacks_again_never_undoes_a_correction(scanned):
    from config.settings import load_settings
    from ingest import pipeline
    from ingest.context import build_context
    before = _status(scanned)
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(scanned["home"])}))
    stacks = sorted({d["stack_id"] for d in ctx.catalogue.documents_of_case(scanned["case_no"])})
    for stack_id in stacks:
        pipeline.classify(ctx, stack_id)
    pipeline.assemble(ctx, scanned["case_no"])
    after = _status(scanned)
    assert after["documents"] == before["documents"] and after["digitised"] is True
    ctx.catalogue.dispose()


def test_a_correction_that_cannot_apply_is_refused_with_its_reason(scanned):
    home = scanned["home"]
    status = _status(scanned)
    doc = status["documents"][0]
    wrong = _run(home, "correct", "split", doc["id"], "--at", doc["page_ids"][0])
    assert wrong.returncode == 2 and "not a page after the first" in wrong.stderr
    unknown = _run(home, "correct", "type", 99999, "JUDGMENT")
    assert unknown.returncode == 2 and "no document 99999" in unknown.stderr
    no_reason = _run(home, "correct", "reorder", doc["id"], 1, 2, 3)
    assert no_reason.returncode == 2 and "every page of document" in no_reason.stderr


def _api_type(home: Path, document_id: int, type_name: str) -> None:
    from fastapi.testclient import TestClient

    from config.settings import load_settings
    from ingest.auth import create_token
    from ingest.context import build_context
    from ingest.service import create_app
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))
    token = create_token(ctx.catalogue, "desk-7", "operator")
    device = create_token(ctx.catalogue, "scanner-7", "device")
    with TestClient(create_app(ctx, workers=False)) as api:
        denied = api.post("/api/v1/corrections", json={"kind": "type", "document": document_id, "type": type_name},
                          headers={"Authorization": f"Bearer {device}"})
        assert denied.status_code == 403
        made = api.post("/api/v1/corrections", json={"kind": "type", "document": document_id, "type": type_name},
                        headers={"Authorization": f"Bearer {token}"})
        assert made.status_code == 201, made.text
        assert made.json()["detail"]["type_code"] == "ACCEPT_NOTICE" and made.json()["by"] == "api:desk-7"
        bad = api.post("/api/v1/corrections", json={"kind": "split", "document": document_id, "page": 1},
                       headers={"Authorization": f"Bearer {token}"})
        assert bad.status_code == 422 and bad.json()["code"] == "refused"
    ctx.catalogue.dispose()


def _audit_kinds(home: Path, case_no: str) -> list[str]:
    from config.settings import load_settings
    from ingest.context import build_context
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))
    kinds = [row["kind"] for row in ctx.catalogue.audit_of_case(case_no)]
    ctx.catalogue.dispose()
    return kinds


def test_a_page_marked_for_rescan_holds_the_case_back_until_its_rescan_replaces_it(scanned):
    home, number = scanned["home"], scanned["case_no"]
    notice = next(d for d in _status(scanned)["documents"] if d["type_code"] == "ACCEPT_NOTICE")
    page = notice["page_ids"][0]
    _json(_run(home, "correct", "rescan", page, "--reason", "the seal is not legible", "--json"))
    held = _status(scanned)
    assert held["digitised"] is False
    assert held["missing"] == [f"page {page} marked for rescan (the seal is not legible, by {USER}): scan the sheet "
                               f"again, then `edossier correct replace {page} --by NEW_PAGE`"]
    folder = scanned["base"] / "rescan" / number
    folder.mkdir(parents=True)
    _scan(scanned["pages"]["notice"], 8, folder / "001.png")
    assert _run(home, "backlog", scanned["base"] / "rescan", "--json").returncode in (0, 4)
    arrived = _status(scanned)
    new = max(p for d in arrived["documents"] for p in d["page_ids"])
    _json(_run(home, "correct", "replace", page, "--by", new, "--json"))
    final = _status(scanned)
    assert final["digitised"] is True and final["missing"] == []
    assert [d["page_ids"] for d in final["documents"] if d["type_code"] == "ACCEPT_NOTICE"] == [[new]]
    assert final["pages"]["replaced"] == 1 and final["receipts"][0]["pages_distinct"] == 4
    assert _run(home, "verify", number).returncode == 0


def test_a_correction_waits_for_a_worker_busy_with_the_stack_and_shows_when_it_returns(scanned):
    import threading

    from config.settings import load_settings
    from ingest.context import build_context
    from ingest.corrections import correct
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(scanned["home"])}))
    claim = next(d for d in ctx.catalogue.documents_of_case(scanned["case_no"]) if d["type_code"] == "COMPLAINT")
    name = f"classify:{claim['stack_id']}"
    assert ctx.catalogue.take_lease(name, "a-busy-worker", 30)
    threading.Timer(2.0, ctx.catalogue.release_lease, (name, "a-busy-worker")).start()
    correct(ctx, "reorder", "cli:test", document=claim["id"], order=claim["page_ids"][::-1])
    after = next(d for d in ctx.catalogue.documents_of_case(scanned["case_no"]) if d["type_code"] == "COMPLAINT")
    assert after["page_ids"] == claim["page_ids"][::-1] and after["corrected"]
    ctx.catalogue.dispose()


# the corrections themselves, on drafts --------------------------------------------------------------------------
def _draft(pages, type_code="EVIDENCE", case_no="A"):
    return {"page_ids": list(pages), "case_no": case_no, "volume": "ZJ", "type_code": type_code, "title": "证据",
            "confidence": 0.5, "review": True, "reason": "", "received_order": pages[0], "separator_page_id": None,
            "corrected": False}


def _apply(drafts, *made):
    from classify.corrections import apply
    from classify.taxonomy import Taxonomy
    return apply(drafts, [{"id": n, "kind": k, "detail": d, "actor": "desk"} for n, (k, d) in enumerate(made, 1)],
                 Taxonomy.load())


def test_corrections_apply_in_order_and_leave_what_is_not_in_the_stack():
    drafts = [_draft([1, 2, 3]), _draft([4, 5], "JUDGMENT")]
    done = _apply(drafts, ("reorder", {"page": 1, "order": [3, 1, 2]}),
                  ("move", {"page": 5, "to_page": 1, "to_case": "A"}),
                  ("move", {"page": 4, "to_case": "B"}),
                  ("type", {"page": 3, "type_code": "RULING"}),
                  ("split", {"page": 99}), ("remove", {"page": 42, "reason": "x"}))
    assert [(d["page_ids"], d["case_no"], d["type_code"], d["corrected"], d["review"]) for d in done.drafts] == [
        ([3, 1, 2, 5], "A", "RULING", True, False),      # typed by a person: out of review
        ([4], "B", "JUDGMENT", True, True)]             # moved, but nobody confirmed its type: still in review
    assert done.moved_to == {} and done.left_out == {}
    assert drafts[0]["page_ids"] == [1, 2, 3]                # the drafts given are left as they were


def test_pages_left_out_keep_their_case_and_a_page_moved_on_follows_its_last_move():
    done = _apply([_draft([1, 2], case_no="W"), _draft([3, 4], case_no="X")],
                  ("replace", {"page": 3, "by": 99, "case": "X"}), ("remove", {"page": 4, "reason": "twice"}))
    assert [d["page_ids"] for d in done.drafts] == [[1, 2], [99]]
    assert done.left_out == {3: "replaced", 4: "removed"} and done.moved_to == {3: "X", 4: "X"}
    moved = _apply([_draft([1, 2])], ("move", {"page": 2, "to_page": 70, "to_case": "C"}),
                   ("move", {"page": 2, "to_case": "Z"}))
    assert [d["page_ids"] for d in moved.drafts] == [[1]] and moved.moved_to == {2: "Z"}


def test_split_parts_bind_in_page_order_however_often_split():
    stack = _draft([1, 2, 3, 4, 5, 6]) | {"received_order": 1.7e9 + 0.001}     # as stored: epoch seconds
    done = _apply([stack], ("split", {"page": 5}), ("split", {"page": 3}))
    assert [d["page_ids"] for d in sorted(done.drafts, key=lambda d: d["received_order"])] == [[1, 2], [3, 4], [5, 6]]


def test_a_page_moved_to_a_document_of_another_stack_leaves_this_one_for_that_case():
    done = _apply([_draft([1, 2])], ("move", {"page": 2, "to_page": 70, "to_case": "C"}))
    assert [d["page_ids"] for d in done.drafts] == [[1]] and done.moved_to == {2: "C"}
    there = _apply([_draft([70, 71], case_no="C")], ("move", {"page": 2, "to_page": 70, "to_case": "C"}))
    assert [d["page_ids"] for d in there.drafts] == [[70, 71, 2]]
