"""eSCL (AirScan) network scanners: the adapter (`devices/escl.py`) against the simulated device
(`devices/escl_simulator.py`) on 127.0.0.1 — an ADF stack one- and two-sided, a device not ready yet, a jam, an
empty feeder, an open door, an empty and a broken page, the glass, capabilities and an unreachable address — and the
simulator's honesty checked by scanning the same scenarios from it with Debian's real eSCL client, sane-airscan,
through `scanimage` and a private SANE_CONFIG_DIR. Every job either client opens is deleted again."""
from __future__ import annotations

import glob
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from devices.base import DeviceError, DeviceState, ScanSettings
from devices.escl import EsclScanner
from devices.escl_simulator import EsclSimulator
from shared import missing

ROOT = Path(__file__).resolve().parents[1]
CASE = "（2024）浙0803民初1234号"
PAGE = (620, 877)                  # a page image: an A4 sheet at 75 dpi
BAR = 40                           # page n carries a black bar n × BAR pixels wide


@pytest.fixture
def sim():
    simulator = EsclSimulator().start()
    yield simulator
    simulator.stop()


def page(n: int) -> Image.Image:
    image = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 40 + n * BAR - 1, 200), fill=0)
    for row in range(260, 820, 28):           # lines of "text", so that no page is blank
        draw.rectangle((40, row, 40 + (row * 7 + n * 31) % 420 + 120, row + 10), fill=0)
    return image


def pages(n: int) -> list[Image.Image]:
    return [page(i) for i in range(1, n + 1)]


def which(data: bytes) -> int:
    """The number of the page an encoded capture shows (by the width of its bar)."""
    with Image.open(io.BytesIO(data)) as image:
        gray = np.asarray(image.convert("L"))
    height, width = gray.shape
    band = gray[round(100 / PAGE[1] * height)]                 # a row through the bar
    dark = np.flatnonzero(band < 128)
    return round((dark[-1] - dark[0] + 1) / (BAR * width / PAGE[0]))


def scanner(sim: EsclSimulator, **kwargs) -> EsclScanner:
    return EsclScanner("escl-1", sim.url, **kwargs)


def scan(device: EsclScanner, **settings) -> tuple[list, DeviceError | None]:
    """One pass: the captures, and the device error it ended with (None at a normal end)."""
    captures = []
    try:
        for capture in device.feed(ScanSettings(**{"dpi": 100, **settings})):
            captures.append(capture)
    except DeviceError as error:
        return captures, error
    return captures, None


def statuses(sim: EsclSimulator, ending: str) -> list[int]:
    return [status for method, path, status in sim.requests if path.endswith(ending)]


def all_deleted(sim: EsclSimulator) -> bool:
    return bool(sim.created) and sorted(set(sim.deleted)) == sorted(sim.created)


# the adapter --------------------------------------------------------------------------------------------------------
def test_an_adf_stack_of_three_sheets_is_three_pages_in_order_and_the_job_is_deleted(sim):
    sim.load(pages(3))
    captures, error = scan(scanner(sim))
    assert error is None
    assert [(c.sheet, c.side, c.source, c.dpi, c.suffix) for c in captures] == [
        (n, "front", "adf", 100, ".png") for n in (1, 2, 3)]
    assert [which(c.data) for c in captures] == [1, 2, 3]
    for capture in captures:
        with Image.open(io.BytesIO(capture.data)) as image:
            assert image.format == "PNG" and image.mode == "L" and image.size == (827, 1169)   # A4 at 100 dpi
    assert sim.scan_settings == [{"source": "Feeder", "duplex": False, "mode": "Grayscale8", "resolution": 100,
                                  "region": (0, 0, 2480, 3508), "format": "image/png", "intent": "Document"}]
    assert statuses(sim, "/NextDocument") == [200, 200, 200, 404]
    assert all_deleted(sim) and sim.jobs[sim.created[0].rsplit("/", 1)[1]].state == "Completed"


