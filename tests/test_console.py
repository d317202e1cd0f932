"""The operator console at /console on a real `edossier serve` (in-process workers, real tesseract), driven in
Debian's Chromium through Playwright. A scanning desk uploads a stack for one synthetic civil case holding, besides
its own papers, a notice and a summons of another case (each prints the other case's number: flagged for review)
and a damaged scan whose file name carries an ID number. An operator signs in and reads the dashboard, the stacks,
the quarantine (masked) and retries; works the review queue with its keyboard shortcuts — accepts one document,
retypes the other — and the dossier, the API's case status and the court's cataloguing figure change with it; the
case view shows the contents as bound, the receipt, the corrections and the audit trail; reordering, splitting,
merging and moving pages work from the review page too. Roles hold on the server: a device token opens nothing, a
judge may read but neither correct nor retry, an operator may not decide a filing. An idle session sends the
browser to sign in again. A screenshot of each view goes to tests/output/screenshots/console-<view>.png."""
from __future__ import annotations

import random
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from shared import SHOTS

from servers import ROOT, Service, cli, page_png

PASSWORD = "console-pass-2026"
ID_NUMBER = "993440198101046026"
WAIT_MS = 180_000


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def paper():
    from synth.documents import civil_case, make_court
    ours = civil_case(random.Random(22), make_court(random.Random(22)))
    other = civil_case(random.Random(21), make_court(random.Random(21)))
    docs, foreign = {d.type_code: d for d in ours.documents}, {d.type_code: d for d in other.documents}
    files = [page_png(p) for p in docs["COMPLAINT"].pages] + [page_png(docs["PARTY_ID"].pages[0]),
                                                              page_png(foreign["ACCEPT_NOTICE"].pages[0]),
                                                              page_png(foreign["SUMMONS"].pages[0])]
    return {"case_no": ours.case_no, "other": other.case_no, "files": files}


