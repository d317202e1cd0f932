"""Hot folders, with real watchdog observers (inotify and polling alike): a file written slowly in chunks is not taken
early, a rename into place is taken at once, a truncated PDF lands in failed/ with its reason, and a watcher killed
mid-batch and started again files every file exactly once."""
from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT

CASE = "（2024）浙0803民初1234号"


@pytest.fixture(params=[False, True], ids=["events", "polling"])
def poll(request) -> bool:
    return request.param


def _page(n: int) -> bytes:
    """A small scan of its own: no two pages have the same bytes."""
    image = Image.new("L", (620, 877), 255)
    ImageDraw.Draw(image).rectangle((40 + 9 * n, 60, 300 + 9 * n, 90 + 4 * n), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(75, 75))
    return out.getvalue()


def _pdf() -> bytes:
    out = io.BytesIO()
    Image.new("L", (620, 877), 255).save(out, format="PDF", resolution=75)
    return out.getvalue()


def _offers_until(folder, seconds: float) -> list:
    found, end = [], time.monotonic() + seconds
    while time.monotonic() < end and not found:
        found = folder.offers()
        time.sleep(0.05)
    return found


def test_a_file_written_slowly_in_chunks_is_taken_only_when_complete(tmp_path, poll):
    from devices.hotfolder import HotFolder
    folder = HotFolder(tmp_path, poll=poll, settle_s=0.8, rescan_s=60, poll_s=0.2).start()
    try:
        data, target = _pdf(), tmp_path / "scan.pdf"
        chunks = [data[i:i + max(1, len(data) // 8)] for i in range(0, len(data), max(1, len(data) // 8))]
        early = []

        def write_slowly() -> None:
            with target.open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    handle.flush()
                    time.sleep(0.3)           # pauses shorter than the settle time

        writer = threading.Thread(target=write_slowly)
        writer.start()
        while writer.is_alive():
            early += folder.offers()
            time.sleep(0.05)
        assert early == []
        offers = _offers_until(folder, 10)
        assert [(o.relative, o.reason) for o in offers] == [(Path("scan.pdf"), None)]
        assert offers[0].path.read_bytes() == data
    finally:
        folder.stop()


def test_a_file_renamed_into_place_is_taken_at_once(tmp_path, poll):
    from devices.hotfolder import HotFolder
    folder = HotFolder(tmp_path, poll=poll, settle_s=60, rescan_s=600, poll_s=0.2).start()
    try:
        temporary = tmp_path / "scan.png.part"
        temporary.write_bytes(_page(1))
        assert _offers_until(folder, 1.0) == []                  # a temporary name is never taken
        temporary.rename(tmp_path / "scan.png")
        started = time.monotonic()
        offers = _offers_until(folder, 5)
        assert [(o.relative, o.reason) for o in offers] == [(Path("scan.png"), None)]
        assert time.monotonic() - started < 5                    # far sooner than the 60 s settle time
    finally:
        folder.stop()


def test_a_truncated_pdf_goes_to_failed_with_its_reason_and_the_rest_is_filed(tmp_path, edossier):
    inbox = tmp_path / "inbox"
    (inbox / CASE).mkdir(parents=True)
    (inbox / CASE / "page.png").write_bytes(_page(2))
    whole = _pdf()
    (inbox / "cut.pdf").write_bytes(whole[: len(whole) // 2])
    (inbox / "broken.png").write_bytes(_page(3)[:300])
    result = edossier("watch", inbox, "--once", "--json", env={"EDOSSIER_CONFIG": str(_settings(tmp_path))})
    assert result.code == 3, result.stderr
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["broken.png", "broken.png.reason.txt",
                                                                   "cut.pdf", "cut.pdf.reason.txt"]
    assert "PDF without %%EOF" in (inbox / "failed" / "cut.pdf.reason.txt").read_text(encoding="utf-8")
    assert "image does not decode" in (inbox / "failed" / "broken.png.reason.txt").read_text(encoding="utf-8")
    assert (inbox / "done" / CASE / "page.png").is_file() and not (inbox / CASE / "page.png").exists()
    assert '"taken": true, "case_no": "（2024）浙0803民初1234号"' in result.stdout
    status = edossier("status", CASE, "--json")
    assert status.code == 0 and status.json()["pages"]["digitised"] == 1


def test_a_watcher_killed_mid_batch_and_restarted_files_every_file_once(tmp_path, poll):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    (inbox / CASE).mkdir(parents=True)
    names = [f"{n:02d}.png" for n in range(8)]
    for n, name in enumerate(names):
        (inbox / CASE / name).write_bytes(_page(n))
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(_settings(tmp_path))}
    args = [sys.executable, "-m", "ingest", "watch", str(inbox)] + (["--poll"] if poll else [])
    watcher = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        taken = 0
        for line in watcher.stdout:
            taken += line.startswith("taken:")
            if taken >= 3:
                break
        assert taken >= 3
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(30)
    again = subprocess.run(args + ["--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (inbox / "done" / CASE).iterdir()) == names
    assert list((inbox / CASE).iterdir()) == []
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        entries = db.execute("select count(*), count(distinct sha256) from entries").fetchone()
        done = db.execute("select count(*) from pages where status = 'done'").fetchone()[0]
    assert entries == (8, 8) and done == 8


def test_a_file_imported_just_before_a_crash_is_moved_and_not_filed_again(tmp_path):
    """The crash window itself: the file is in the catalogue, but the watcher died before moving it to done/."""
    from config.settings import load_settings
    from devices.hotfolder import HotFolder, Offer
    from ingest.capture import LocalSink
    from ingest.context import build_context
    from ingest.watch import _import, watch
    inbox = tmp_path / "inbox"
    (inbox / CASE).mkdir(parents=True)
    (inbox / CASE / "a.png").write_bytes(_page(4))
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(tmp_path / "home")}))
    folder = HotFolder(inbox, settle_s=0.3, rescan_s=60).start()
    try:
        _import(Offer(inbox / CASE / "a.png", Path(CASE) / "a.png"), LocalSink(ctx, "test"), "inbox", CASE)
        outcomes = watch(folder, lambda: LocalSink(ctx, "test"), device="inbox", stop=threading.Event(), once=True)
    finally:
        folder.stop()
    assert [(o.file, o.taken, o.case_no) for o in outcomes] == [(f"{CASE}/a.png", True, CASE)]
    assert (inbox / "done" / CASE / "a.png").is_file()
    with sqlite3.connect(tmp_path / "home" / "catalogue.sqlite3") as db:
        assert db.execute("select count(*) from entries").fetchone()[0] == 1


def _settings(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text("devices:\n  settle_s: 0.5\n  rescan_s: 5\n", encoding="utf-8")
    return path


def test_a_hot_folder_feeds_a_remote_service_with_a_device_token(tmp_path):
    """`edossier watch --server`: each file lands once in the server's catalogue, in the case its folder names."""
    import httpx
    from servers import Service, cli
    server_home, config = tmp_path / "server", tmp_path / "server.yaml"
    config.write_text("dossier:\n  rebuild_every_s: 1\n", encoding="utf-8")
    token = cli(server_home, "token", "create", "mfp-1", "--role", "device", config=config).stdout.strip()
    operator = cli(server_home, "token", "create", "desk", "--role", "operator", config=config).stdout.strip()
    inbox = tmp_path / "inbox"
    (inbox / CASE).mkdir(parents=True)
    for n in range(3):
        (inbox / CASE / f"{n}.png").write_bytes(_page(10 + n))
    service = Service(server_home, config).start()
    try:
        env = {**os.environ, "EDOSSIER_HOME": str(tmp_path / "station"), "EDOSSIER_TOKEN": token,
               "EDOSSIER_CONFIG": str(_settings(tmp_path))}
        ran = subprocess.run([sys.executable, "-m", "ingest", "watch", str(inbox), "--once", "--server", service.url],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert ran.returncode == 0, ran.stderr[-3000:]
        quarantine = httpx.get(f"{service.url}/api/v1/quarantine", headers={"Authorization": f"Bearer {operator}"},
                               timeout=30)
    finally:
        service.stop()
    assert quarantine.status_code == 200 and quarantine.json() == []
    assert sorted(p.name for p in (inbox / "done" / CASE).iterdir()) == ["0.png", "1.png", "2.png"]
    assert not list((tmp_path / "station" / "spool" / "capture").glob("*/*.page"))
    with sqlite3.connect(server_home / "catalogue.sqlite3") as db:
        rows = db.execute("select name, case_no, client from entries order by name").fetchall()
    assert rows == [("0.png", CASE, "mfp-1"), ("1.png", CASE, "mfp-1"), ("2.png", CASE, "mfp-1")]