def test_a_duplex_feeder_gives_front_and_back_of_each_sheet(sim):
    sim.load(pages(4), duplex=True)
    captures, error = scan(scanner(sim), duplex=True, mode="color")
    assert error is None
    assert [(c.sheet, c.side) for c in captures] == [(1, "front"), (1, "back"), (2, "front"), (2, "back")]
    assert [which(c.data) for c in captures] == [1, 2, 3, 4]
    assert sim.scan_settings[0]["duplex"] is True and sim.scan_settings[0]["mode"] == "RGB24"
    with Image.open(io.BytesIO(captures[0].data)) as image:
        assert image.mode == "RGB"
    assert all_deleted(sim)


def test_a_device_not_ready_is_asked_again_after_a_second(sim):
    sim.load(pages(2))
    sim.busy_next(2)
    started = time.monotonic()
    captures, error = scan(scanner(sim))
    assert error is None and [which(c.data) for c in captures] == [1, 2]
    assert statuses(sim, "/NextDocument") == [503, 503, 200, 200, 404]
    assert time.monotonic() - started >= 1.8
    assert all_deleted(sim)


def test_a_device_never_ready_is_busy_within_bounds(sim):
    sim.load(pages(1))
    sim.busy_next(100)
    captures, error = scan(scanner(sim, retry_s=0.01, retries=5))
    assert captures == [] and error.state is DeviceState.BUSY and "not ready after 5 tries" in error.detail
    assert statuses(sim, "/NextDocument") == [503] * 5 and all_deleted(sim)


def test_a_jam_after_sheet_2_keeps_both_pages_and_the_pass_resumes_at_the_jammed_sheet(sim):
    sim.load(pages(4))
    sim.jam_after(2)
    device = scanner(sim)
    captures, error = scan(device)
    assert [which(c.data) for c in captures] == [1, 2]
    assert error.state is DeviceState.JAMMED and "ScannerAdfJam" in error.detail and "paper jam" in str(error)
    assert all_deleted(sim) and sim.adf_state() == "ScannerAdfJam"
    assert device.info().state is DeviceState.JAMMED
    sim.clear_jam()                               # the operator clears it: the jammed sheet is on top again
    captures, error = scan(device)
    assert error is None and [(which(c.data), c.sheet) for c in captures] == [(3, 1), (4, 2)]
    assert len(sim.created) == 2 and all_deleted(sim)


@pytest.mark.parametrize("code", [404, 409])
def test_an_empty_feeder_is_feeder_empty(code):
    with EsclSimulator(empty_code=code) as sim:
        device = scanner(sim)
        assert device.info().state is DeviceState.FEEDER_EMPTY
        captures, error = scan(device)
        assert captures == [] and error.state is DeviceState.FEEDER_EMPTY
        assert statuses(sim, "/NextDocument") == [code] and all_deleted(sim)


def test_an_open_feeder_door_is_cover_open(sim):
    sim.load(pages(2))
    sim.open_door()
    device = scanner(sim)
    assert device.info().state is DeviceState.COVER_OPEN
    captures, error = scan(device)
    assert captures == [] and error.state is DeviceState.COVER_OPEN and "ScannerAdfDoorOpen" in error.detail
    assert all_deleted(sim)
    sim.close_door()
    captures, error = scan(device)
    assert error is None and len(captures) == 2


@pytest.mark.parametrize("fault, words", [("empty_page", "came back empty"), ("broken_page", "is undecodable")])
def test_an_empty_or_broken_page_is_a_device_error_after_the_pages_before_it(sim, fault, words):
    sim.load(pages(4))
    getattr(sim, fault)(3)
    captures, error = scan(scanner(sim))
    assert [which(c.data) for c in captures] == [1, 2]
    assert error.state is DeviceState.OFFLINE and f"page 3 {words}" in error.detail
    assert all_deleted(sim)
    assert sim.jobs[sim.created[0].rsplit("/", 1)[1]].state == "Canceled"


