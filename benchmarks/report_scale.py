"""`edossier report` on a court-sized catalogue: 10,000 cases holding 500,000 pages (filed in 80,000 documents),
with their receipts, stage events, volumes and archive packages, on the embedded SQLite default and on a private
PostgreSQL (Debian's, started here on 127.0.0.1). The catalogue is generated straight into the tables, each case
settled as the pipeline leaves it; the report is then timed as an operator runs it — the whole command, process
start included — for the court's JSON, for one tribunal, and with the HTML page.

Baseline, measured in the same run: the figures counted case by case from each case's live status (what
`edossier status CASE --json` computes), on a sample of cases, scaled to the whole catalogue — the way a report
without the settled proof would have to go. The ratio printed is that estimate over the bulk report's time.

    .venv/bin/python benchmarks/report_scale.py [--cases 10000] [--pages 500000] [--engines sqlite,postgresql]
                                                [--sample 100] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_OUT, ROOT, machine, write_json

sys.path.insert(0, str(ROOT / "tests"))
from servers import Postgres  # noqa: E402

TRIBUNALS = ("立案庭", "民一庭", "民二庭", "民三庭", "商事审判庭", "行政审判庭", "执行局", "人民法庭")
STAGES = ("FILING", "PRETRIAL", "TRIAL", "JUDGMENT", "SERVICE", "ARCHIVING")
START = 1735660800.0            # 2025-01-01 00:00 +08:00
SPAN_S = 700 * 86400.0
CHUNK = 20_000


def generate(url: str, n_cases: int, n_pages: int, seed: int = 5) -> dict:
    """The catalogue, generated: answers how many rows each table got."""
    from sqlalchemy import insert

    from storage.catalogue import (Catalogue, archives, case_events, cases, document_pages, documents, entries,
                                   pages, receipts, stacks, volumes)
    rng = random.Random(seed)
    sizes = _page_counts(rng, n_cases, n_pages)
    catalogue = Catalogue(url)
    rows: dict[str, list] = {t.name: [] for t in (stacks, entries, pages, documents, document_pages, cases,
                                                   case_events, receipts, volumes, archives)}
    page_id = document_id = receipt_id = 0
    for n, size in enumerate(sizes, 1):
        case_no = f"（{2025 + n % 2}）浙0803民初{n}号"
        opened = START + rng.random() * SPAN_S
        rows["stacks"].append(dict(id=n, kind="device", state="closed", case_no=case_no, client="scan", created_at=opened,
                                   version=1, classified_version=1))
        rows["entries"].append(dict(id=n, stack_id=n, seq=0, sha256=f"{n:064x}", name=f"{n}.pdf", source_path=f"{n}.pdf",
                                    size=size * 90_000, received_at=opened, status="ready", page_count=size,
                                    case_no=case_no, client="scan"))
        first_page = page_id + 1
        for index in range(size):
            page_id += 1
            rows["pages"].append(dict(id=page_id, entry_id=n, page_index=index, status="done", role="content",
                                      case_no=case_no, text=_text(rng), mean_conf=60 + rng.random() * 35,
                                      created_at=opened, done_at=opened + 60, layout_hash=f"{rng.getrandbits(256):064x}"))
        reviewed, corrected = rng.random() < 0.05, 0
        for start, end in _documents(rng, first_page, page_id):
            document_id += 1
            fixed = rng.random() < 0.04
            corrected += fixed
            rows["documents"].append(dict(id=document_id, case_no=case_no, volume="ZJ", type_code="EVIDENCE",
                                          title="证据材料", confidence=0.9, review=reviewed and start == first_page,
                                          stack_id=n, received_order=start, created_at=opened, corrected=fixed))
            rows["document_pages"] += [dict(document_id=document_id, page_id=p, position=p - start)
                                       for p in range(start, end + 1)]
        reached = STAGES[: rng.randint(1, len(STAGES))]
        for k, stage in enumerate(reached):
            rows["case_events"].append(dict(case_no=case_no, stage=stage, at=opened + k * 12 * 86400, recorded_at=opened,
                                            client="cms"))
        missing = rng.random() < 0.06
        for k in range(rng.randint(1, 3)):
            receipt_id += 1
            received_at = opened + k * 9 * 86400
            late = rng.random() < 0.08
            rows["receipts"].append(dict(id=receipt_id, case_no=case_no, type_code="EVIDENCE", pages=max(1, size // 3),
                                         received_at=received_at, client="desk", due_at=received_at + 2 * 86400,
                                         digitised_at=None if missing else received_at + (3 if late else 0.5) * 86400,
                                         pages_scanned=max(1, size // 3)))
        built = rng.random() < 0.97
        if built:
            rows["volumes"].append(dict(case_no=case_no, volume="ZJ", blob_key=f"{n:064x}", pdf_pages=size + 2,
                                        built_at=opened + 120))
        digitised = built and not missing
        rows["cases"].append(dict(case_no=case_no, family="civil_first", created_at=opened, version=1,
                                  assembled_version=1, court="桐川市东湖区人民法院", tribunal=rng.choice(TRIBUNALS),
                                  opened_at=opened, pages_received=size, pages_scanned=size - (2 if missing else 0),
                                  digitised=digitised, usable=digitised and not reviewed, settled_at=opened + 120))
        if "ARCHIVING" in reached:
            rows["archives"].append(dict(case_no=case_no, archived_at=opened + 80 * 86400, actor="档案员",
                                         forced=False, digitised=digitised, manifest_sha256="0" * 64, path="/archive"))
    order = ("stacks", "entries", "pages", "documents", "document_pages", "cases", "case_events", "receipts",
             "volumes", "archives")
    tables = {t.name: t for t in (stacks, entries, pages, documents, document_pages, cases, case_events, receipts,
                                  volumes, archives)}
    with catalogue.writer.begin() as conn:
        for name in order:
            for at in range(0, len(rows[name]), CHUNK):
                conn.execute(insert(tables[name]), rows[name][at:at + CHUNK])
    if url.startswith("postgresql"):
        with catalogue.writer.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            _set_sequences(conn, ("stacks", "entries", "pages", "documents", "receipts"))
    catalogue.dispose()
    return {name: len(found) for name, found in rows.items()}


def _set_sequences(conn, names) -> None:
    for name in names:
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")


def _page_counts(rng: random.Random, n_cases: int, n_pages: int) -> list[int]:
    """Pages per case: most cases thin, some thick, summing to exactly n_pages."""
    weights = [rng.lognormvariate(0, 0.7) for _ in range(n_cases)]
    scale = n_pages / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    for k in range(n_pages - sum(sizes)):
        sizes[k % n_cases] += 1
    while sum(sizes) > n_pages:
        biggest = max(range(n_cases), key=sizes.__getitem__)
        sizes[biggest] -= sum(sizes) - n_pages
    return sizes


def _documents(rng: random.Random, first: int, last: int):
    start = first
    while start <= last:
        end = min(last, start + rng.randint(0, 11))
        yield start, end
        start = end + 1


_WORDS = "原告被告诉讼请求事实与理由本院认为判决如下证据目录送达回证受理案件通知书代理人住所地身份证号码"


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(200))


def timed_report(env: dict, *args: str) -> tuple[float, int]:
    began = time.perf_counter()
    ran = subprocess.run([sys.executable, "-m", "ingest", "report", *args], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=600)
    seconds = time.perf_counter() - began
    if ran.returncode != 0:
        raise RuntimeError(f"edossier report {' '.join(args)} failed: {ran.stderr[-800:]}")
    return seconds, len(ran.stdout)


def baseline(url: str, home: Path, sample: int, n_cases: int) -> dict:
    """The figures case by case from live status, on `sample` cases, scaled to all of them."""
    from config.settings import load_settings
    from ingest.context import build_context
    from ingest.reports import case_status
    ctx = build_context(load_settings(env={"EDOSSIER_HOME": str(home), "EDOSSIER_CATALOGUE": url}))
    chosen = random.Random(3).sample(ctx.catalogue.case_numbers(), sample)
    began = time.perf_counter()
    for case_no in chosen:
        case_status(ctx, case_no)
    per_case = (time.perf_counter() - began) / sample
    ctx.catalogue.dispose()
    return {"sample": sample, "per_case_s": round(per_case, 4), "estimated_s": round(per_case * n_cases, 1)}


def measure(engine: str, url: str, work: Path, n_cases: int, n_pages: int, sample: int) -> dict:
    home = work / f"home-{engine}"
    began = time.perf_counter()
    counts = generate(url, n_cases, n_pages)
    generated_s = time.perf_counter() - began
    env = {**os.environ, "EDOSSIER_HOME": str(home), "EDOSSIER_CATALOGUE": url}
    runs = {"court_json": ("--json",), "court_json_2025": ("--from", "2025-01-01", "--to", "2025-12-31", "--json"),
            "one_tribunal": ("--tribunal", "民一庭", "--json"), "court_html": ("--html", str(work / f"{engine}.html"))}
    timed = {}
    for name, args in runs.items():
        timed[name] = [round(timed_report(env, *args)[0], 2) for _ in range(3)]
    start_up = [round(_bare_start(env), 2) for _ in range(3)]
    slow = baseline(url, home, sample, n_cases)
    best = min(timed["court_json"])
    return {"engine": engine, "rows": counts, "generated_s": round(generated_s, 1), "report_s": timed,
            "process_start_s": start_up, "baseline": slow, "baseline_over_report": round(slow["estimated_s"] / best, 1)}


def _bare_start(env: dict) -> float:
    """What any `edossier` command costs before it does anything: the interpreter and the imports."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ingest", "report", "--help"], capture_output=True, env=env, cwd=ROOT,
                   timeout=120, check=True)
    return time.perf_counter() - began


