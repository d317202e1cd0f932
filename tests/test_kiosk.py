"""The filing kiosk end to end in a real chromium (Debian's chromium through Playwright) on a real `edossier serve`:
a person files from identity to receipt — the ID-card reader simulator, the complaint scanned on the SANE `pnm`
backend, the identity card laid under a document camera (recorded footage), evidence sent from a phone through the
one-time QR link, a page taken out and pages reordered, a pre-filled field corrected, signed on the canvas — then a
filing judge accepts it in the console and every page kept lands in the case's dossier in binding order.
Screenshots of each step go to tests/output/screenshots."""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from servers import ROOT, Service, cli, page_png
from shared import SHOTS, missing

CASE_NO = "（2026）闽0903民初5001号"
COURT = "福建省安和市桐泽区人民法院"


def add_user(home: Path, config: Path, name: str, role: str, password: str) -> None:
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-m", "ingest", "user", "add", name, "--role", role, "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """A synthetic person-v-person civil case: its complaint (2 pages) for the scanner, the plaintiff's identity
    card copy for the camera, an evidence page for the phone."""
    from PIL import Image

    from synth.deskphoto import DeskPage, lay_and_hold, page_sequence, rest_pose
    from synth.documents import Line, Page, civil_case, make_court
    from synth.render import render_page
    import numpy as np
    folder = tmp_path_factory.mktemp("paper")
    case = civil_case(random.Random(1), make_court(random.Random(1)))
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    identity = next(d for d in case.documents if d.type_code == "PARTY_ID")
    evidence = Page(lines=(Line("中国工商银行网上银行电子回单", "plain"), Line("回单编号：2023051700381726", "plain"),
                           Line("付款人：江源博远电子有限公司　收款人：马帆娜", "plain"),
                           Line("金额：人民币伍万元整（¥50,000.00）　用途：货款", "plain"),
                           Line("交易时间：2023年5月17日 10:21:07", "plain")))
    sheets = []
    for index, page in enumerate(complaint.pages):
        path = folder / f"complaint-{index + 1}.pgm"
        Image.open(io.BytesIO(page_png(page))).convert("L").save(path)
        sheets.append(path)
    card = render_page(identity.pages[0])
    bgr = np.dstack([card.image] * 3) if card.image.ndim == 2 else card.image
    footage = page_sequence(folder / "camera", lay_and_hold(rest_pose(2)), page=DeskPage(bgr, card.text, "身份证"),
                            seed=2)
    return {"sheets": sheets, "camera": footage.pattern, "evidence": page_png(evidence),
            "complaint_png": page_png(complaint.pages[0]),
            "complaint_text": "\n".join(line.text for line in complaint.pages[0].lines)}


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, paper):
    if shutil.which("scanimage") is None or not Path("/etc/sane.d/test.conf").is_file():
        missing("the SANE test backends (libsane1, sane-utils)", "apt-get install libsane1 sane-utils")
    base = tmp_path_factory.mktemp("kiosk")
    home, config, cards, sane = base / "home", base / "settings.yaml", base / "cards", base / "sane.d"
    sane.mkdir()
    (sane / "dll.conf").write_text("pnm\n")
    config.write_text(
        "dossier:\n  rebuild_every_s: 1\n"
        f"devices:\n  declared:\n"
        f"    kiosk-scanner:\n      address: sane:pnm:0\n      source: flatbed\n      dpi: 300\n"
        f"      options: {{filename: '{base / 'glass.pgm'}'}}\n"
        f"    kiosk-camera:\n      address: 'camera:{paper['camera']}'\n      dpi: 200\n"
        f"kiosk:\n  scanner: kiosk-scanner\n  camera: kiosk-camera\n  idcard: 'idcard:sim:{cards}'\n"
        f"  courts: ['{COURT}']\n  idle_s: 600\n", encoding="utf-8")
    tokens = {name: cli(home, "token", "create", name, "--role", role, config=config).stdout.strip()
              for name, role in (("kiosk-1", "device"), ("ops", "operator"))}
    add_user(home, config, "judge.wang", "judge", "judge-password-1")
    add_user(home, config, "clerk.li", "operator", "clerk-password-1")
    os.environ["SANE_CONFIG_DIR"] = str(sane)
    service = Service(home, config).start()
    yield {"url": service.url, "tokens": tokens, "cards": cards, "home": home, "glass": base / "glass.pgm"}
    service.stop()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_kiosk_filing_accepted_by_a_judge_lands_every_page_in_the_case_in_binding_order(kiosk, chromium, paper):
    from devices.idcard import place, synthetic_card
    url = kiosk["url"]
    errors: list[str] = []
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # the kiosk is enrolled once with its device token
    page.goto(f"{url}/kiosk")
    assert page.url.endswith("/kiosk/enrol")
    page.fill("input[name=token]", kiosk["tokens"]["kiosk-1"])
    page.click("#enrol")
    shot(page, "kiosk-0-welcome")
    page.click("#start")

    # 1. identity from the card reader: the number is shown masked
    card = synthetic_card(7)
    place(kiosk["cards"], card)
    page.click("#read-card")
    masked = page.text_content("#masked-number")
    assert masked.startswith(card["number"][:6]) and masked.endswith(card["number"][-4:])
    assert card["number"] not in page.content()
    shot(page, "kiosk-1-identity")
    page.click("#next")

    # 2. what to file, 3. the risk notice
    page.check("#kind-civil")
    page.select_option("#court", COURT)
    page.select_option("#cause", "买卖合同纠纷")
    shot(page, "kiosk-2-what")
    page.click("#next")
    page.click("#next")                                    # not accepted: refused, says why
    assert "勾选" in page.text_content("#error")
    page.check("#accept-notice")
    shot(page, "kiosk-3-notice")
    page.click("#next")

    # 4. capture: the complaint's two pages on the scanner (the second first, then moved up), the ID card under
    #    the camera, one page scanned by mistake and taken out, evidence from the phone
    assert page.url.endswith("/kiosk/capture")
    scan(page, kiosk, paper["sheets"][1], 1)               # the second page first …
    scan(page, kiosk, paper["sheets"][0], 2)
    page.locator("#pages li").nth(1).locator("button[aria-label]").first.click()    # … then the first moved up
    scan(page, kiosk, paper["sheets"][0], 3)               # scanned twice by mistake: taken out
    page.locator("#pages li").nth(2).locator("button.delete").click()
    assert page.locator("#pages li").count() == 2
    page.click("#material-PARTY_ID")
    page.click("#use-camera")
    page.wait_for_function("() => document.querySelectorAll('#pages li').length === 3", timeout=60_000)
    shot(page, "kiosk-4-capture")

    phone = chromium.new_context(viewport={"width": 412, "height": 915}).new_page()
    page.click("#use-phone")
    phone.goto(page.get_attribute("#phone-link", "data-link"))
    phone.select_option("select[name=material]", "EVIDENCE")
    phone.set_input_files("#files", files=[{"name": "receipt.png", "mimeType": "image/png",
                                            "buffer": paper["evidence"]}])
    phone.click("#send")
    assert "1" in phone.text_content("#uploaded")
    shot(phone, "kiosk-4b-phone-upload")
    phone.click("#done")
    phone.goto(phone.url)
    assert phone.locator("#error").count() == 1           # the link was one-time: used up
    page.wait_for_function("() => document.querySelectorAll('#pages li').length === 4", timeout=10_000)
    shot(page, "kiosk-4c-phone-qr")
    page.click("#back-to-capture")

    # 5. the pre-filled form: fields read by OCR are marked; the person corrects one
    page.click("#next")
    prefilled = page.eval_on_selector_all("[data-prefilled]", "els => els.map(e => e.dataset.prefilled)")
    assert {"plaintiff", "defendant", "claims"} <= set(prefilled), prefilled
    plaintiff = page.input_value("#field-plaintiff")
    assert plaintiff and plaintiff in paper["complaint_text"]
    page.fill("#field-phone", "13912345678")
    claims = page.input_value("#field-claims")
    page.fill("#field-claims", claims + "\n4.本案保全费由被告承担。")
    shot(page, "kiosk-5-form")
    page.click("#next")

    # 6. sign on the canvas: an empty signature is refused
    page.click("#submit")
    assert "签名" in page.text_content("#error")
    draw_signature(page)
    shot(page, "kiosk-6-sign")
    page.click("#submit")

    # 7. the receipt: lookup code, materials and page counts, a printable PDF
    assert page.url.endswith("/kiosk/receipt"), (page.url, page.locator("#error").all_text_contents())
    code = page.text_content("#lookup-code").strip()
    assert len(code) == 8
    shot(page, "kiosk-7-receipt")
    pdf = page.request.get(f"{url}/kiosk/receipt.pdf").body()
    text = pdf_text(pdf)
    assert code in text and "起诉状 2 页" in text.replace("民事起诉状", "起诉状") and "合计" in text
    assert card["number"] not in text
    page.click("#finish")
    assert page.url.endswith("/kiosk")
    page.goto(f"{url}/kiosk/receipt")                     # nothing of the person is left to see
    assert code not in page.content()
    assert not errors, errors

    # the filing waits: a filing judge accepts it with the case number
    judge = chromium.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    sign_in(judge, url, "judge.wang", "judge-password-1", "/console/filings")
    judge.click(f"#open-{code}")
    corrected = judge.locator("[data-field=claims] .badge.warn")
    assert corrected.count() == 1                         # what the person changed is shown so
    shot(judge, "console-filing-review")
    judge.fill("#case-no", CASE_NO)
    judge.click("#accept")
    assert "accepted" in judge.text_content(".flash")

    # every page kept follows into the case: complaint (2 pages, in the person's order), identity, evidence
    status = wait_for_dossier(url, kiosk["tokens"]["ops"], CASE_NO, pages=4)
    kept = [(d["type_code"], d["pages"]) for d in status["documents"]]
    types = [t for t, _ in kept]
    assert types.index("COMPLAINT") < types.index("PARTY_ID") < types.index("EVIDENCE"), kept
    assert sum(n for _, n in kept) == 4
    complaint = next(d for d in status["documents"] if d["type_code"] == "COMPLAINT")
    first = httpx.get(f"{url}/api/v1/pages/{complaint['page_ids'][0]}", timeout=30,
                      headers={"Authorization": f"Bearer {kiosk['tokens']['ops']}"}).json()
    assert "民事起诉状" in first["text"].replace(" ", "")
    receipts = {r["type_code"]: (r["pages_received"], r["pages_scanned"]) for r in status["receipts"]}
    assert receipts == {"COMPLAINT": (2, 2), "PARTY_ID": (1, 1), "EVIDENCE": (1, 1)}, receipts


