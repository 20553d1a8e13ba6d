#!/usr/bin/env bash
# The checks that need a GPU, in one go, on a machine with rts_seg installed (`pip install -e ".[dev]"`):
#   1. the training benchmark at 512² (fp32 vs bf16 + channels-last, fastai vs a plain loop, peak memory and the
#      batch-size finder's choice),
#   2. the notebooks' `slow` and `cuda` tests (the batch-size finder on the GPU; with two GPUs or more, DDP over NCCL).
# Everything is written to the folder given (default gpu_checks/) as well as printed. Exit status: that of the tests.
# Usage: bash bench/gpu_checks.sh [OUT_DIR] [extra arguments for bench/train_throughput.py]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu_checks}"; shift || true
mkdir -p "$out"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device: these checks need a GPU'" || exit 2
python bench/train_throughput.py "$@" 2>&1 | tee "$out/train_throughput.txt"
nbdev-test --flags "slow cuda" --timing 2>&1 | tee "$out/nbdev_test_slow_cuda.txt"