def _users(home: Path, config: Path) -> None:
    for name, role in (("li.na", "operator"), ("wang.fa", "judge")):
        made = cli(home, "user", "add", name, "--role", role, "--password-stdin", config=config, input=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr


def _service(base: Path, settings: str) -> tuple[Service, dict]:
    home, config = base / "home", base / "settings.yaml"
    config.write_text(settings, encoding="utf-8")
    tokens = {role: cli(home, "token", "create", f"{role}-1", "--role", role, config=config).stdout.strip()
              for role in ("device", "operator")}
    _users(home, config)
    return Service(home, config).start(), tokens


@pytest.fixture(scope="module")
def court(tmp_path_factory, paper):
    svc, tokens = _service(tmp_path_factory.mktemp("console"), "dossier:\n  rebuild_every_s: 1\n")
    api = httpx.Client(base_url=f"{svc.url}/api/v1", timeout=60)
    try:
        _open_cases(api, auth(tokens["operator"]), paper)
        stack = _upload(api, tokens["device"], paper)
        yield {"svc": svc, "url": svc.url, "tokens": tokens, "api": api, "stack": stack, **paper}
    finally:
        api.close()
        svc.stop()


def _open_cases(api: httpx.Client, operator: dict, paper: dict) -> None:
    """Both cases opened by the case-management system (ours with a party's ID number), ours at PRETRIAL — it
    lacks the notice to respond — with its statement of claim registered on a receipt."""
    for number, parties in ((paper["case_no"], ["徐秀英", f"邵红刚 {ID_NUMBER}"]), (paper["other"], [])):
        made = api.post("/cases", json={"case_no": number, "tribunal": "民一庭", "parties": parties}, headers=operator)
        assert made.status_code == 201, made.text
    case = f"/cases/{quote(paper['case_no'])}"
    api.post(f"{case}/receipts", json={"type": "COMPLAINT", "pages": 2, "from": "原告徐秀英"}, headers=operator)
    api.post(f"{case}/events", json={"stage": "PRETRIAL"}, headers=operator)


def _upload(api: httpx.Client, device: str, paper: dict) -> int:
    stack = api.post("/stacks", json={"case_no": paper["case_no"], "device": "desk-scanner"},
                     headers=auth(device)).json()
    damaged = paper["files"][0][: len(paper["files"][0]) // 3]
    named = [(f"p{n}.png", data) for n, data in enumerate(paper["files"])] + [(f"身份证{ID_NUMBER}.png", damaged)]
    for seq, (name, data) in enumerate(named):
        sent = api.post(f"/stacks/{stack['id']}/files", headers=auth(device), data={"seq": str(seq)},
                        files={"file": (name, data, "image/png")})
        assert sent.status_code == 201, sent.text
    api.post(f"/stacks/{stack['id']}/close", headers=auth(device))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = api.get(f"/stacks/{stack['id']}", headers=auth(device)).json()
        if state["settled"] and state["state"] == "closed":
            return stack["id"]
        time.sleep(0.5)
    raise AssertionError(f"stack never settled: {state}")


def sign_in(browser, url: str, name: str, start: str = "/console"):
    """A fresh browser signed in as `name`, on `start`; script errors are collected in page.errors."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(url + start)
    assert page.url.startswith(f"{url}/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def shot(page, view: str) -> None:
    page.screenshot(path=str(SHOTS / f"console-{view}.png"), full_page=True)


def figures(api: httpx.Client, token: str) -> dict:
    data = api.get("/report", headers=auth(token)).json()["court"]["figures"]
    return {name: (f["numerator"], f["denominator"], f["value"]) for name, f in data.items()}


def test_the_dashboard_shows_queues_workers_and_the_courts_figures(court, chromium):
    page = sign_in(chromium, court["url"], "li.na")
    assert page.url == f"{court['url']}/console"
    assert page.text_content("h1") == "Dashboard 总览"
    queues = page.eval_on_selector_all("#queues tr[data-queue]",
                                       "rows => rows.map(r => [r.dataset.queue, +r.cells[1].textContent])")
    assert dict(queues) == httpx.get(f"{court['url']}/healthz").json()["queues"]       # settled: every queue empty
    assert int(page.text_content("#workers")) >= 1
    assert float(page.text_content("#per-minute")) == pytest.approx(len(court["files"]) / 10)
    assert page.text_content("#in-review") == "2" and page.text_content("#quarantined") == "1"
    alert = page.locator(f"#alerts tr[data-case='{court['case_no']}']")
    assert "stage PRETRIAL" in alert.text_content() and "应诉通知书" in alert.text_content()
    assert alert.locator("a").get_attribute("href") == f"/console/cases/{quote(court['case_no'], safe='')}"
    shown = page.eval_on_selector_all("[data-figure^='court.']",
                                      "els => els.map(e => [e.dataset.figure, e.dataset.value])")
    expected = figures(court["api"], court["tokens"]["operator"])
    assert {key: float(value) if value else None for key, value in shown} == \
        {f"court.{name}": value for name, (_, _, value) in expected.items()}
    assert expected["cataloguing_accuracy"][:2] == (4, 4)
    bars = page.eval_on_selector_all("svg.chart rect[data-figure]", "els => els.map(e => e.dataset.figure)")
    assert "tribunals.0.cataloguing_accuracy" in bars and page.is_visible("#trend")
    assert page.get_attribute("#live", "data-refresh") == "5"
    page.evaluate("document.querySelector('#per-minute').textContent = 'stale'")
    page.wait_for_function("document.querySelector('#per-minute').textContent !== 'stale'", timeout=20_000)
    assert page.errors == []
    shot(page, "dashboard")
    page.close()


def test_stacks_show_their_progress_and_quarantine_is_masked_and_retried(court, chromium):
    page = sign_in(chromium, court["url"], "li.na", "/console/stacks")
    row = f"#stacks tr[data-stack='{court['stack']}']"
    assert page.text_content(f"{row} td[data-pages=done]").strip() == str(len(court["files"]))
    assert page.is_visible(f"{row} [data-settled=yes]")
    shot(page, "stacks")
    page.click(f"{row} a")
    assert page.text_content("h1") == f"Stack 批次 #{court['stack']}"
    assert page.locator("#documents tbody tr").count() == 4
    shot(page, "stack")
    page.goto(f"{court['url']}/console/quarantine")
    item = page.locator("#quarantine tr[data-item]").first
    assert "身份证993440********6026.png" in item.text_content()
    assert ID_NUMBER not in page.content()
    shot(page, "quarantine")
    with page.expect_navigation():
        item.locator("button[data-action=retry]").click()
    assert "Queued again" in page.text_content(".flash")
    retried = court["api"].get("/quarantine", params={"status": "all"}, headers=auth(court["tokens"]["operator"]))
    assert "retried" in [q["status"] for q in retried.json()]
    page.close()


def test_a_review_correction_changes_the_dossier_and_the_cataloguing_figure(court, chromium):
    api, operator = court["api"], court["tokens"]["operator"]
    before = figures(api, operator)["cataloguing_accuracy"]
    page = sign_in(chromium, court["url"], "li.na", "/console/review")
    assert page.locator("#review-queue tr[data-document]").count() == 2
    assert court["other"] in page.text_content("#review-queue")          # why: it prints the other case's number
    shot(page, "review")
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.get_attribute("#suggested-type", "data-type") == "ACCEPT_NOTICE"
    assert "受理案件通知书" in "".join(page.text_content("#text-1").split())
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert [k.text_content() for k in page.locator("#actions kbd").all()][:2] == ["a", "t"]
    shot(page, "review-document")
    with page.expect_navigation(timeout=WAIT_MS):
        page.keyboard.press("a")                                          # accept: the notice as suggested
    assert "Accepted" in page.text_content(".flash")
    assert page.get_attribute("#suggested-type", "data-type") == "SUMMONS"
    page.keyboard.press("t")
    assert page.evaluate("document.activeElement.id") == "type"
    page.select_option("#type", "EVIDENCE")                      # another case's summons, handed in as evidence
    with page.expect_navigation(timeout=WAIT_MS):
        page.click("#retype")
    assert page.url.startswith(f"{court['url']}/console/review?") and page.is_visible("#review-empty")

    status = api.get(f"/cases/{quote(court['case_no'])}", headers=auth(operator)).json()
    assert [(d["type_code"], d["review"], d["corrected"]) for d in status["documents"]] == [
        ("COMPLAINT", False, False), ("PARTY_ID", False, False), ("ACCEPT_NOTICE", False, False),
        ("EVIDENCE", False, True)]                               # confirmed is not corrected; retyped is
    after = figures(api, operator)["cataloguing_accuracy"]
    assert (before[:2], after[:2]) == ((4, 4), (3, 4))
    page.goto(f"{court['url']}/console")
    assert float(page.get_attribute("[data-figure='court.cataloguing_accuracy']", "data-value")) == after[2]
    page.goto(f"{court['url']}/console/cases/{quote(court['case_no'])}")
    types = page.eval_on_selector_all("#contents-ZJ tr[data-type]", "rows => rows.map(r => r.dataset.type)")
    assert "EVIDENCE" in types and "SUMMONS" not in types
    history = [(r.get_attribute("data-kind"), r.locator(".by").text_content())
               for r in page.locator("#corrections tbody tr").all()]
    assert history == [("type", "console:li.na"), ("type", "console:li.na")]
    assert page.errors == []
    page.close()


def test_the_case_view_shows_the_dossier_as_bound_masked(court, chromium):
    page = sign_in(chromium, court["url"], "li.na", "/console/cases")
    row = page.locator(f"#cases tr[data-case='{court['case_no']}']")
    assert row.locator("td").nth(2).text_content() == "4"
    shot(page, "cases")
    with page.expect_navigation():
        row.locator("a").click()
    assert page.text_content("#case-no") == court["case_no"]
    contents = page.eval_on_selector_all("#contents-ZJ tbody tr", "rows => rows.map(r => r.cells[3].textContent)")
    assert contents[0] == "1-2"                                           # the statement of claim, pages 1 and 2
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#contents-ZJ img").count() == 5
    assert page.text_content("#receipts tr[data-receipt='R-1'] td:nth-child(5)") == "2"
    assert page.locator("#audit tbody tr").count() > 5
    assert ID_NUMBER not in page.content() and "993440********6026" in page.content()
    shot(page, "case")
    link = page.locator("#volumes a[data-volume=ZJ]")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    pdf = httpx.get(court["url"] + link.get_attribute("href"), cookies=cookies, timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page.close()


def _session(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    signed = client.post("/console/login", data={"name": name, "password": PASSWORD, "next": "/console"})
    assert signed.status_code == 303 and "edossier_console" in client.cookies
    return client


def test_roles_hold_on_the_server(court, chromium):
    url, tokens = court["url"], court["tokens"]
    refused = httpx.get(f"{url}/console", headers=auth(tokens["device"]))
    assert refused.status_code == 403 and "device token" in refused.text
    assert httpx.get(f"{url}/console/cases", headers=auth(tokens["operator"])).status_code == 200
    judge = _session(url, "wang.fa")
    assert judge.get("/console/cases").status_code == 200                 # a judge reads
    case = f"/cases/{quote(court['case_no'])}"
    first = court["api"].get(case, headers=auth(tokens["operator"])).json()["documents"][0]["id"]
    made = court["api"].get(f"{case}/corrections", headers=auth(tokens["operator"])).json()
    for path in (f"/console/review/{first}/accept", "/console/quarantine/1/retry"):
        answer = judge.post(path, data={"case_no": court["other"]})
        assert answer.status_code == 403 and "the judge role may not do this" in answer.text, path
    assert judge.get("/console/review").status_code == 403
    assert court["api"].get(f"{case}/corrections", headers=auth(tokens["operator"])).json() == made
    operator = _session(url, "li.na")
    decided = operator.post("/console/filings/1/accept", data={"case_no": court["other"]})   # a filing judge's
    assert decided.status_code == 403 and "may not do this" in decided.text
    operator.close()
    page = sign_in(chromium, url, "wang.fa", "/console/review")
    assert page.text_content("#forbidden") == "the judge role may not do this"
    shot(page, "forbidden")
    page.close()
    judge.close()


def _documents(court: dict, case_no: str) -> list[dict]:
    status = court["api"].get(f"/cases/{quote(case_no)}", headers=auth(court["tokens"]["operator"])).json()
    return status["documents"]


def _on_review_page(page, court: dict, document: dict) -> None:
    """The review page of a document (by id: a document filed again may get a new one)."""
    page.goto(f"{court['url']}/console/review/{document['id']}")
    assert page.url.endswith(f"/console/review/{document['id']}")


def test_reorder_split_merge_and_move_from_the_review_page(court, chromium):
    claim = _documents(court, court["case_no"])[0]
    first, second = claim["page_ids"]
    page = sign_in(chromium, court["url"], "li.na", f"/console/review/{claim['id']}")
    page.fill("#order", "2 1")
    with page.expect_navigation(timeout=WAIT_MS):
        page.click("#reorder")
    claim = _documents(court, court["case_no"])[0]
    assert (claim["type_code"], claim["page_ids"]) == ("COMPLAINT", [second, first])
    _on_review_page(page, court, claim)
    with page.expect_navigation(timeout=WAIT_MS):
        page.keyboard.press("s")                                          # split before its second page
    parts = [d["page_ids"] for d in _documents(court, court["case_no"]) if d["type_code"] == "COMPLAINT"]
    assert parts == [[second], [first]]
    _on_review_page(page, court, _documents(court, court["case_no"])[0])
    with page.expect_navigation(timeout=WAIT_MS):
        page.keyboard.press("m")                                          # and merged again with the part split off
    claim = _documents(court, court["case_no"])[0]
    assert claim["page_ids"] == [second, first]
    _on_review_page(page, court, claim)
    page.keyboard.press("c")
    assert page.evaluate("document.activeElement.id") == "to-case"
    page.select_option("#move-page", str(first))
    page.focus("#to-case")
    page.keyboard.type(court["other"])
    with page.expect_navigation(timeout=WAIT_MS):
        page.keyboard.press("Enter")
    assert [p for d in _documents(court, court["other"]) for p in d["page_ids"]] == [first]
    assert first not in [p for d in _documents(court, court["case_no"]) for p in d["page_ids"]]
    made = court["api"].get(f"/cases/{quote(court['case_no'])}/corrections",
                            headers=auth(court["tokens"]["operator"])).json()
    assert [(c["kind"], c["by"]) for c in made][-4:] == [("reorder", "console:li.na"), ("split", "console:li.na"),
                                                        ("merge", "console:li.na"), ("move", "console:li.na")]
    assert page.errors == []
    page.close()


def test_an_idle_session_is_sent_to_sign_in_again(tmp_path, chromium):
    svc, _ = _service(tmp_path, "console:\n  idle_minutes: 0.05\n")        # 3 seconds
    try:
        page = sign_in(chromium, svc.url, "li.na", "/console/cases")
        assert page.text_content("h1") == "Cases 案件"
        time.sleep(4)
        page.reload()
        assert page.url.startswith(f"{svc.url}/console/login?next=/console/cases")
        assert "Your session has ended" in page.text_content("#ended")
        shot(page, "session-ended")
        page.fill("input[name=name]", "li.na")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{svc.url}/console/cases"
        page.close()
    finally:
        svc.stop()