def test_a_session_that_stops_reading_still_deletes_the_job(sim):
    sim.load(pages(3))
    device = scanner(sim)
    feed = device.feed(ScanSettings(dpi=100))
    first = next(feed)
    assert first.sheet == 1 and device.info().state is DeviceState.BUSY    # its job is processing
    feed.close()
    assert all_deleted(sim) and sim.jobs[sim.created[0].rsplit("/", 1)[1]].state == "Canceled"
    assert device.info().state is DeviceState.READY and sim.sheets_left == 2


def test_a_job_open_at_the_device_is_deleted_when_the_scanner_is_closed(sim):
    sim.load(pages(3))
    device = scanner(sim)
    feed = device.feed(ScanSettings(dpi=100))
    next(feed)
    device.close()
    assert sim.deleted == sim.created
    feed.close()
    assert sim.deleted == sim.created                 # once
    captures, error = scan(device)                    # a later pass opens a new connection
    assert error is None and [which(c.data) for c in captures] == [2, 3] and all_deleted(sim)


def test_a_device_busy_with_another_job_is_busy(sim):
    sim.load(pages(2))
    other = httpx.post(f"{sim.url}/ScanJobs", content=b'<scan:ScanSettings xmlns:scan="http://schemas.hp.com/'
                       b'imaging/escl/2011/05/03"><scan:InputSource>Feeder</scan:InputSource></scan:ScanSettings>')
    assert other.status_code == 201
    captures, error = scan(scanner(sim, retry_s=0.01, retries=3))
    assert captures == [] and error.state is DeviceState.BUSY
    assert statuses(sim, "/ScanJobs") == [201, 503, 503, 503]


def test_the_glass_gives_one_page_and_jpeg_when_that_is_all_the_device_sends():
    with EsclSimulator(formats=("image/jpeg",), chunked=False, location_host="escl-sim.invalid:9") as sim:
        sim.place(page(5))
        sim.load(pages(3))                        # the feeder is not touched
        captures, error = scan(scanner(sim), source="flatbed")
        assert error is None and [(c.source, c.sheet, c.suffix) for c in captures] == [("flatbed", 1, ".jpg")]
        assert which(captures[0].data) == 5 and sim.sheets_left == 3
        assert sim.scan_settings[0]["source"] == "Platen" and sim.scan_settings[0]["format"] == "image/jpeg"
        assert all_deleted(sim)                   # by the path alone: the Location named a host that is not there


def test_the_scan_region_follows_the_area_asked_for(sim):
    sim.place(page(2))
    captures, error = scan(scanner(sim), source="flatbed", dpi=150, area_mm=(0.0, 0.0, 105.0, 148.5))
    assert error is None and sim.scan_settings[0]["region"] == (0, 0, 1240, 1754)
    with Image.open(io.BytesIO(captures[0].data)) as image:
        assert image.size == (620, 877)


def test_info_lists_the_capabilities_and_the_state(sim):
    sim.load(pages(1))
    info = scanner(sim).info()
    assert (info.kind, info.address, info.state, info.detail) == ("escl", f"escl:{sim.url}", DeviceState.READY, "")
    caps = info.capabilities
    assert caps["sources"] == ["adf", "flatbed"] and caps["duplex"] is True
    assert caps["modes"] == ["color", "gray", "lineart"] and caps["resolutions"] == [75, 100, 150, 200, 300, 600]
    assert {"image/jpeg", "image/png"} <= set(caps["formats"])
    assert json.dumps(info.as_json())
    simplex_only = EsclSimulator(duplex=False).start()
    try:
        assert scanner(simplex_only).info().capabilities["duplex"] is False
        captures, error = scan(scanner(simplex_only), duplex=True)
        assert error.state is DeviceState.READY and "both sides" in error.detail and not simplex_only.created
    finally:
        simplex_only.stop()


def test_an_unreachable_or_foreign_address_is_offline_and_never_raises_from_info():
    with socket.socket() as probe:               # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    device = EsclScanner("gone", f"http://127.0.0.1:{port}/eSCL", timeout_s=2)
    info = device.info()
    assert info.state is DeviceState.OFFLINE and "ConnectError" in info.detail
    captures, error = scan(device)
    assert captures == [] and error.state is DeviceState.OFFLINE
    with EsclSimulator() as sim:                 # an HTTP server, but not an eSCL root there
        info = EsclScanner("foreign", f"http://127.0.0.1:{sim.port}/other").info()
        assert info.state is DeviceState.OFFLINE and "HTTP 404" in info.detail