def _print(result: dict) -> None:
    rows = result["rows"]
    print(f"\n{result['engine']}: {rows['cases']} cases, {rows['pages']} pages, {rows['documents']} documents, "
          f"{rows['receipts']} receipts (generated in {result['generated_s']} s)")
    for name, times in result["report_s"].items():
        print(f"  edossier report {name:16} {min(times):6.2f} s best of 3 ({', '.join(map(str, times))})")
    print(f"  process start alone (report --help): {min(result['process_start_s']):.2f} s")
    slow = result["baseline"]
    print(f"  baseline, case by case from live status: {slow['per_case_s'] * 1000:.1f} ms per case "
          f"({slow['sample']} sampled) → {slow['estimated_s']} s for all; "
          f"ratio baseline / report: {result['baseline_over_report']}×", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=500_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--json", dest="json_file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT / "report_scale")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=args.out))
    print(f"report at scale on {machine()}", flush=True)
    results, server = [], None
    try:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                url = f"sqlite:///{work / 'catalogue.sqlite3'}"
            else:
                server = server or Postgres(work / "pg").start()
                url = server.database()
            results.append(measure(engine, url, work, args.cases, args.pages, args.sample))
            _print(results[-1])
    finally:
        if server is not None:
            server.stop()
    if args.json_file:
        write_json(args.json_file, {"machine": machine(), "results": results})


if __name__ == "__main__":
    main()
