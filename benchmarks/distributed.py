"""The distributed configuration against the embedded default, measured in one run on this machine:

1. pipeline — 10,000 pages (100 PDFs of 100 small distinct pages, 10 cases) through accept → queue → worker →
   catalogue → blobs → classification → assembly with OCR replaced by the configured no-op engine
   (`ocr.engine: none`), with 1 and 2 worker processes: embedded (in-process queue, SQLite, local blobs) and
   distributed (rq on Redis, PostgreSQL, S3 on moto's server), side by side. Pages per second from the start of
   `edossier backlog` to its end (every page digitised, every dossier built).
2. ocr — real OCR on the 20 bench pages (`synth.bench`, one PDF), 2 rq workers against the in-process default
   with 2 worker processes: the ratio of pages per minute, the median of three alternated rounds.

    .venv/bin/python benchmarks/distributed.py [--only pipeline,ocr] [--pages 10000] [--json FILE]

The servers are started on 127.0.0.1 from temporary folders (Debian's redis-server and postgresql, moto_server from
the virtualenv) and stopped afterwards; they share the machine's cores with the workers, as a one-box installation
would.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from common import CASE_NO, DEFAULT_OUT, ROOT, bench_pages, edossier_command, images_to_pdf, machine, write_json

sys.path.insert(0, str(ROOT / "tests"))
from servers import MotoS3, Postgres, Redis, fresh_bucket  # noqa: E402

NOOP = "ocr:\n  engine: none\ndossier:\n  rebuild_every_s: 3\n"
ROUNDS = 3                # real-OCR rounds, each configuration once per round
CASES = [f"（2024）浙0803民初{1000 + i}号" for i in range(10)]


# input -------------------------------------------------------------------------------------------------------------
def small_pages_backlog(folder: Path, pages: int, per_file: int = 100) -> Path:
    """Case folders of PDFs whose pages are small distinct grey 200-dpi scans (every page's bytes differ): the
    pipeline's own cost, not the pixels', is what is measured."""
    rng = np.random.default_rng(5)
    files = max(1, pages // per_file)
    for number in range(files):
        case = folder / CASES[number % len(CASES)]
        case.mkdir(parents=True, exist_ok=True)
        pdf = pikepdf.new()
        for _ in range(per_file):
            pixels = (235 + rng.integers(0, 20, size=(452, 320))).astype(np.uint8)
            pixels[40:60, 40:280] = rng.integers(0, 60, size=(20, 240))       # a "line of text"
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=80, dpi=(200, 200))
            image = pikepdf.Stream(pdf, buffer.getvalue(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                   Width=320, Height=452, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                                   Filter=pikepdf.Name.DCTDecode)
            page = pdf.add_blank_page(page_size=(115.2, 162.72))              # 1.6 × 2.26 inches at 200 dpi
            page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
            page.Contents = pdf.make_stream(b"q 115.2 0 0 162.72 0 0 cm /Im0 Do Q")
        pdf.save(case / f"{number:04d}.pdf")
    return folder


# configurations ------------------------------------------------------------------------------------------------
class Servers:
    """Redis, PostgreSQL and moto's S3 for one run, each measured configuration getting fresh databases."""

    def __init__(self, base: Path):
        self.redis = Redis().start()
        self.postgres = Postgres(base / "pg").start()
        self.moto = MotoS3(base / "moto.log").start()

    def environment(self) -> dict[str, str]:
        self.redis.flush()
        return {"EDOSSIER_QUEUE": self.redis.url, "EDOSSIER_CATALOGUE": self.postgres.database(),
                "EDOSSIER_BLOBS": self.moto.url(fresh_bucket()), "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench"}

    def stop(self) -> None:
        self.moto.stop()
        self.postgres.stop()
        self.redis.stop()


def run_backlog(backlog: Path, home: Path, config: Path, workers: int, servers: Servers | None) -> dict:
    """`edossier backlog` to its end; with `servers`, on the distributed configuration with `workers` rq worker
    processes (one `edossier worker --jobs N`), else in-process with `--jobs N`. Answers seconds and the report."""
    env = {**os.environ, "EDOSSIER_HOME": str(home / "submit"), "EDOSSIER_CONFIG": str(config)}
    home.mkdir(parents=True, exist_ok=True)
    worker = None
    if servers is not None:
        env.update(servers.environment())
        worker = subprocess.Popen(edossier_command() + ["worker", "--jobs", str(workers)],
                                  env={**env, "EDOSSIER_HOME": str(home / "worker")}, stdout=subprocess.DEVNULL,
                                  stderr=open(home / "worker.log", "wb"), start_new_session=True)
        time.sleep(8)                            # its processes up and waiting, as a running installation's are
    started = time.perf_counter()
    run = subprocess.run(edossier_command() + ["backlog", str(backlog), "--json", "--jobs", str(workers)], env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if worker is not None:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=120)
    report = json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}
    return {"seconds": round(seconds, 2), "exit": run.returncode, "pages_done": report.get("pages_done"),
            "error": run.stderr[-1500:] if run.returncode not in (0, 3, 4) else None}