# sane-airscan, the real client, against the simulator ----------------------------------------------------------
@pytest.fixture
def airscan(sim, tmp_path):
    """scanimage through sane-airscan with a private configuration naming the simulator, discovery off."""
    if shutil.which("scanimage") is None or not glob.glob("/usr/lib/*/sane/libsane-airscan.so*"):
        missing("sane-airscan and scanimage", "apt-get install sane-airscan sane-utils (scripts/setup.sh does)")
    folder = tmp_path / "sane.d"
    folder.mkdir()
    (folder / "dll.conf").write_text("airscan\n")
    (folder / "airscan.conf").write_text(f'[devices]\n"Sim" = {sim.url}, eSCL\n[options]\ndiscovery = disable\n')
    env = {**os.environ, "SANE_CONFIG_DIR": str(folder)}
    listed = subprocess.run(["scanimage", "-L"], env=env, capture_output=True, text=True, timeout=60)
    names = [line.split("`")[1].split("'")[0] for line in listed.stdout.splitlines() if "`airscan:" in line]
    assert names and names[0].endswith(":Sim"), listed.stdout + listed.stderr
    out = tmp_path / "out"
    out.mkdir()

    def run(source: str, *extra: str) -> tuple[subprocess.CompletedProcess, list[Path]]:
        batch = ["--batch-count=1"] if source == "Flatbed" else []      # the glass never runs out
        done = subprocess.run(["scanimage", "-d", names[0], "--format=png", f"--batch={out}/page%d.png", *batch,
                               "--source", source, "--resolution", "100", "--mode", "Gray", "-x", "210",
                               "-y", "297", *extra], env=env, capture_output=True, text=True, timeout=120)
        files = sorted(out.glob("page*.png"), key=lambda p: int(p.stem[4:]))
        return done, files
    return run


def test_sane_airscan_scans_a_simplex_stack(sim, airscan):
    sim.load(pages(3))
    done, files = airscan("ADF")
    assert done.returncode == 0, done.stderr
    assert "Batch terminated, 3 pages scanned" in done.stderr
    assert [which(f.read_bytes()) for f in files] == [1, 2, 3]
    with Image.open(files[0]) as image:
        assert abs(image.size[0] - 827) <= 2 and abs(image.size[1] - 1169) <= 2
    assert sim.scan_settings[0]["source"] == "Feeder" and sim.scan_settings[0]["mode"] == "Grayscale8"
    assert sim.scan_settings[0]["resolution"] == 100 and all_deleted(sim)


def test_sane_airscan_scans_a_duplex_stack(sim, airscan):
    sim.load(pages(4), duplex=True)
    done, files = airscan("ADF Duplex")
    assert done.returncode == 0, done.stderr
    assert [which(f.read_bytes()) for f in files] == [1, 2, 3, 4]
    assert sim.scan_settings[0]["duplex"] is True and all_deleted(sim)


def test_sane_airscan_waits_out_503s(sim, airscan):
    sim.load(pages(2))
    sim.busy_next(2)
    done, files = airscan("ADF")
    assert done.returncode == 0, done.stderr
    assert len(files) == 2 and statuses(sim, "/NextDocument") == [503, 503, 200, 200, 404]
    assert all_deleted(sim)


def test_sane_airscan_reports_the_jam_after_the_pages_before_it(sim, airscan):
    sim.load(pages(4))
    sim.jam_after(2)
    done, files = airscan("ADF")
    assert done.returncode == 6 and "Document feeder jammed" in done.stderr      # SANE_STATUS_JAMMED
    assert [which(f.read_bytes()) for f in files] == [1, 2] and all_deleted(sim)


