#!/usr/bin/env bash
# Create or update .venv and install chaosgan into it (editable). Idempotent.
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh --test   # the package and its test tools (pytest, ruff)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch: prefer the CPU build on this machine's disk (torch==2.13.0, seconds, no download); an
# unpinned torch would pull a CUDA build of several GB. The package itself pins no exact torch.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    "${PIP[@]}" "torch==2.13.0" 2>/dev/null || "${PIP[@]}" torch
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
"${PIP[@]}" -e ".${extra}"
echo "chaosgan $(.venv/bin/python -c 'import chaosgan; print(chaosgan.__version__)') installed in .venv"
