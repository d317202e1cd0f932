"""Memory and speed on a long file: `edossier import` of one 500-page image-only PDF, peak memory of the process tree.

The PDF holds 500 300-dpi A4 greyscale JPEG pages (a handful of generated bench pages repeated in turn, each page
its own image object). The command

    edossier import big.pdf --case （2024）浙0803民初1234号 --jobs 2 --json

runs on a fresh EDOSSIER_HOME while /proc is read every 0.2 s: the RSS of the command and of all its descendants
(OCR workers, tesseract) is summed, and the largest single process is noted. RSS counts pages shared between
forked processes once per process, so the summed PSS (shared pages split between their users) is reported too.
When /usr/bin/time is installed the command runs under `time -v`, whose "Maximum resident set size" (the kernel's
high-water mark of the largest single process among those waited for) is a cross-check that catches peaks between
two polls. Exits 0 whatever the numbers are.

    python benchmarks/memory_500.py [--pages 500] [--distinct 6] [--jobs 2] [--json [FILE]]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

POLL_S = 0.2
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields after the last ')' are fixed
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(root: int) -> list[int]:
    children = _children_map()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def _rss_pss(pid: int) -> tuple[int, int, str] | None:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            rss = int(handle.read().split()[1]) * PAGE_SIZE
        pss = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1]) * 1024
                        break
        except OSError:
            pss = rss
        with open(f"/proc/{pid}/comm") as handle:
            name = handle.read().strip()
    except (OSError, ValueError, IndexError):
        return None
    return rss, pss, name


class TreeSampler(threading.Thread):
    """Polls the process tree under `root` until stopped; keeps the peaks."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.stop = root, threading.Event()
        self.peak_rss = self.peak_pss = self.peak_single = 0
        self.peak_single_name, self.peak_processes, self.samples = "", 0, 0

    def run(self) -> None:
        while not self.stop.is_set():
            rss_sum = pss_sum = count = 0
            for pid in _tree(self.root):
                reading = _rss_pss(pid)
                if reading is None:
                    continue
                rss, pss, name = reading
                rss_sum, pss_sum, count = rss_sum + rss, pss_sum + pss, count + 1
                if rss > self.peak_single:
                    self.peak_single, self.peak_single_name = rss, name
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss_sum), max(self.peak_pss, pss_sum)
            self.peak_processes = max(self.peak_processes, count)
            self.samples += 1
            self.stop.wait(POLL_S)


def time_v_max_rss(report: Path) -> int | None:
    """Bytes of the "Maximum resident set size" line of a `/usr/bin/time -v` report."""
    try:
        for line in report.read_text(errors="replace").splitlines():
            if "Maximum resident set size" in line:
                return int(line.rsplit(":", 1)[1]) * 1024
    except (OSError, ValueError):
        return None         # no report, or one without that line: the /proc samples still stand
    return None


def build_pdf(work: Path, pages: int, distinct: int, seed: int) -> Path:
    bench = common.bench_pages(work / "pages", distinct, seed)
    jpegs = []
    for index, (image, _) in enumerate(bench, 1):
        jpegs.append(common.greyscale_jpeg(image, work / "pages" / f"grey_{index:02d}.jpg"))
    return common.images_to_pdf([jpegs[i % len(jpegs)] for i in range(pages)], work / "big.pdf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500, help="pages in the PDF (default 500)")
    parser.add_argument("--distinct", type=int, default=6, help="distinct bench pages repeated in turn (default 6)")
    parser.add_argument("--seed", type=int, default=11, help="generator seed (default 11)")
    parser.add_argument("--jobs", type=int, default=2, help="OCR worker processes (default 2)")
    parser.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="work folder (default benchmarks/out)")
    parser.add_argument("--json", nargs="?", const="-", metavar="FILE",
                        help="write the numbers as JSON to FILE (stdout when no FILE is given)")
    args = parser.parse_args(argv)
    stream = sys.stderr if args.json == "-" else sys.stdout

    work = args.out.resolve() / "memory"
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"building a {args.pages}-page PDF from {args.distinct} bench pages …", file=stream, flush=True)
        pdf = build_pdf(work, args.pages, args.distinct, args.seed)
    except common.BenchError as exc:
        print(f"cannot run the benchmark: {exc}", file=sys.stderr)
        return 1
    print(f"{pdf} ({pdf.stat().st_size / MIB:.0f} MiB)", file=stream, flush=True)

    env = common.fresh_home(work / "edossier-home")
    command = [*common.edossier_command(), "import", str(pdf), "--case", common.CASE_NO, "--jobs", str(args.jobs),
               "--json"]
    print(" ".join(command), file=stream, flush=True)
    time_report = work / "time-v.txt"
    time_report.unlink(missing_ok=True)
    wrapper = ["/usr/bin/time", "-v", "-o", str(time_report)] if Path("/usr/bin/time").exists() else []
    log = work / "edossier.stderr.log"
    load_before = common.load_average()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w") as stderr_file:
        started = time.perf_counter()
        process = subprocess.Popen([*wrapper, *command], stdout=subprocess.PIPE, stderr=stderr_file, text=True, env=env)
        sampler = TreeSampler(process.pid)
        sampler.start()
        stdout, _ = process.communicate()
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kernel_max = time_v_max_rss(time_report)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    report = common.parse_json_output(stdout) or {}
    pages_done = report.get("pages_done")
    result = {
        "benchmark": "memory_500", "machine": common.machine(), "command": command, "exit_code": process.returncode,
        "pages": args.pages, "distinct_pages": args.distinct, "jobs": args.jobs, "pdf_mib": pdf.stat().st_size / MIB,
        "seconds": seconds, "pages_per_min": args.pages / seconds * 60, "pages_done": pages_done,
        "pages_failed": report.get("pages_failed"), "quarantined": report.get("quarantined"),
        "peak_tree_rss_mib": sampler.peak_rss / MIB, "peak_tree_pss_mib": sampler.peak_pss / MIB,
        "largest_process_rss_mib": sampler.peak_single / MIB, "largest_process": sampler.peak_single_name,
        "largest_process_max_rss_mib_time_v": kernel_max / MIB if kernel_max else None,
        "max_processes": sampler.peak_processes,
        "samples": sampler.samples, "cpu_seconds": cpu, "load_before": load_before,
        "load_after": common.load_average(),
    }
    if process.returncode not in (0, 3, 4):
        result["error"] = log.read_text(errors="replace").strip()[-4000:] or stdout.strip()[-4000:]

    print(f"\n{args.pages} pages, --jobs {args.jobs}, exit code {process.returncode}, pages digitised {pages_done}",
          file=stream)
    print(f"wall time                        {seconds:8.1f} s", file=stream)
    print(f"pages/min                        {result['pages_per_min']:8.1f}", file=stream)
    print(f"CPU per page                     {cpu / args.pages:8.2f} s (load average {load_before:.1f} before, "
          f"{result['load_after']:.1f} after)", file=stream)
    print(f"peak RSS of the process tree     {result['peak_tree_rss_mib']:8.0f} MiB "
          f"(PSS {result['peak_tree_pss_mib']:.0f} MiB, up to {sampler.peak_processes} processes)", file=stream)
    check = f"; time -v maximum resident set size {kernel_max / MIB:.0f} MiB" if kernel_max else ""
    print(f"largest single process RSS       {result['largest_process_rss_mib']:8.0f} MiB "
          f"({sampler.peak_single_name}{check})", file=stream)
    if "error" in result:
        print(f"\nedossier failed:\n{result['error']}", file=stream)
    if args.json:
        common.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
