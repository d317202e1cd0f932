"""SANE scanners through pyinsane2, against SANE's own `test` and `pnm` backends as real devices (a private
SANE_CONFIG_DIR, never the stock /etc/sane.d): an ADF stack into a case end to end, a jam mid-feed resumed, a sheet
fed again after the jam, cover open, busy, duplex collation with blank backs, a flatbed page OCR'd, and a remote
`edossier serve` stopped mid-stack while the pages wait in the scanner's spool."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servers import ROOT, Service, cli
from shared import missing

CASE = "（2024）浙0803民初1234号"


@pytest.fixture(scope="session")
def sane_dir(tmp_path_factory) -> Path:
    """A private SANE configuration with the test and pnm backends; A4 pages from the test backend."""
    stock = Path("/etc/sane.d/test.conf")
    if not stock.is_file() or shutil.which("scanimage") is None:
        missing("the SANE test backend (libsane1, sane-utils)", "apt-get install libsane1 sane-utils")
    folder = tmp_path_factory.mktemp("sane.d")
    (folder / "dll.conf").write_text("test\npnm\n")
    lines = []
    for line in stock.read_text().splitlines():
        key = line.split(" ", 1)[0]
        lines.append({"geometry_max": "geometry_max 300.0", "br_x": "br_x 210.0", "br_y": "br_y 297.0"}.get(key, line))
    (folder / "test.conf").write_text("\n".join(lines) + "\n")
    os.environ["SANE_CONFIG_DIR"] = str(folder)      # read once, when this process first initialises SANE
    return folder


@pytest.fixture
def ctx(home, sane_dir):
    from config.settings import load_settings
    from ingest.context import build_context
    return build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))


class Desk:
    """The operator, scripted: what to do at each question, and the device's world changed between pages."""

    def __init__(self, device, *, resume=True, after_page=None, on_resume=None, on_turn=None, sheets=()):
        self.device, self.resume, self.after_page = device, resume, after_page or {}
        self.on_resume, self.on_turn, self.sheets = on_resume, on_turn, list(sheets)
        self.troubles, self.turned = [], 0

    def captured(self, pages, capture):
        if pages in self.after_page:
            for name, value in self.after_page[pages].items():
                self.device.set_option(name, value)

    def trouble(self, error, pages):
        self.troubles.append((error.state.value, pages))
        if len(self.troubles) > 3:
            return False
        if self.resume and self.on_resume:
            for name, value in self.on_resume.items():
                self.device.set_option(name, value)
        return self.resume

    def turn_over(self, fronts):
        self.turned = fronts
        for name, value in (self.on_turn or {}).items():
            self.device.set_option(name, value)
        return self.on_turn is not None

    def another(self, pages):
        if not self.sheets:
            return False
        self.device.set_option("filename", str(self.sheets.pop(0)))
        return True


def session(ctx, device, desk, *, collate=False, expect=None, source="adf", dpi=100):
    from devices.base import ScanSettings
    from ingest import scan
    from ingest.capture import LocalSink, StackSpec, session_key
    sink = LocalSink(ctx, "test-desk")
    result = scan.run(device, sink, StackSpec(session_key(device.id), CASE, device.id),
                      scan.Plan(ScanSettings(source=source, dpi=dpi), collate=collate, expect=expect), desk)
    return result, ctx.catalogue.entries_of_stack(sink.stack.id)


def scanner(options=None, name="test:0"):
    from devices.sane import SaneScanner
    # the test backend keeps option values across opens in one process: every test states the ones it uses
    return SaneScanner("desk-1", name, {"test-picture": "Grid", "read-return-value": "Default", **(options or {})})


def provenance(entries) -> list[tuple[int, str, int]]:
    return [(e.seq, json.loads(e.provenance)["side"], json.loads(e.provenance)["sheet"]) for e in entries]


def test_the_test_device_is_listed_ready_with_its_sources(sane_dir):
    info = scanner().info()
    assert info.state.value == "ready"
    assert info.capabilities["sources"] == ["adf", "flatbed"]
    assert scanner(name="nosuch:0").info().state.value == "offline"


def test_a_jam_after_page_3_keeps_the_pages_and_resumes_at_the_next_sheet(ctx):
    device = scanner()
    # 10 sheets: a jam on the 4th; the operator loads the 7 left (the feeder empties after them)
    desk = Desk(device, after_page={3: {"read-return-value": "SANE_STATUS_JAMMED"},
                                    10: {"read-return-value": "SANE_STATUS_NO_DOCS"}},
                on_resume={"read-return-value": "Default", "test-picture": "Color pattern"})
    result, entries = session(ctx, device, desk, expect=10)
    assert desk.troubles == [("jammed", 3)]
    assert "paper jam" in result.troubles[0] and result.stopped is None
    assert [e.seq for e in entries] == list(range(10)) and result.reconciled
    assert [s for _, _, s in provenance(entries)] == [1, 2, 3, 1, 2, 3, 4, 5, 6, 7]
    assert not result.rescans


