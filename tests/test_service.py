"""`edossier serve` as clients use it: a real uvicorn server on 127.0.0.1 with its in-process workers, real tesseract,
tokens per client, uploads that are durable before they are answered, and the dossier as it grows."""
from __future__ import annotations

import io
import json
import os
import random
import threading
import time
from urllib.parse import quote

import httpx
import pikepdf
import pytest

from synth.documents import civil_case, make_court
from synth.people import make_person

from servers import Service, cli, page_png

@pytest.fixture(scope="module")
def paper():
    case = civil_case(random.Random(21), make_court(random.Random(21)))
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    judgment = next(d for d in case.documents if d.type_code == "JUDGMENT")
    return {"case_no": case.case_no, "complaint": [page_png(p) for p in complaint.pages],
            "judgment": page_png(judgment.pages[0]), "complaint_text": complaint.pages[0]}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    base = tmp_path_factory.mktemp("service")
    home, config = base / "home", base / "settings.yaml"
    config.write_text("service:\n  max_upload_mb: 2\ndossier:\n  rebuild_every_s: 1\n", encoding="utf-8")
    tokens = {role: cli(home, "token", "create", f"{role}-1", "--role", role, config=config).stdout.strip()
              for role in ("device", "operator", "admin")}
    tokens["device2"] = cli(home, "token", "create", "device-2", "--role", "device", config=config).stdout.strip()
    assert all(t.startswith("edo_") for t in tokens.values()), tokens
    running = Service(home, config).start()
    yield running, tokens
    running.stop()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def wait_settled(url: str, token: str, stack_id: int, limit: float = 300) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = httpx.get(f"{url}/api/v1/stacks/{stack_id}", headers=auth(token), timeout=10).json()
        if state["settled"] and state["state"] == "closed":
            return state
        time.sleep(0.5)
    raise AssertionError(f"stack {stack_id} never settled: {state}")


def test_pages_uploaded_by_a_device_reach_the_dossier(service, paper):
    svc, tokens = service
    device, operator = auth(tokens["device"]), auth(tokens["operator"])
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={"case_no": paper["case_no"], "device": "scanner-1"},
                       headers=device).json()
    files = paper["complaint"] + [paper["judgment"]]
    answers = [httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/files", headers=device, timeout=30,
                          files={"file": (f"p{i}.png", data, "image/png")}, data={"seq": str(i)})
               for i, data in enumerate(files)]
    assert [a.status_code for a in answers] == [201] * len(files)
    import hashlib
    assert [a.json()["sha256"] for a in answers] == [hashlib.sha256(d).hexdigest() for d in files]
    again = httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/files", headers=device,
                       files={"file": ("p0.png", files[0], "image/png")}, data={"seq": "0"})
    assert again.status_code == 200 and again.json()["id"] == answers[0].json()["id"]
    assert httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/close", headers=device).status_code == 200
    state = wait_settled(svc.url, tokens["device"], stack["id"])
    assert state["pages"]["done"] == len(files) and len(state["files"]) == len(files)

    case = httpx.get(f"{svc.url}/api/v1/cases/{quote(paper['case_no'])}", headers=operator).json()
    assert [d["type_code"] for d in case["documents"]] == ["COMPLAINT", "JUDGMENT"]
    assert case["pages"]["digitised"] == len(files)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        manifest = httpx.get(f"{svc.url}/api/v1/cases/{quote(paper['case_no'])}/manifest.json", headers=operator)
        if manifest.status_code == 200 and manifest.json()["digitisation"]["pages_digitised"] == len(files):
            break
        time.sleep(0.5)
    volume = httpx.get(f"{svc.url}/api/v1/cases/{quote(paper['case_no'])}/volumes/ZJ.pdf", headers=operator)
    assert volume.status_code == 200 and volume.headers["content-type"] == "application/pdf"
    with pikepdf.open(io.BytesIO(volume.content)) as pdf:
        assert len(pdf.pages) == manifest.json()["volumes"][0]["pdf_pages"]
    page_id = case["documents"][0]["page_ids"][0]
    page = httpx.get(f"{svc.url}/api/v1/pages/{page_id}", headers=operator).json()
    assert "起诉状" in "".join(page["text"].split()) and page["layout"]["lines"]
    image = httpx.get(f"{svc.url}{page['image']}", headers=operator)
    magic = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG"}       # grey and colour pages; two-level
    assert image.content.startswith(magic[image.headers["content-type"]])
    for path in (f"/api/v1/pages/{page_id}", f"/api/v1/cases/{quote(paper['case_no'])}/volumes/ZJ.pdf",
                 f"/api/v1/cases/{quote(paper['case_no'])}/manifest.json"):
        assert httpx.get(f"{svc.url}{path}", headers=device).status_code == 403     # the record: operators only


