"""From capture to `edossier status`: how long a page takes, once it leaves the scanner, to be counted in its case
as received (inspected into a page) and as digitised (OCR'd and classified), over a 60-page stack fed at 60 pages
per minute, with the product's own local workers (the embedded default, 2 processes here).

Two SANE devices, both real SANE backends under a private SANE_CONFIG_DIR, and a hot folder:
  test   — the `test` backend's ADF at 100 dpi (grid pictures: what the pipeline costs with next to no OCR work);
  pnm    — the `pnm` backend loaded with one 300-dpi degraded court page per sheet (synth/bench.py): real OCR work;
  folder — the same 300-dpi court pages (JPEG, as an MFP writes them) landing in a watched folder's case sub-folder,
           each renamed into place from a temporary name as copying tools do; latency counts from the rename.

For the i-th page the latency is the time from its capture to the moment the case's status first counts i pages
(status is polled every 0.1 s, as `edossier status CASE --json` computes it). p50 and p95 over the 60 pages, and
the last sheet's own latency; "backed up" says whether the digitised count fell ever further behind the feed.

    .venv/bin/python benchmarks/capture_latency.py [--devices test,pnm,folder] [--pages 60] [--ppm 60] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import CASE_NO, DEFAULT_OUT, bench_pages, load_average, machine, source_revision, write_json


def _sane_config(folder: Path) -> None:
    """A private SANE configuration with the test and pnm backends; set before SANE is first initialised."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text("test\npnm\n")
    stock = Path("/etc/sane.d/test.conf")
    lines = [{"br_x": "br_x 210.0", "br_y": "br_y 297.0"}.get(line.split(" ", 1)[0], line)
             for line in stock.read_text().splitlines()]
    (folder / "test.conf").write_text("\n".join(lines) + "\n")
    os.environ["SANE_CONFIG_DIR"] = str(folder)


class PacedFeeder:
    """A SANE device fed at a fixed rate: the next sheet goes in only when its slot comes. With `sheets` (pnm),
    each sheet is one pass over the glass with the next page image loaded, presented as one ADF stack."""

    def __init__(self, device, interval_s: float, pages: int, sheets: list[Path] | None = None):
        self.device, self.interval_s, self.pages, self.sheets = device, interval_s, pages, sheets
        self.id = device.id

    def info(self):
        return self.device.info()

    def feed(self, settings):
        from dataclasses import replace
        start = time.monotonic()
        for index, capture in enumerate(self._sheets(settings)):
            yield replace(capture, sheet=index + 1, source="adf")
            if index + 1 == self.pages:
                return
            time.sleep(max(0.0, start + (index + 1) * self.interval_s - time.monotonic()))

    def _sheets(self, settings):
        if self.sheets is None:
            yield from self._reloaded(settings)
            return
        from dataclasses import replace as with_
        for path in self.sheets:
            self.device.set_option("filename", str(path))
            yield from self.device.feed(with_(settings, source="flatbed"))

    def _reloaded(self, settings):
        """The test backend's feeder holds 10 sheets: the operator loads it again until the stack is through."""
        while True:
            fed = 0
            for capture in self.device.feed(settings):
                fed += 1
                yield capture
            if fed == 0:
                raise RuntimeError("the feeder gave no sheet after it was loaded again")

    def close(self) -> None:
        self.device.close()


class Desk:
    """The operator: never interrupts; remembers when each page was captured."""

    def __init__(self):
        self.captured_at: list[float] = []

    def captured(self, pages, capture):
        self.captured_at.append(capture.captured_at)

    def trouble(self, error, pages):
        raise RuntimeError(f"the device stopped during the benchmark: {error}")

    def turn_over(self, fronts):
        return False

    def another(self, pages):
        return False


def measure(kind: str, pages: int, ppm: float, work: Path) -> dict:
    from config.settings import load_settings
    from devices.base import ScanSettings
    from devices.sane import SaneScanner
    from ingest import scan
    from ingest.capture import LocalSink, StackSpec
    from ingest.context import build_context
    from ingest.reports import case_status
    from ingest.runner import local_runner

    home = work / f"home-{kind}"
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home)}))
    if kind == "pnm":
        sheets = [_pnm(image, work / "pnm") for image, _ in bench_pages(work / "pages", pages, seed=23)]
        device = PacedFeeder(SaneScanner(f"bench-{kind}", "pnm:0"), 60 / ppm, pages, sheets)
        settings = ScanSettings(source="adf", dpi=300, mode="gray")
    else:
        device = PacedFeeder(SaneScanner(f"bench-{kind}", "test:0", {"test-picture": "Grid",
                                                                       "read-return-value": "Default"}),
                             60 / ppm, pages)
        settings = ScanSettings(source="adf", dpi=100, mode="gray")
    desk, seen = Desk(), {"received": [], "digitised": []}
    runner = local_runner(ctx)
    runner.start()
    load_before = load_average()
    try:
        session = threading.Thread(target=scan.run, args=(device, LocalSink(ctx, "bench"),
                                                          StackSpec(f"bench-{kind}", CASE_NO, device.id),
                                                          scan.Plan(settings, expect=pages), desk))
        session.start()
        _watch(ctx, case_status, pages, seen, session)
        session.join()
    finally:
        runner.stop()
    return _figures(kind, pages, ppm, desk.captured_at, seen, load_before)