def test_the_last_sheet_fed_again_after_a_jam_is_not_filed_twice(ctx):
    device = scanner()
    # the operator puts the 3rd sheet back with the 7 left: the same picture again, not filed twice
    desk = Desk(device, after_page={3: {"read-return-value": "SANE_STATUS_JAMMED"},
                                    10: {"read-return-value": "SANE_STATUS_NO_DOCS"}},
                on_resume={"read-return-value": "Default"})
    result, entries = session(ctx, device, desk, expect=10)
    assert len(result.rescans) == 1 and len(entries) == 10 and result.reconciled


@pytest.mark.parametrize("status, state, words", [("SANE_STATUS_COVER_OPEN", "cover open", "cover"),
                                                  ("SANE_STATUS_DEVICE_BUSY", "busy", "busy")])
def test_cover_open_and_busy_stop_with_a_message_and_nothing_filed(ctx, status, state, words):
    device = scanner({"read-return-value": status})
    desk = Desk(device, resume=False)
    result, entries = session(ctx, device, desk)
    assert desk.troubles == [(state, 0)] and words in result.stopped and entries == []


def test_duplex_collation_files_each_back_after_its_front_and_blank_backs_do_not_count(ctx):
    device = scanner()
    desk = Desk(device, on_turn={"test-picture": "Solid white"})
    result, entries = session(ctx, device, desk, collate=True, expect=10)
    assert desk.turned == 10
    assert result.pages == 20 and result.blank_backs == 10 and result.reconciled
    sides = provenance(entries)
    assert [seq for seq, _, _ in sides] == list(range(20))
    assert sides[0::2] == [(2 * i, "front", i + 1) for i in range(10)]
    assert sides[1::2] == [(2 * i + 1, "back", i + 1) for i in range(10)]
    # the backs came off the turned stack last sheet first
    backs = sorted((e for e in entries if json.loads(e.provenance)["side"] == "back"), key=lambda e: e.id)
    assert [json.loads(e.provenance)["sheet"] for e in backs] == list(range(10, 0, -1))


def test_a_flatbed_stack_through_the_pnm_backend_is_read(ctx, tmp_path):
    from PIL import Image
    from synth.documents import civil_case, make_court
    import random
    from servers import page_png
    case = civil_case(random.Random(5), make_court(random.Random(5)))
    complaint = next(d for d in case.documents if d.type_code == "COMPLAINT")
    files = []
    for i, page in enumerate(complaint.pages[:2]):
        path = tmp_path / f"sheet{i}.ppm"
        import io
        Image.open(io.BytesIO(page_png(page))).convert("RGB").save(path)
        files.append(path)
    from devices.sane import SaneScanner
    device = SaneScanner("glass-1", "pnm:0", {"filename": str(files[0])})
    result, entries = session(ctx, device, Desk(device, sheets=files[1:]), source="flatbed", dpi=300)
    assert result.pages == 2 and [json.loads(e.provenance)["source"] for e in entries] == ["flatbed"] * 2
    done = subprocess.run([sys.executable, "-m", "ingest", "worker", "--burst"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "EDOSSIER_HOME": str(ctx.settings.home)})
    assert done.returncode == 0, done.stderr[-2000:]
    texts = [p["text"] or "" for p in ctx.catalogue.pages_of_stack(entries[0].stack_id)]
    assert "民事起诉状" in "".join(texts[0].split())