def bench_pipeline(work: Path, servers: Servers, pages: int) -> dict:
    backlog = small_pages_backlog(work / "small", pages)
    config = work / "noop.yaml"
    config.write_text(NOOP, encoding="utf-8")
    rows = {}
    for workers in (1, 2):
        for name, using in (("embedded", None), ("distributed", servers)):
            result = run_backlog(backlog, work / f"{name}-{workers}", config, workers, using)
            result["pages_per_s"] = round((result["pages_done"] or 0) / result["seconds"], 1)
            rows[f"{name}, {workers} worker{'s' if workers > 1 else ''}"] = result
            print(f"  {name:<12} {workers} worker(s): {result['pages_done']} pages in {result['seconds']:.1f} s = "
                  f"{result['pages_per_s']:.1f} pages/s (exit {result['exit']})", flush=True)
            if result["error"]:
                print(result["error"])
    return rows


def bench_ocr(work: Path, servers: Servers) -> dict:
    found = bench_pages(work / "bench", 20, 11)
    backlog = work / "ocr-backlog" / CASE_NO
    backlog.mkdir(parents=True, exist_ok=True)
    images_to_pdf([path for path, _ in found], backlog / "bench.pdf")
    config = work / "ocr.yaml"
    config.write_text("dossier:\n  rebuild_every_s: 3\n", encoding="utf-8")
    rounds = []
    for round_no in range(ROUNDS):               # alternated, so a busy moment of the machine hits both alike
        embedded = run_backlog(backlog.parent, work / f"ocr-embedded-{round_no}", config, 2, None)
        distributed = run_backlog(backlog.parent, work / f"ocr-distributed-{round_no}", config, 2, servers)
        rounds.append({"embedded": embedded, "distributed": distributed,
                       "ratio": round(embedded["seconds"] / distributed["seconds"], 3)})
        print(f"  round {round_no + 1}: in-process, 2 workers: {embedded['seconds']:.1f} s; rq, 2 workers: "
              f"{distributed['seconds']:.1f} s; ratio {rounds[-1]['ratio']:.2f}×", flush=True)
    ratio = statistics.median(r["ratio"] for r in rounds)
    print(f"  median ratio rq/in-process pages/min over {ROUNDS} rounds = {ratio:.2f}×", flush=True)
    return {"rounds": rounds, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="pipeline,ocr")
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args(argv)
    DEFAULT_OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory(dir=DEFAULT_OUT, prefix="distributed-") as tmp:
        work = Path(tmp)
        servers = Servers(work)
        try:
            if "pipeline" in args.only:
                print(f"pipeline, no-op OCR, {args.pages} pages:", flush=True)
                results["pipeline"] = bench_pipeline(work, servers, args.pages)
            if "ocr" in args.only:
                print("real OCR, 20 bench pages:", flush=True)
                results["ocr"] = bench_ocr(work, servers)
        finally:
            servers.stop()
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
