#!/usr/bin/env bash
# Sets up edossier on the embedded defaults and digitises a synthetic backlog of court paper.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDOSSIER_HOME=${EDOSSIER_HOME:-$PWD/edossier-data}
samples="$EDOSSIER_HOME/samples/backlog"
if [[ ! -d "$samples" ]]; then
  .venv/bin/edossier samples "$samples"
fi
set +e
.venv/bin/edossier backlog "$samples"
code=$?
set -e
echo
echo "dossiers: $EDOSSIER_HOME/dossiers   (edossier status · edossier quarantine list)"
# 0 = all digitised; 3/4 = finished with items for an operator (quarantine / review), which the demo shows on purpose
[[ $code -eq 0 || $code -eq 3 || $code -eq 4 ]]
