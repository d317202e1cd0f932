"""One contract for every job queue — the in-process table and rq on a real Redis — through the interface the
pipeline uses and through the commands an operator runs (`import --no-wait`, then `worker --burst`)."""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from config.settings import load_settings
from ingest.context import build_context
from synth.documents import civil_case, make_court
from synth.render import render_page

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> dict:
    """A synthetic civil case's complaint and judgment, rendered once as 300-dpi PNG files."""
    out = tmp_path_factory.mktemp("paper")
    case = civil_case(random.Random(32), make_court(random.Random(32)))
    docs = {d.type_code: d for d in case.documents}

    def png(page, name: str) -> Path:
        Image.fromarray(render_page(page).image).save(out / name, dpi=(300, 300))
        return out / name
    return {"case_no": case.case_no,
            "complaint": [png(p, f"complaint-{i}.png") for i, p in enumerate(docs["COMPLAINT"].pages)],
            "judgment": png(docs["JUDGMENT"].pages[0], "judgment.png")}


@pytest.fixture(params=["inprocess", "redis"])
def queue_env(request, tmp_path) -> dict[str, str]:
    """The environment that chooses each queue in turn (EDOSSIER_QUEUE), with a fresh data folder."""
    url = "inprocess" if request.param == "inprocess" else request.getfixturevalue("redis_url")
    return {"EDOSSIER_HOME": str(tmp_path / "home"), "EDOSSIER_QUEUE": url}


@pytest.fixture
def ctx(queue_env):
    context = build_context(load_settings(env=queue_env))
    yield context
    context.queue.close()


def _command(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=timeout)


def _background_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ingest", "worker", "--jobs", "1"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def _classified(ctx, stack_id: int) -> bool:
    return ctx.catalogue.stack(stack_id).classified_at is not None


# the interface ---------------------------------------------------------------------------------------------------
def test_a_job_waiting_under_a_key_absorbs_a_second_request(ctx):
    stack = ctx.catalogue.open_stack(kind="upload", client="test")
    ctx.queue.enqueue("classify", stack.id, key=f"classify:{stack.id}", delay=60)
    ctx.queue.enqueue("classify", stack.id, key=f"classify:{stack.id}", delay=60)
    ctx.queue.enqueue("classify", stack.id + 1, key=f"classify:{stack.id + 1}", delay=60)
    assert ctx.queue.depths() == {"assemble": 0, "classify": 2, "inspect": 0, "ocr": 0}


def test_a_job_asked_for_sooner_runs_at_the_earlier_time(ctx, queue_env):
    stack = ctx.catalogue.open_stack(kind="upload", client="test")
    ctx.queue.enqueue("classify", stack.id, key=f"classify:{stack.id}", delay=3600)
    ctx.queue.enqueue("classify", stack.id, key=f"classify:{stack.id}", delay=0)
    worker = _background_worker(queue_env)
    try:
        deadline = time.monotonic() + 90
        while not _classified(ctx, stack.id):
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the job kept its later time"
            time.sleep(0.3)
    finally:
        _stop(worker)
    assert ctx.queue.depths()["classify"] == 0


def test_a_job_held_back_does_not_run_before_its_time(ctx, queue_env):
    held, due = (ctx.catalogue.open_stack(kind="upload", client="test") for _ in range(2))
    ctx.queue.enqueue("classify", held.id, key=f"classify:{held.id}", delay=3600)
    ctx.queue.enqueue("classify", due.id, key=f"classify:{due.id}")
    worker = _background_worker(queue_env)
    try:
        deadline = time.monotonic() + 90
        while not _classified(ctx, due.id):
            assert time.monotonic() < deadline, "the due job never ran"
            time.sleep(0.3)
        time.sleep(2)
    finally:
        _stop(worker)
    assert not _classified(ctx, held.id)
    assert ctx.queue.depths()["classify"] == 1


def test_enqueue_missing_adds_only_what_the_queue_does_not_hold(ctx):
    stack = ctx.catalogue.open_stack(kind="upload", client="test")
    key = f"classify:{stack.id}"
    ctx.queue.enqueue("classify", stack.id, key=key, delay=60)
    assert ctx.queue.enqueue_missing("classify", stack.id, key=key) is False
    assert ctx.queue.enqueue_missing("classify", stack.id + 1, key=f"classify:{stack.id + 1}") is True
    assert ctx.queue.depths()["classify"] == 2


def test_an_unknown_job_is_refused_where_it_is_asked_for(ctx):
    with pytest.raises(KeyError):
        ctx.queue.enqueue("no-such-job", 1)


def test_the_queue_says_once_when_it_has_forgotten_everything(ctx, request):
    first = ctx.queue.forgot()
    assert ctx.queue.forgot() is False
    if request.node.callspec.params["queue_env"] == "redis":
        assert first is True                      # a Redis that never held our work
        request.getfixturevalue("redis_server").flush()
        assert ctx.queue.forgot() is True
        assert ctx.queue.forgot() is False
    else:
        assert first is False                     # jobs in the catalogue's own database are never forgotten alone


# the commands, the same on every queue -----------------------------------------------------------------------------
def test_import_then_a_burst_worker_files_every_page(queue_env, paper):
    case = paper
    files = [*case["complaint"], case["judgment"]]
    accepted = _command(queue_env, "import", *map(str, files), "--case", case["case_no"], "--no-wait", "--json")
    assert accepted.returncode == 0, accepted.stderr
    worked = _command(queue_env, "worker", "--burst", "--jobs", "2")
    assert worked.returncode == 0, worked.stderr
    status = _command(queue_env, "status", case["case_no"], "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["pages"]["digitised"] == report["pages"]["received"] == len(case["complaint"]) + 1
    assert [d["type_code"] for d in report["documents"]][:1] == ["COMPLAINT"]
    assert "JUDGMENT" in {d["type_code"] for d in report["documents"]}


def test_work_the_queue_lost_is_queued_again_from_the_catalogue(queue_env, paper, request):
    case = paper
    accepted = _command(queue_env, "import", str(case["judgment"]), "--case", case["case_no"], "--no-wait")
    assert accepted.returncode == 0, accepted.stderr
    if request.node.callspec.params["queue_env"] == "redis":
        request.getfixturevalue("redis_server").flush()         # as a restart without persistence would
    else:
        with sqlite3.connect(Path(queue_env["EDOSSIER_HOME"]) / "catalogue.sqlite3") as conn:
            conn.execute("delete from jobs")                      # a job lost between catalogue and queue
    worked = _command(queue_env, "worker", "--burst", "--jobs", "1")
    assert worked.returncode == 0, worked.stderr
    report = json.loads(_command(queue_env, "status", case["case_no"], "--json").stdout)
    assert report["pages"]["digitised"] == 1 and report["documents"][0]["type_code"] == "JUDGMENT"