@pytest.mark.parametrize("code", [404, 409])
def test_sane_airscan_reports_an_empty_feeder(airscan, sim, code):
    sim.empty_code = code
    done, files = airscan("ADF")
    # scanimage ends a batch at "out of documents" with status 0, even before the first page
    assert done.returncode == 0 and "Document feeder out of documents" in done.stderr and files == []
    assert all_deleted(sim)


def test_sane_airscan_reports_the_open_door(sim, airscan):
    sim.load(pages(2))
    sim.open_door()
    done, files = airscan("ADF")
    assert done.returncode == 8 and "cover is open" in done.stderr and files == []     # SANE_STATUS_COVER_OPEN
    assert all_deleted(sim)


@pytest.mark.parametrize("fault", ["empty_page", "broken_page"])
def test_sane_airscan_fails_on_an_empty_or_broken_page(sim, airscan, fault):
    sim.load(pages(3))
    getattr(sim, fault)(2)
    done, files = airscan("ADF")
    assert done.returncode == 9 and "Error during device I/O" in done.stderr          # SANE_STATUS_IO_ERROR
    assert [which(f.read_bytes()) for f in files] == [1] and all_deleted(sim)


def test_sane_airscan_scans_the_glass(sim, airscan):
    sim.place(page(4))
    done, files = airscan("Flatbed")
    assert done.returncode == 0, done.stderr
    assert [which(f.read_bytes()) for f in files] == [4] and sim.scan_settings[0]["source"] == "Platen"
    assert all_deleted(sim)


# into the catalogue ------------------------------------------------------------------------------------------------
@pytest.fixture
def ctx(home):
    from config.settings import load_settings
    from ingest.context import build_context
    return build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))


class Desk:
    """The operator, scripted: clears the jam (the simulator's) once, then stops at the next trouble."""

    def __init__(self, sim):
        self.sim, self.troubles = sim, []

    def captured(self, pages, capture):
        pass

    def trouble(self, error, pages):
        self.troubles.append((error.state.value, pages))
        self.sim.clear_jam()
        return len(self.troubles) == 1

    def turn_over(self, fronts):
        return False

    def another(self, pages):
        return False


def test_a_jammed_duplex_stack_lands_in_the_catalogue_in_order(ctx, sim):
    from ingest import scan as scanning
    from ingest.capture import LocalSink, StackSpec, session_key
    sim.load(pages(6), duplex=True)
    sim.jam_after(1)
    device = scanner(sim)
    desk = Desk(sim)
    sink = LocalSink(ctx, "test-desk")
    result = scanning.run(device, sink, StackSpec(session_key(device.id), CASE, device.id),
                          scanning.Plan(ScanSettings(dpi=100, duplex=True), expect=6), desk)
    device.close()
    assert desk.troubles == [("jammed", 2)] and result.stopped is None and result.reconciled
    entries = ctx.catalogue.entries_of_stack(sink.stack.id)
    assert [e.seq for e in entries] == list(range(6))
    sides = [(json.loads(e.provenance)["side"], json.loads(e.provenance)["sheet"]) for e in entries]
    assert sides == [("front", 1), ("back", 1), ("front", 1), ("back", 1), ("front", 2), ("back", 2)]
    assert all_deleted(sim) and len(sim.created) == 2


def test_a_stack_scanned_from_the_command_line_and_a_jam_there(home, sim, tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text(f"devices:\n  declared:\n    desk-3:\n      address: escl:http://127.0.0.1:{sim.port}\n"
                      "      dpi: 100\n", encoding="utf-8")
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CONFIG": str(config)}
    sim.load(pages(3))
    run = subprocess.run([sys.executable, "-m", "ingest", "scan", "--device", "desk-3", "--case", CASE,
                          "--expect", "3", "--no-wait", "--json"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["verdict"] == "all 3 expected page(s) scanned"
    sim.load(pages(3))
    sim.jam_after(1)
    run = subprocess.run([sys.executable, "-m", "ingest", "scan", "--device", "desk-3", "--no-wait"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 9 and "paper jam" in run.stderr + run.stdout and "stopped:" in run.stdout
    assert all_deleted(sim) and len(sim.created) == 2
