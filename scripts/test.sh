#!/usr/bin/env bash
# Install with the test extras, check lint and format, run the test suite (slow/gpu tests skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
