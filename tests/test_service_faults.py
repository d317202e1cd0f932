"""Faults on one machine: `edossier serve` killed with SIGKILL during an upload and while its workers digitise.
Pages are delayed, never lost and never done twice."""
from __future__ import annotations

import random
import socket
import sqlite3
import time

import httpx
import pytest

from servers import Service, cli, page_png
from synth.documents import civil_case, make_court


@pytest.fixture(scope="module")
def pages():
    case = civil_case(random.Random(41), make_court(random.Random(41)))
    chosen = [p for d in case.documents for p in d.pages][:6]
    return case.case_no, [page_png(p) for p in chosen]


@pytest.fixture
def service(tmp_path):
    home, config = tmp_path / "home", tmp_path / "settings.yaml"
    config.write_text("dossier:\n  rebuild_every_s: 1\n", encoding="utf-8")
    token = cli(home, "token", "create", "scanner-1", "--role", "operator", config=config).stdout.strip()
    running = Service(home, config).start()
    yield running, {"Authorization": f"Bearer {token}"}
    running.stop()


def _rows(home, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "catalogue.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def _half_upload(url: str, headers: dict, stack_id: int, data: bytes) -> socket.socket:
    """Send the headers and half the body of a multipart upload, then stop: the server is mid-upload."""
    boundary = "edossierboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"seq\"\r\n\r\n0\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p0.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)))
    head = (f"POST /api/v1/stacks/{stack_id}/files HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    conn.sendall(head + body[: len(body) // 2])
    return conn


def test_serve_killed_during_an_upload_stores_it_once_after_the_retry(service, pages):
    svc, headers = service
    case_no, files = pages
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={"case_no": case_no}, headers=headers).json()
    conn = _half_upload(svc.url, headers, stack["id"], files[0])
    time.sleep(0.5)
    svc.kill()
    conn.close()
    assert _rows(svc.home, "select count(*) from entries") == [(0,)]          # nothing acknowledged, nothing kept
    svc.start()
    upload = lambda: httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/files", headers=headers, timeout=30,
                                files={"file": ("p0.png", files[0], "image/png")}, data={"seq": "0"})
    first, again = upload(), upload()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert _rows(svc.home, "select seq from entries") == [(0,)]


def test_serve_killed_while_digitising_loses_and_repeats_no_page(service, pages):
    svc, headers = service
    case_no, files = pages
    stack = httpx.post(f"{svc.url}/api/v1/stacks", json={"case_no": case_no}, headers=headers).json()
    for seq, data in enumerate(files):
        answer = httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/files", headers=headers, timeout=30,
                            files={"file": (f"p{seq}.png", data, "image/png")}, data={"seq": str(seq)})
        assert answer.status_code == 201
    httpx.post(f"{svc.url}/api/v1/stacks/{stack['id']}/close", headers=headers)
    deadline = time.monotonic() + 120
    while _rows(svc.home, "select count(*) from pages where status='done'")[0][0] < 1:
        assert time.monotonic() < deadline, "no page was ever digitised"
        time.sleep(0.2)
    svc.kill()                                   # the service and its workers, as in a power cut
    done_at_kill = _rows(svc.home, "select count(*) from pages where status='done'")[0][0]
    assert done_at_kill < len(files), "too late: every page was already done"
    svc.start()
    deadline = time.monotonic() + 300
    while True:
        state = httpx.get(f"{svc.url}/api/v1/stacks/{stack['id']}", headers=headers).json()
        if state["settled"]:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["pages"] == {"pending": 0, "done": len(files), "failed": 0, "stuck": 0}
    assert _rows(svc.home, "select count(*), count(distinct entry_id) from pages") == [(len(files), len(files))]
    assert _rows(svc.home, "select count(*) from quarantine") == [(0,)]
    placed = _rows(svc.home, "select count(*), count(distinct page_id) from document_pages")
    assert placed == [(len(files), len(files))]