def scan(page, kiosk, sheet: Path, expected: int) -> None:
    """The person lays `sheet` on the glass (the pnm backend reads this file) and presses scan."""
    shutil.copyfile(sheet, kiosk["glass"])
    page.click("#use-scanner")
    page.wait_for_function(f"() => document.querySelectorAll('#pages li').length === {expected}", timeout=60_000)


def sign_in(page, url: str, name: str, password: str, target: str) -> None:
    page.goto(f"{url}{target}")
    assert "/console/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    assert page.url.endswith(target), page.url


def wait_for_dossier(url: str, token: str, case_no: str, pages: int, limit: float = 300) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        reply = httpx.get(f"{url}/api/v1/cases/{quote(case_no)}", headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
        if reply.status_code == 200:
            status = reply.json()
            if sum(d["pages"] for d in status["documents"]) == pages and not status["pages"]["pending"]:
                return status
        time.sleep(1)
    raise AssertionError(f"the case never held {pages} pages: {reply.text[:2000]}")


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_a_filing_returned_once_is_corrected_and_sent_again_and_only_a_judge_decides(kiosk, chromium, paper):
    from devices.idcard import synthetic_card
    url, card = kiosk["url"], synthetic_card(11)
    page = enrolled(chromium, url, kiosk["tokens"]["kiosk-1"])
    page.click("#lang-en")                                  # English is selectable
    assert page.text_content("#start").strip() == "Start filing"
    page.click("#start")
    page.fill("input[name=name]", card["name"])
    page.fill("input[name=number]", card["number"][:17] + ("0" if card["number"][17] != "0" else "1"))
    page.click("#confirm-identity")
    assert "not a valid" in page.text_content("#error")     # the ID checksum is checked
    page.fill("input[name=name]", card["name"])
    page.fill("input[name=number]", card["number"])
    page.click("#confirm-identity")
    page.click("#next")
    page.click("#lang-zh")                                  # the language changes mid-filing; the filing stays
    assert page.url.endswith("/kiosk/what") and "选择立案类型" in page.text_content("h1")
    page.click("#lang-en")
    choose_and_accept(page)
    page.click("#use-phone")
    phone_upload(chromium, page.get_attribute("#phone-link", "data-link"), "COMPLAINT", paper["complaint_png"])
    page.wait_for_function("() => document.querySelectorAll('#pages li').length === 1", timeout=10_000)
    page.click("#back-to-capture")
    page.click("#next")
    defendant = (page.input_value("#field-defendant") or "江源博远电子有限公司") + "（曾用名：博远电子）"
    page.fill("#field-defendant", defendant)
    page.click("#next")
    sign(page)
    code = page.text_content("#lookup-code").strip()
    page.click("#finish")

    judge = chromium.new_context().new_page()
    sign_in(judge, url, "judge.wang", "judge-password-1", "/console/filings")
    judge.click(f"#open-{code}")
    judge.fill("#return-reason", "请补充被告的身份证明材料")
    judge.click("#return")
    assert "returned" in judge.text_content(".flash")

    # the person comes back with the lookup code and their ID number, sees why, adds the page, sends it again
    page.goto(f"{url}/kiosk")
    page.fill("input[name=code]", code)
    page.fill("input[name=number]", card["number"])
    page.click("#resume")
    assert "身份证明" in page.text_content("#returned-reason")
    page.click("#material-PARTY_ID")
    page.click("#use-phone")
    phone_upload(chromium, page.get_attribute("#phone-link", "data-link"), "PARTY_ID", paper["evidence"])
    page.wait_for_function("() => document.querySelectorAll('#pages li').length === 2", timeout=10_000)
    page.click("#back-to-capture")
    page.click("#next")
    assert page.input_value("#field-defendant") == defendant          # what they confirmed is kept, to confirm again
    page.click("#next")
    sign(page)
    assert page.text_content("#lookup-code").strip() == code

    # returned once: it is not offered again, and the server refuses it; an operator may not decide at all
    judge.goto(f"{url}/console/filings")
    judge.click(f"#open-{code}")
    assert judge.locator("#return").count() == 0
    filing_id = judge.url.rstrip("/").split("/")[-1]
    again = judge.request.post(f"{url}/console/filings/{filing_id}/return", form={"reason": "again"})
    assert again.status == 422 and "once only" in again.text()
    clerk = chromium.new_context().new_page()
    sign_in(clerk, url, "clerk.li", "clerk-password-1", "/console")
    refused = clerk.request.post(f"{url}/console/filings/{filing_id}/accept", form={"case_no": CASE_NO})
    assert refused.status == 403
    clerk.goto(f"{url}/console/filings")
    assert clerk.locator("#forbidden").count() == 1
    judge.fill("#refuse-reason", "不属于本院管辖")
    judge.click("#refuse")
    assert "refused" in judge.text_content(".flash")
    decided = judge.text_content("#decided")
    assert code in decided and "不属于本院管辖" in decided


def test_an_idle_kiosk_clears_the_screen_and_keeps_nothing_of_the_person(tmp_path, chromium):
    home, config = tmp_path / "home", tmp_path / "settings.yaml"
    config.write_text("kiosk:\n  idle_s: 3\n", encoding="utf-8")
    token = cli(home, "token", "create", "kiosk-9", "--role", "device", config=config).stdout.strip()
    service = Service(home, config).start()
    try:
        page = enrolled(chromium, service.url, token)
        page.click("#start")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        page.close()                                        # no script left to clear it: the server must
        time.sleep(4)
        reply = httpx.get(f"{service.url}/kiosk/identity", cookies=cookies, follow_redirects=False, timeout=10)
        assert reply.status_code == 303 and reply.headers["location"].endswith("/kiosk?idle=1")
        page = enrolled(chromium, service.url, token)
        page.click("#start")
        page.fill("input[name=name]", "宋思远")
        page.wait_for_url("**/kiosk?idle=1", timeout=15_000)
        assert page.locator("#idle").count() == 1 and "宋思远" not in page.content()
        page.go_back()
        assert "宋思远" not in page.content()
        reply = page.request.get(f"{service.url}/kiosk/identity", max_redirects=0)
        assert reply.status == 303 and reply.headers["location"].endswith("/kiosk?idle=1")
        assert "no-store" in reply.headers["cache-control"]
    finally:
        service.stop()


def enrolled(chromium, url: str, token: str):
    page = chromium.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    page.goto(f"{url}/kiosk/enrol")
    page.fill("input[name=token]", token)
    page.click("#enrol")
    return page


def choose_and_accept(page) -> None:
    page.check("#kind-civil")
    page.select_option("#court", COURT)
    page.select_option("#cause", "买卖合同纠纷")
    page.click("#next")
    page.check("#accept-notice")
    page.click("#next")


def phone_upload(chromium, link: str, material: str, png: bytes) -> None:
    phone = chromium.new_context(viewport={"width": 412, "height": 915}).new_page()
    phone.goto(link)
    phone.select_option("select[name=material]", material)
    phone.set_input_files("#files", files=[{"name": "page.png", "mimeType": "image/png", "buffer": png}])
    phone.click("#send")
    phone.click("#done")
    phone.context.close()


def sign(page) -> None:
    draw_signature(page)
    page.click("#submit")


def draw_signature(page) -> None:
    """A signature drawn with the pointer on the touch screen's canvas."""
    page.locator("#signature").scroll_into_view_if_needed()
    box = page.locator("#signature").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 150)
    page.mouse.down()
    for step in range(30):
        page.mouse.move(box["x"] + 100 + step * 25, box["y"] + 150 + (step % 5) * 20)
    page.mouse.up()
