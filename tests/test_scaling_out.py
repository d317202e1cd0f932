"""The README's "Scaling out" commands, run exactly as written on loopback: the addresses of Redis, PostgreSQL and S3
are replaced by this test's own servers, each machine gets a data folder of its own, and a page uploaded to the
service is digitised by the workers."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time

import httpx

from config.settings import load_settings
from servers import ROOT, free_port, fresh_bucket, page_png
from synth.documents import civil_case, make_court

BLOCK = re.compile(r"<!-- scaling-out:begin -->\s*```sh\n(.*?)```\s*<!-- scaling-out:end -->", re.S)


def _readme_commands() -> list[str]:
    found = BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README has no scaling-out block"
    return [line.strip() for line in found.group(1).splitlines() if line.strip() and not line.startswith("#")]


def _environment(commands: list[str], servers: dict[str, str]) -> dict[str, str]:
    """The `export` lines, with the README's example addresses replaced by the test's servers."""
    env: dict[str, str] = {}
    for line in commands:
        if line.startswith("export "):
            for assignment in shlex.split(line.removeprefix("export ")):
                name, value = assignment.split("=", 1)
                env[name] = servers.get(name, value)
    return env


def test_the_readme_scaling_out_commands_run_as_written(tmp_path, redis_url, postgres, moto):
    commands = _readme_commands()
    servers = {"EDOSSIER_QUEUE": redis_url, "EDOSSIER_CATALOGUE": postgres.database(),
               "EDOSSIER_BLOBS": moto.url(fresh_bucket())}
    env = {**os.environ, **_environment(commands, servers)}
    assert set(servers) <= set(env)
    port = free_port()
    once, service, workers = [], [], []
    for line in commands:
        if line.startswith("export "):
            continue
        argv = shlex.split(line)
        assert argv[0] == "edossier", line
        if argv[1] == "serve":
            argv[argv.index("--host") + 1], argv[argv.index("--port") + 1] = "127.0.0.1", str(port)
            service.append(argv[1:])
        elif argv[1] == "worker":
            workers.append(argv[1:] + ["--jobs", "1"])        # two worker machines sharing this one's two cores
        else:
            once.append(argv[1:])
    assert [c[0] for c in once] == ["db", "token"] and service and workers

    def machine(name: str) -> dict:
        return {**env, "EDOSSIER_HOME": str(tmp_path / name)}

    token = ""
    for args in once:
        done = subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT, env=machine("admin"),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip() if args[0] == "token" else token
    running = [subprocess.Popen([sys.executable, "-m", "ingest", *service[0]], cwd=ROOT, env=machine("service"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    running += [subprocess.Popen([sys.executable, "-m", "ingest", *workers[0]], cwd=ROOT, env=machine(f"worker-{i}"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                for i in (1, 2)]
    try:
        _upload_and_wait(f"http://127.0.0.1:{port}", token)
    finally:
        for proc in running:
            os.killpg(proc.pid, 15)
        for proc in running:
            proc.wait(timeout=60)


def _upload_and_wait(url: str, token: str) -> None:
    import random
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "serve did not come up"
        time.sleep(0.3)
    case = civil_case(random.Random(71), make_court(random.Random(71)))
    judgment = next(d for d in case.documents if d.type_code == "JUDGMENT")
    stack = httpx.post(f"{url}/api/v1/stacks", json={"case_no": case.case_no}, headers=headers, timeout=30).json()
    answer = httpx.post(f"{url}/api/v1/stacks/{stack['id']}/files", headers=headers, timeout=60,
                        files={"file": ("judgment.png", page_png(judgment.pages[0]), "image/png")})
    assert answer.status_code == 201, answer.text
    httpx.post(f"{url}/api/v1/stacks/{stack['id']}/close", headers=headers, timeout=30)
    deadline = time.monotonic() + 180
    while True:
        state = httpx.get(f"{url}/api/v1/stacks/{stack['id']}", headers=headers, timeout=30).json()
        if state["settled"]:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["pages"]["done"] == 1


def test_the_distributed_settings_example_is_valid():
    settings = load_settings(ROOT / "config" / "distributed.example.yaml",
                             env={"EDOSSIER_HOME": "/tmp/edossier-example"})
    assert settings.queue.backend == "redis" and settings.blobs.backend == "s3"
    assert settings.catalogue_url.startswith("postgresql+psycopg://")
