#!/usr/bin/env bash
# The side venv the benchmarks compare against: .bench-venv with MLflow (and psutil), kept apart
# from .venv so that runyard's own environment never carries MLflow's dependencies.
# Idempotent: a no-op when .bench-venv already imports mlflow. `make clean` removes it.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=.bench-venv
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import mlflow, psutil' 2>/dev/null; then
  exit 0
fi
echo "bench-venv: installing MLflow into $VENV (a few minutes, once)" >&2
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# constraints.txt pins torch, so pip never pulls a CUDA build should anything ask for it.
# pip lists each unreachable extra index once per package; that noise hides real errors.
"$VENV/bin/python" -m pip install -q -c constraints.txt mlflow psutil 2>&1 |
  { grep -v -e 'is ignored: it is neither a file nor a directory' || true; }
"$VENV/bin/python" -c 'import mlflow; print(f"bench-venv: mlflow {mlflow.__version__}")' >&2
