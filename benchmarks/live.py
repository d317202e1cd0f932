"""Live pipeline benchmarks, measured in one run on this machine:

1. accept — `POST /api/v1/stacks/{id}/files` with 4 concurrent clients, each file durable (blob fsynced, catalogued)
   before it is answered: files per second (`edossier serve --no-workers`, so only accepting is measured).
2. latency — pages uploaded at 60 per minute to a running `edossier serve`: seconds from a page's upload to its
   appearance in its case's dossier (manifest), p50 / p95, and from the last page's OCR to the dossier showing it.
3. batch — `edossier backlog` on the 20 bench pages, this version against the batch pipeline of an earlier revision
   (`--baseline REV`, default the last revision before the chain of jobs), same pages, same run: the ratio.

    .venv/bin/python benchmarks/live.py [--only accept,latency,batch] [--json FILE]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from common import (CASE_NO, DEFAULT_OUT, ROOT, bench_pages, edossier_command, fresh_home, images_to_pdf,
                    load_average, machine, source_revision, timed_run, write_json)

BASELINE_REVISION = "d1788bc"      # the batch pipeline (a coordinator waiting on results), before the chain of jobs


# a service on loopback -------------------------------------------------------------------------------------------
class Service:
    def __init__(self, home: Path, *args: str):
        self.env = fresh_home(home)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = subprocess.run(edossier_command() + ["token", "create", "bench", "--role", "operator"],
                                    env=self.env, capture_output=True, text=True, check=True).stdout.strip()
        self.proc = subprocess.Popen(edossier_command() + ["serve", "--port", str(self.port), *args], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.home = home
        self._wait()

    def _wait(self) -> None:
        import httpx
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"edossier serve did not start: {self.proc.stderr.read().decode()[-2000:]}")

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _distinct_jpegs(source: Path, n: int) -> list[bytes]:
    """n different files (one pixel changed each) of a real scanned page's size."""
    from PIL import Image
    with Image.open(source) as image:
        base = image.convert("L")
    files = []
    for i in range(n):
        copy = base.copy()
        copy.putpixel((i % copy.width, i // copy.width), (i * 37) % 256)
        buffer = io.BytesIO()
        copy.save(buffer, "JPEG", quality=75, dpi=(300, 300))
        files.append(buffer.getvalue())
    return files


# 1. accept throughput ------------------------------------------------------------------------------------------
def bench_accept(work: Path, page: Path, clients: int = 4, per_client: int = 75) -> dict:
    import httpx
    files = _distinct_jpegs(page, clients * per_client)
    service = Service(work / "accept-home", "--no-workers")
    try:
        stacks = [httpx.post(f"{service.url}/api/v1/stacks", json={"case_no": CASE_NO}, headers=service.headers)
                  .json()["id"] for _ in range(clients)]
        statuses: list[int] = []

        def client(number: int) -> None:
            with httpx.Client(headers=service.headers, timeout=60) as http:
                for seq in range(per_client):
                    data = files[number * per_client + seq]
                    answer = http.post(f"{service.url}/api/v1/stacks/{stacks[number]}/files", data={"seq": str(seq)},
                                       files={"file": (f"p{seq}.jpg", data, "image/jpeg")})
                    statuses.append(answer.status_code)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    finally:
        service.stop()
    total = clients * per_client
    return {"clients": clients, "files": total, "seconds": round(seconds, 2), "files_per_s": round(total / seconds, 1),
            "mean_file_kb": round(sum(map(len, files)) / total / 1024), "answered_201": statuses.count(201)}


# 2. latency at 60 pages a minute ------------------------------------------------------------------------------
def bench_latency(work: Path, pages: list[Path], per_minute: int = 60) -> dict:
    import hashlib
    import httpx
    service = Service(work / "latency-home")
    uploaded: dict[str, float] = {}
    seen: dict[str, float] = {}
    try:
        stack = httpx.post(f"{service.url}/api/v1/stacks", json={"case_no": CASE_NO}, headers=service.headers).json()
        watcher = threading.Thread(target=_watch_manifest, args=(service, uploaded, seen), daemon=True)
        watcher.start()
        gap = 60 / per_minute
        start = time.monotonic()
        for seq, path in enumerate(pages):
            time.sleep(max(0.0, start + seq * gap - time.monotonic()))
            data = path.read_bytes()
            httpx.post(f"{service.url}/api/v1/stacks/{stack['id']}/files", headers=service.headers, timeout=60,
                       data={"seq": str(seq)}, files={"file": (path.name, data, "image/jpeg")})
            uploaded[hashlib.sha256(data).hexdigest()] = time.time()
        httpx.post(f"{service.url}/api/v1/stacks/{stack['id']}/close", headers=service.headers)
        deadline = time.monotonic() + 300
        while len(seen) < len(uploaded) and time.monotonic() < deadline:
            time.sleep(0.5)
        last_ocr = _last_page_done(service.home)
    finally:
        service.stop()
    latencies = sorted(seen[k] - uploaded[k] for k in seen if k in uploaded)
    end_visible = max(seen.values()) - last_ocr if seen and last_ocr else None
    return {"pages": len(pages), "per_minute": per_minute, "in_dossier": len(seen),
            "p50_s": round(statistics.median(latencies), 2) if latencies else None,
            "p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 2) if latencies else None,
            "max_s": round(latencies[-1], 2) if latencies else None,
            "end_of_stack_after_last_ocr_s": round(end_visible, 2) if end_visible is not None else None}


def _watch_manifest(service: Service, uploaded: dict, seen: dict) -> None:
    import httpx
    url = f"{service.url}/api/v1/cases/{quote(CASE_NO)}/manifest.json"
    while True:
        try:
            answer = httpx.get(url, headers=service.headers, timeout=10)
        except httpx.HTTPError:
            return
        if answer.status_code == 200:
            now = time.time()
            manifest = answer.json()
            for volume in manifest["volumes"]:
                for document in volume["documents"]:
                    for page in document["pages"]:
                        seen.setdefault(page["original_sha256"], now)
            for page in manifest["excluded_pages"]:
                seen.setdefault(page["original_sha256"], now)
        time.sleep(0.2)


def _last_page_done(home: Path) -> float | None:
    import sqlite3
    with sqlite3.connect(home / "catalogue.sqlite3") as conn:
        return conn.execute("select max(done_at) from pages").fetchone()[0]


# 3. the batch backlog against the earlier batch pipeline ---------------------------------------------------------
def bench_batch(work: Path, pdf: Path, revision: str, rounds: int = 5) -> dict:
    baseline = _checkout(revision, work / f"src-{revision}")
    backlog = work / "batch-backlog" / CASE_NO
    backlog.mkdir(parents=True, exist_ok=True)
    (backlog / pdf.name).write_bytes(pdf.read_bytes())
    runs: dict[str, list[float]] = {"chain": [], "baseline": []}
    for number in range(rounds):
        for name, source in (("baseline", baseline), ("chain", ROOT)):
            env = fresh_home(work / f"batch-home-{name}-{number}")
            env["PYTHONPATH"] = str(source)
            done, seconds, _ = timed_run([sys.executable, "-m", "ingest", "backlog", str(backlog.parent),
                                          "--jobs", "2", "--json"], env=env, cwd=source, capture_output=True,
                                         text=True)
            if done.returncode not in (0, 3, 4):
                raise RuntimeError(f"{name} backlog failed ({done.returncode}): {done.stderr[-2000:]}")
            runs[name].append(seconds)
    best = {name: min(values) for name, values in runs.items()}
    middle = {name: statistics.median(values) for name, values in runs.items()}
    return {"revision": revision, "rounds": rounds, "seconds": {k: [round(v, 1) for v in vs] for k, vs in runs.items()},
            "best_chain_s": round(best["chain"], 1), "best_baseline_s": round(best["baseline"], 1),
            "median_chain_s": round(middle["chain"], 1), "median_baseline_s": round(middle["baseline"], 1),
            "ratio_chain_speed": round(best["baseline"] / best["chain"], 2),
            "ratio_chain_speed_median": round(middle["baseline"] / middle["chain"], 2)}


def _checkout(revision: str, target: Path) -> Path:
    if not (target / "ingest").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="accept,latency,batch")
    parser.add_argument("--baseline", default=BASELINE_REVISION, help="revision of the batch pipeline to compare")
    parser.add_argument("--latency-pages", type=int, default=40)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT / "live")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    work = args.out
    work.mkdir(parents=True, exist_ok=True)
    pages = [p for p, _ in bench_pages(work / "pages", 20, seed=11)]
    results = {"machine": machine(), "revision": source_revision(), "load_before": load_average()}
    if "accept" in wanted:
        results["accept"] = bench_accept(work, pages[0])
        print(f"accept: {results['accept']['files_per_s']} files/s durable with 4 clients "
              f"({results['accept']['files']} files of ≈ {results['accept']['mean_file_kb']} KB)", flush=True)
    if "latency" in wanted:
        chosen = [pages[i % len(pages)] for i in range(args.latency_pages)]
        distinct = _distinct_files(chosen, work / "latency-pages")
        results["latency"] = r = bench_latency(work, distinct)
        print(f"latency at {r['per_minute']} pages/min: upload → dossier p50 {r['p50_s']} s, p95 {r['p95_s']} s, "
              f"max {r['max_s']} s; end of stack in the dossier {r['end_of_stack_after_last_ocr_s']} s after the "
              f"last page's OCR ({r['in_dossier']}/{r['pages']} pages)", flush=True)
    if "batch" in wanted:
        pdf = images_to_pdf(pages, work / "bench.pdf")
        results["batch"] = b = bench_batch(work, pdf, args.baseline)
        print(f"batch backlog, 20 pages, best of {b['rounds']}: chain of jobs {b['best_chain_s']} s, batch pipeline "
              f"{b['revision']} {b['best_baseline_s']} s → ratio {b['ratio_chain_speed']}× (median "
              f"{b['ratio_chain_speed_median']}×; above 1: the chain is faster)", flush=True)
    results["load_after"] = load_average()
    if args.json_out:
        write_json(args.json_out, results)
    return 0


def _distinct_files(paths: list[Path], folder: Path) -> list[Path]:
    """The bench pages, repeated, each copy made distinct by one pixel so every upload is new bytes."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            copy = image.convert("L")
        copy.putpixel((i, 0), random.Random(i).randrange(256))
        target = folder / f"page-{i:03d}.jpg"
        copy.save(target, "JPEG", quality=75, dpi=(300, 300))
        out.append(target)
    return out


if __name__ == "__main__":
    sys.exit(main())
