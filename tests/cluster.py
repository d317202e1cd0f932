"""The distributed configuration on loopback, as the README's "Scaling out" runs it on several machines: one Redis,
one PostgreSQL, one S3 server (behind a relay that can be switched off), and `edossier serve` and `edossier worker`
processes each with a data folder of its own — no shared disk. The check after a fault reads the exported
dossiers' manifests: every page submitted is there exactly once, in its case."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from servers import ROOT, free_port

SETTINGS = """\
dossier:
  rebuild_every_s: 1
classify:
  every_s: 0.5
"""


class Cluster:
    def __init__(self, base: Path, *, queue_url: str, catalogue_url: str, blobs_url: str, settings: str = SETTINGS):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        config = base / "settings.yaml"
        config.write_text(settings, encoding="utf-8")
        self.env = {"EDOSSIER_QUEUE": queue_url, "EDOSSIER_CATALOGUE": catalogue_url, "EDOSSIER_BLOBS": blobs_url,
                    "EDOSSIER_CONFIG": str(config), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        self.processes: dict[str, subprocess.Popen] = {}
        self.token: str | None = None

    # processes -------------------------------------------------------------------------------------------------
    def environment(self, machine: str) -> dict:
        return {**os.environ, **self.env, "EDOSSIER_HOME": str(self.base / machine)}

    def run(self, machine: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, cwd=ROOT,
                              env=self.environment(machine), timeout=timeout)

    def start_worker(self, machine: str, jobs: int = 1) -> subprocess.Popen:
        return self._start(machine, "worker", "--jobs", str(jobs))

    def start_serve(self, machine: str) -> str:
        port = free_port()
        self._start(machine, "serve", "--no-workers", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.processes[machine].poll() is not None:
                raise AssertionError(f"serve on {machine} exited: {self.log(machine)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"serve on {machine} did not come up: {self.log(machine)}")

    def _start(self, machine: str, *args: str) -> subprocess.Popen:
        (self.base / machine).mkdir(parents=True, exist_ok=True)
        out = open(self.base / f"{machine}.out", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "ingest", *args], cwd=ROOT, env=self.environment(machine),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[machine] = proc
        return proc

    def log(self, machine: str) -> str:
        path = self.base / f"{machine}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def workers_up(self) -> int:
        """Worker processes registered with rq and alive (their own record not expired)."""
        import redis
        with redis.Redis.from_url(self.env["EDOSSIER_QUEUE"]) as conn:
            return sum(bool(conn.exists(name)) for name in conn.smembers("rq:workers"))

    def paging_worker(self, machine: str) -> int | None:
        """The pid of a worker process of that machine that is in the middle of a page (an OCR job), if any: read
        from rq's own records of running executions."""
        import redis
        mine = set(_descendants(self.processes[machine].pid))
        with redis.Redis.from_url(self.env["EDOSSIER_QUEUE"]) as conn:
            for entry in conn.zrange("rq:wip:edossier-ocr", 0, -1):
                worker = conn.hget(f"rq:execution:{entry.decode()}", "worker_name")
                pid = int(worker.decode().split(".")[-2]) if worker else None
                if pid in mine:
                    return pid
        return None

    def kill(self, machine: str, sig: int = signal.SIGKILL) -> None:
        """Every process of that machine's command at once, as a power cut does."""
        proc = self.processes[machine]
        for pid in [proc.pid, *_descendants(proc.pid)]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop_all(self) -> None:
        for machine, proc in self.processes.items():
            self.kill(machine, signal.SIGCONT)
            if proc.poll() is None:
                self.kill(machine, signal.SIGTERM)
        for machine, proc in self.processes.items():
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill(machine)
                proc.wait(timeout=10)

    # the API -----------------------------------------------------------------------------------------------------
    def headers(self, machine: str = "admin") -> dict:
        if self.token is None:
            made = self.run(machine, "token", "create", "scanner-centre", "--role", "operator")
            assert made.returncode == 0, made.stderr
            self.token = made.stdout.strip()
        return {"Authorization": f"Bearer {self.token}"}

    def open_stack(self, url: str, case_no: str) -> int:
        answer = httpx.post(f"{url}/api/v1/stacks", json={"case_no": case_no}, headers=self.headers(), timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def upload(self, url: str, stack_id: int, seq: int, data: bytes, timeout: float = 120) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/stacks/{stack_id}/files", headers=self.headers(), timeout=timeout,
                          files={"file": (f"p{seq:03d}.png", data, "image/png")}, data={"seq": str(seq)})

    def close_stack(self, url: str, stack_id: int) -> None:
        answer = httpx.post(f"{url}/api/v1/stacks/{stack_id}/close", headers=self.headers(), timeout=30)
        assert answer.status_code == 200, answer.text

    # outcomes ----------------------------------------------------------------------------------------------------
    def status(self, machine: str = "admin") -> dict:
        result = self.run(machine, "status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_until(self, what, timeout: float, why: str, machine: str = "admin"):
        deadline = time.monotonic() + timeout
        while True:
            found = what()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{why} within {timeout:.0f} s; status: {self.status(machine)}; "
                                     + " | ".join(f"{m}: {self.log(m)[-1500:]}" for m in self.processes))
            time.sleep(0.5)

    def healed(self, fault: str, since: float, expected_pages: int, timeout: float) -> float:
        """Wait until everything is settled again after `fault` (made at monotonic time `since`); answers how long
        it took, and notes it where the fault benchmark reads it (EDOSSIER_HEAL_LOG)."""
        self.wait_until(lambda: self.settled(expected_pages), timeout, f"not healed after {fault}")
        took = time.monotonic() - since
        if os.environ.get("EDOSSIER_HEAL_LOG"):
            with open(os.environ["EDOSSIER_HEAL_LOG"], "a", encoding="utf-8") as log:
                log.write(json.dumps({"fault": fault, "seconds": round(took, 1)}) + "\n")
        return took

    def pages_done(self, machine: str = "admin") -> int:
        return self.status(machine)["totals"]["pages_done"]

    def settled(self, expected_pages: int, machine: str = "admin") -> bool:
        """Every page finished and every case's dossier built from its latest state."""
        status = self.status(machine)
        totals = status["totals"]
        return (totals["pages_done"] + totals["pages_failed"] == expected_pages and totals["pages_pending"] == 0
                and totals["files_waiting"] == 0 and all(case["dossier_current"] for case in status["cases"]))

    def check_dossiers(self, submitted: dict[str, list[bytes]], machine: str = "admin") -> None:
        """Export every case and compare, page for page, with what was submitted for it: each page once."""
        for case_no, files in submitted.items():
            out = self.base / "export" / hashlib.sha256(case_no.encode()).hexdigest()[:8]
            result = self.run(machine, "export", case_no, "--out", str(out))
            assert result.returncode == 0, result.stderr
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
            placed = [(p["original_sha256"], p["original_page"]) for v in manifest["volumes"]
                      for d in v["documents"] for p in d["pages"]]
            placed += [(p["original_sha256"], p["original_page"]) for p in manifest["excluded_pages"]]
            wanted = [(hashlib.sha256(data).hexdigest(), 1) for data in files]
            assert sorted(placed) == sorted(wanted), (case_no, len(placed), len(wanted))
            for volume in manifest["volumes"]:
                assert (out / volume["file"]).stat().st_size > 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