def test_every_client_needs_its_own_valid_token(service, paper):
    svc, tokens = service
    assert httpx.get(f"{svc.url}/api/v1/cases").status_code == 401
    bad = httpx.get(f"{svc.url}/api/v1/cases", headers=auth("edo_not-a-token"))
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorised"
    assert httpx.get(f"{svc.url}/api/v1/cases", headers=auth(tokens["device"])).status_code == 403
    assert httpx.get(f"{svc.url}/api/v1/quarantine", headers=auth(tokens["device"])).status_code == 403
    assert httpx.get(f"{svc.url}/api/v1/tokens", headers=auth(tokens["operator"])).status_code == 403
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={}, headers=auth(tokens["device"])).json()
    other = httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=auth(tokens["device2"]))
    assert other.status_code == 403
    made = httpx.post(f"{svc.url}/api/v1/tokens", json={"name": "kiosk-7", "role": "device"},
                      headers=auth(tokens["admin"]))
    assert made.status_code == 201
    secret = made.json()["token"]
    assert httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=auth(secret)).status_code == 403
    listed = httpx.get(f"{svc.url}/api/v1/tokens", headers=auth(tokens["admin"])).json()
    assert "kiosk-7" in [t["name"] for t in listed] and secret not in json.dumps(listed)
    assert httpx.delete(f"{svc.url}/api/v1/tokens/kiosk-7", headers=auth(tokens["admin"])).status_code == 200
    assert httpx.post(f"{svc.url}/api/v1/stacks", json={}, headers=auth(secret)).status_code == 401
    listed = cli(svc.home, "token", "list", "--json", config=svc.config)
    rows = {t["name"]: t for t in json.loads(listed.stdout)}
    assert rows["kiosk-7"]["revoked_at"] and rows["device-2"]["revoked_at"] is None
    assert not any(t.startswith("edo_") for t in listed.stdout.split('"'))
    assert cli(svc.home, "token", "revoke", "device-2", config=svc.config).returncode == 0
    assert httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=auth(tokens["device2"])).status_code == 401
    assert cli(svc.home, "token", "revoke", "device-2", config=svc.config).returncode == 7


def test_bad_requests_get_a_reason_and_the_right_status(service, paper):
    svc, tokens = service
    device = auth(tokens["device"])
    malformed = httpx.post(f"{svc.url}/api/v1/stacks", json={"case_no": "not a case"}, headers=device)
    assert malformed.status_code == 422 and malformed.json()["code"] == "bad_case_number"
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={}, headers=device).json()
    url = f"{svc.url}/api/v1/stacks/{stack['id']}/files"
    text = httpx.post(url, headers=device, files={"file": ("notes.txt", b"just some text\n" * 20, "text/plain")})
    assert text.status_code == 415 and "notes.txt" in text.json()["reason"]
    big = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)
    too_large = httpx.post(url, headers=device, files={"file": ("big.pdf", big, "application/pdf")}, timeout=60)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    first = httpx.post(url, headers=device, files={"file": ("a.png", paper["judgment"], "image/png")},
                       data={"seq": "0"})
    assert first.status_code == 201
    clash = httpx.post(url, headers=device, files={"file": ("b.png", paper["complaint"][0], "image/png")},
                       data={"seq": "0"})
    assert clash.status_code == 409 and clash.json()["code"] == "position_taken"
    httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/close", headers=device)
    closed = httpx.post(url, headers=device, files={"file": ("c.png", paper["complaint"][1], "image/png")})
    assert closed.status_code == 409 and closed.json()["code"] == "stack_closed"


def test_same_file_at_one_position_from_two_clients_at_once_is_one_entry(service, paper):
    svc, tokens = service
    operator = auth(tokens["operator"])
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={}, headers=operator).json()
    url = f"{svc.url}/api/v1/stacks/{stack['id']}/files"
    answers: list = []
    barrier = threading.Barrier(4)

    def send() -> None:
        barrier.wait()
        answers.append(httpx.post(url, headers=operator, timeout=30, data={"seq": "3"},
                                  files={"file": ("same.png", paper["complaint"][0], "image/png")}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    files = httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=operator).json()["files"]
    assert [(f["seq"], f["name"]) for f in files] == [(3, "same.png")]


def test_identity_numbers_are_masked_in_lists(service, paper):
    svc, tokens = service
    person = make_person(random.Random(5))
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={}, headers=auth(tokens["operator"])).json()
    name = f"身份证{person.id_number}.png"
    httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/files", headers=auth(tokens["operator"]),
               files={"file": (name, paper["complaint"][1], "image/png")})
    listing = httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=auth(tokens["operator"])).text
    assert person.id_number not in listing and person.id_number[-4:] in listing


def test_health_metrics_and_api_documentation(service):
    svc, _ = service
    health = httpx.get(f"{svc.url}/healthz").json()
    assert health["status"] == "ok" and set(health["queues"]) == {"inspect", "ocr", "classify", "assemble"}
    metrics = httpx.get(f"{svc.url}/metrics").text
    for line in ('edossier_queue_depth{queue="ocr"}', 'edossier_pages_total{state="done"}',
                 "edossier_page_latency_seconds_bucket"):
        assert line in metrics
    spec = httpx.get(f"{svc.url}/openapi.json").json()
    assert "/api/v1/stacks/{stack_id}/files" in spec["paths"] and "/api/v1/quarantine/{item_id}/retry" in spec["paths"]
    assert httpx.get(f"{svc.url}/docs").status_code == 200
