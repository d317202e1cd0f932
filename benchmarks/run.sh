#!/usr/bin/env bash
# Benchmarks, one command: OCRmyPDF against `edossier backlog` on 20 degraded 300-dpi Chinese pages (pages per
# minute, their ratio, character error rate of each).
#   bash benchmarks/run.sh                  throughput and accuracy (a few minutes)
#   bash benchmarks/run.sh --memory         then also a 500-page PDF through `edossier import` (peak memory, ~10 min)
#   bash benchmarks/run.sh --live           then also the live pipeline: accept rate, upload → dossier latency at
#                                           60 pages/min, the batch backlog against the earlier batch pipeline
#   bash benchmarks/run.sh --size           then also bytes per page against `ocrmypdf --optimize 2`, the text
#                                           read again from the stored images, crops at 100 % zoom (~10 min)
#   bash benchmarks/run.sh --kinds          then also each OCR engine per kind of court paper against OCRmyPDF,
#                                           two seeds, and on the real Chinese samples (benchmarks/ocr_kinds.py)
#   bash benchmarks/run.sh --json out.json  other options go to benchmarks/ocr_throughput.py
#                                           (--pages N, --skip-baseline, --json [FILE], --seed, --jobs, --out)
set -euo pipefail
cd "$(dirname "$0")/.."

memory=0
live=0
size=0
kinds=0
args=()
for arg in "$@"; do
  case "$arg" in
    --memory) memory=1 ;;
    --live) live=1 ;;
    --size) size=1 ;;
    --kinds) kinds=1 ;;
    *) args+=("$arg") ;;
  esac
done

if ! command -v ocrmypdf >/dev/null 2>&1 || [[ ! -x .venv/bin/edossier ]]; then
  bash scripts/setup.sh --bench
fi

.venv/bin/python benchmarks/ocr_throughput.py "${args[@]}"
if ((memory)); then
  .venv/bin/python benchmarks/memory_500.py
fi
if ((live)); then
  .venv/bin/python benchmarks/live.py
fi
if ((size)); then
  .venv/bin/python benchmarks/size.py
fi
if ((kinds)); then
  .venv/bin/python benchmarks/ocr_kinds.py
fi