def test_an_adf_stack_scanned_from_the_command_line_lands_in_the_case(home, sane_dir, tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("devices:\n  declared:\n    desk-1:\n      address: sane:test:0\n      dpi: 100\n"
                      "      options: {test-picture: Grid}\n", encoding="utf-8")
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(config)}
    listed = subprocess.run([sys.executable, "-m", "ingest", "devices", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert json.loads(listed.stdout)[0] | {"capabilities": None} == {
        "id": "desk-1", "kind": "sane", "address": "sane:test:0", "state": "ready", "detail": "", "name": "",
        "capabilities": None}
    run = subprocess.run([sys.executable, "-m", "ingest", "scan", "--device", "desk-1", "--case", CASE,
                          "--expect", "10", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["verdict"] == "all 10 expected page(s) scanned"
    status = json.loads(subprocess.run([sys.executable, "-m", "ingest", "status", CASE, "--json"], cwd=ROOT,
                                       env=env, capture_output=True, text=True, timeout=120).stdout)
    assert status["pages"]["received"] == 10 and status["pages"]["digitised"] == 10, status
    short = subprocess.run([sys.executable, "-m", "ingest", "scan", "--device", "desk-1", "--case", CASE,
                            "--expect", "11", "--no-wait"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=600, stdin=subprocess.DEVNULL)
    assert short.returncode == 8 and "1 page(s) missing: 10 scanned of 11 expected" in short.stdout


def test_cover_open_on_the_command_line_exits_9_with_the_pages_kept(home, sane_dir, tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("devices:\n  declared:\n    desk-1:\n      address: sane:test:0\n      dpi: 100\n"
                      "      options: {read-return-value: SANE_STATUS_COVER_OPEN}\n", encoding="utf-8")
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(config)}
    run = subprocess.run([sys.executable, "-m", "ingest", "scan", "--device", "desk-1", "--no-wait"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 9 and "cover" in run.stderr and "stopped:" in run.stdout


def test_pages_wait_in_the_spool_while_the_server_is_down_and_arrive_once_each(home, sane_dir, tmp_path):
    server_home, config = tmp_path / "server", tmp_path / "server.yaml"
    config.write_text("dossier:\n  rebuild_every_s: 1\n", encoding="utf-8")
    token = cli(server_home, "token", "create", "scanner-1", "--role", "device", config=config).stdout.strip()
    operator = cli(server_home, "token", "create", "desk", "--role", "operator", config=config).stdout.strip()
    service = Service(server_home, config).start()
    scanner_config = tmp_path / "scanner.yaml"
    scanner_config.write_text(
        "devices:\n  declared:\n    desk-1:\n      address: sane:test:0\n      dpi: 100\n      options:\n"
        "        test-picture: Grid\n        read-delay: true\n        read-delay-duration: 150000\n",
        encoding="utf-8")
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(scanner_config),
           "EDOSSIER_TOKEN": token}
    scan = subprocess.Popen([sys.executable, "-m", "ingest", "scan", "--device", "desk-1", "--case", CASE,
                             "--expect", "10", "--server", service.url, "--json"], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    headers = {"Authorization": f"Bearer {operator}"}
    try:
        _until(lambda: _files(service.url, headers) >= 2, "two pages on the server")
        service.kill()
        spool = home / "spool" / "capture"
        _until(lambda: len(list(spool.glob("*/*.page"))) >= 2, "pages waiting in the spool")
        service.start()
        out, err = scan.communicate(timeout=300)
    finally:
        if scan.poll() is None:
            scan.kill()
        service.stop()
    assert scan.returncode == 0, err[-3000:]
    assert "unreachable" in err and "wait in" in err
    assert json.loads(out)["verdict"] == "all 10 expected page(s) scanned"
    service.start()
    try:
        stacks = httpx.get(f"{service.url}/api/v1/cases/{CASE}", headers=headers, timeout=10)
        assert stacks.status_code == 200
        files = _stack_files(service.url, headers)
    finally:
        service.stop()
    assert sorted(f["seq"] for f in files) == list(range(10))
    assert [f["provenance"]["sheet"] for f in sorted(files, key=lambda f: f["seq"])] == list(range(1, 11))
    assert not list((home / "spool" / "capture").glob("*/*"))


def test_the_service_lists_declared_devices_with_their_state_to_operators_only(home, sane_dir, tmp_path):
    config = tmp_path / "server.yaml"
    config.write_text("devices:\n  declared:\n    desk-1:\n      address: sane:test:0\n      name: Desk 1 feeder\n"
                      "    desk-9:\n      address: sane:nosuch:9\n    share:\n      address: folder:/nonexistent/in\n",
                      encoding="utf-8")
    operator = cli(home, "token", "create", "desk", "--role", "operator", config=config).stdout.strip()
    device = cli(home, "token", "create", "scanner-1", "--role", "device", config=config).stdout.strip()
    service = Service(home, config).start()
    try:
        listed = httpx.get(f"{service.url}/api/v1/devices", headers={"Authorization": f"Bearer {operator}"},
                           timeout=60)
        refused = httpx.get(f"{service.url}/api/v1/devices", headers={"Authorization": f"Bearer {device}"},
                            timeout=60)
    finally:
        service.stop()
    states = {d["id"]: (d["state"], d["name"]) for d in listed.json()}
    assert states == {"desk-1": ("ready", "Desk 1 feeder"), "desk-9": ("offline", ""), "share": ("offline", "")}
    assert next(d for d in listed.json() if d["id"] == "desk-1")["capabilities"]["sources"] == ["adf", "flatbed"]
    assert refused.status_code == 403


def _until(condition, what: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"never saw {what}")


def _stack_files(url: str, headers: dict) -> list[dict]:
    try:
        return httpx.get(f"{url}/api/v1/stacks/1", headers=headers, timeout=5).json().get("files", [])
    except httpx.HTTPError:
        return []


def _files(url: str, headers: dict) -> int:
    return len(_stack_files(url, headers))