def measure_folder(pages: int, ppm: float, work: Path) -> dict:
    from config.settings import load_settings
    from devices.hotfolder import HotFolder
    from ingest.capture import LocalSink
    from ingest.context import build_context
    from ingest.reports import case_status
    from ingest.runner import local_runner
    from ingest.watch import watch

    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(work / "home-folder")}))
    images = [image for image, _ in bench_pages(work / "pages-folder", pages, seed=23)]
    inbox = work / "inbox"
    (inbox / CASE_NO).mkdir(parents=True)
    folder = HotFolder(inbox, settle_s=ctx.settings.devices.settle_s, rescan_s=ctx.settings.devices.rescan_s).start()
    landed, seen, stop = [], {"received": [], "digitised": []}, threading.Event()
    watcher = threading.Thread(target=watch, args=(folder, lambda: LocalSink(ctx, "bench"), ),
                               kwargs={"device": "bench-folder", "stop": stop})
    feeder = threading.Thread(target=_drop, args=(images, inbox / CASE_NO, 60 / ppm, landed))
    runner = local_runner(ctx)
    runner.start()
    load_before = load_average()
    try:
        watcher.start()
        feeder.start()
        _watch(ctx, case_status, pages, seen, feeder)
    finally:
        stop.set()
        watcher.join()
        folder.stop()
        runner.stop()
    return _figures("folder", pages, ppm, landed, seen, load_before)


def _drop(images: list[Path], into: Path, interval_s: float, landed: list[float]) -> None:
    """Files landing at a fixed rate, each written under a temporary name and renamed into place."""
    start = time.monotonic()
    for index, image in enumerate(images):
        temporary = into / f".{index:04d}{image.suffix}.part"
        temporary.write_bytes(image.read_bytes())
        temporary.rename(into / f"{index:04d}{image.suffix}")
        landed.append(time.time())
        time.sleep(max(0.0, start + (index + 1) * interval_s - time.monotonic()))


def _pnm(image: Path, folder: Path) -> Path:
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (image.stem + ".pgm")
    with Image.open(image) as picture:
        picture.convert("L").save(out)
    return out


def _watch(ctx, case_status, pages: int, seen: dict, session: threading.Thread, limit_s: float = 1800) -> None:
    """Poll the case's status until every page is digitised; note when each count was first reached."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status = case_status(ctx, CASE_NO)
        now = time.time()
        counts = status["pages"] if status else {"received": 0, "digitised": 0}
        for key in ("received", "digitised"):
            while len(seen[key]) < min(counts[key], pages):
                seen[key].append(now)
        if len(seen["digitised"]) >= pages and not session.is_alive():
            return
        time.sleep(0.1)
    raise RuntimeError(f"not every page was digitised within {limit_s:.0f} s")


def _figures(kind: str, pages: int, ppm: float, captured: list[float], seen: dict, load_before) -> dict:
    result = {"device": kind, "pages": pages, "fed_ppm": ppm,
              "fed_for_s": round(captured[-1] - captured[0], 1), "load_average": [load_before, load_average()]}
    for key in ("received", "digitised"):
        lags = [at - cap for at, cap in zip(seen[key], captured)]
        result[key] = {"p50_s": round(statistics.median(lags), 2),
                       "p95_s": round(statistics.quantiles(lags, n=20)[18], 2),
                       "last_sheet_s": round(lags[-1], 2),
                       "first_half_p50_s": round(statistics.median(lags[: pages // 2]), 2),
                       "second_half_p50_s": round(statistics.median(lags[pages // 2:]), 2)}
    late = result["digitised"]
    result["backed_up"] = late["second_half_p50_s"] > 2 * max(late["first_half_p50_s"], 1.0)
    return result


def _print(result: dict) -> None:
    print(f"\n{result['device']}: {result['pages']} pages fed at {result['fed_ppm']:.0f}/min over "
          f"{result['fed_for_s']} s, load {result['load_average'][0]} → {result['load_average'][1]}")
    for key in ("received", "digitised"):
        r = result[key]
        print(f"  capture → {key:9} p50 {r['p50_s']:6.2f} s  p95 {r['p95_s']:6.2f} s  last sheet {r['last_sheet_s']:6.2f}"
              f" s  (first half p50 {r['first_half_p50_s']:.2f} s, second half {r['second_half_p50_s']:.2f} s)")
    print(f"  backed up: {'yes' if result['backed_up'] else 'no'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="test,pnm,folder")
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--ppm", type=float, default=60.0)
    parser.add_argument("--json", dest="json_file", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT / "capture_latency")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=args.out))
    _sane_config(work / "sane.d")
    print(f"capture latency on {machine()}, revision {source_revision()}")
    results = []
    for kind in args.devices.split(","):
        results.append(measure_folder(args.pages, args.ppm, work) if kind == "folder"
                       else measure(kind, args.pages, args.ppm, work))
        _print(results[-1])
    if args.json_file:
        write_json(args.json_file, {"machine": machine(), "revision": source_revision(), "results": results})


if __name__ == "__main__":
    main()
