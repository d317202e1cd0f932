"""How long each fault of the distributed configuration takes to heal: runs the fault-matrix tests
(tests/test_distributed.py: rq on Redis, PostgreSQL, S3 on moto, two workers with their own data folders) and prints,
per fault, the seconds from the fault to the last page done and every dossier current again, with the settings that
bound it. One command:

    .venv/bin/python benchmarks/faults.py [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import load_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "heal.jsonl"
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "tests/test_distributed.py"], cwd=ROOT, env={**os.environ, "EDOSSIER_HEAL_LOG": str(log)})
        healed = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    queue = load_settings(env={"EDOSSIER_HOME": tempfile.gettempdir()}).queue
    print()
    print(f"settings: heartbeat_s={queue.heartbeat_s} presumed_dead_s={queue.presumed_dead_s} "
          f"maintenance_s={queue.maintenance_s} reconcile_every_s={queue.reconcile_every_s:g} "
          f"page_tries={queue.page_tries} (tests: 8 pages, 2 workers of 1 process, 2 cores)")
    print(f"{'fault':<46} {'healed in':>10}")
    for row in healed:
        print(f"{row['fault']:<46} {row['seconds']:>9.1f}s")
    if args.json:
        args.json.write_text(json.dumps({"settings": queue.model_dump(), "healed": healed}, indent=2))
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
