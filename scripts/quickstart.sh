#!/usr/bin/env bash
# Sets up edossier on the embedded defaults and digitises a synthetic backlog of court paper.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDOSSIER_HOME=${EDOSSIER_HOME:-$PWD/edossier-data}
samples="$EDOSSIER_HOME/samples/backlog"
# The demo's own settings: a court name for the covers (a real installation names its court the same way).
if [[ -z "${EDOSSIER_CONFIG:-}" ]]; then
  export EDOSSIER_CONFIG="$EDOSSIER_HOME/settings.yaml"
  if [[ ! -f "$EDOSSIER_CONFIG" ]]; then
    mkdir -p "$EDOSSIER_HOME"
    printf 'dossier:\n  court: 演示省示范市示范区人民法院\n' > "$EDOSSIER_CONFIG"
  fi
fi
if [[ ! -d "$samples" ]]; then
  .venv/bin/edossier samples "$samples" --demo     # with one damaged scan and one misfiled notice, on purpose
fi
set +e
.venv/bin/edossier backlog "$samples"
code=$?
set -e
echo
echo "dossiers: $EDOSSIER_HOME/dossiers"
echo "next, in this shell (the command lives in .venv):"
echo "  source $PWD/.venv/bin/activate && export EDOSSIER_HOME=$EDOSSIER_HOME EDOSSIER_CONFIG=$EDOSSIER_CONFIG"
echo "  edossier status · edossier quarantine · edossier --help"
echo "the demo holds two problems on purpose, as real work will:"
echo "  a damaged scan, in quarantine:   edossier quarantine show ID   (replace the file, then: edossier quarantine retry ID)"
echo "  a notice in the wrong folder, in review:   edossier status CASE   (the reason names both case numbers)"
# 0 = all digitised; 3/4 = finished with items for an operator (quarantine / review), which the demo shows on purpose
[[ $code -eq 0 || $code -eq 3 || $code -eq 4 ]]
