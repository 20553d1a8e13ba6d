#!/usr/bin/env bash
# The checks that need a GPU, in one go. Sections run in the order of what they are worth, each under its own time limit,
# each written to OUT_DIR (default gpu_checks/) as it runs, so a lease that ends early keeps what ran:
#   loops.txt            the baseline (UNet++/EfficientNet-B7, 512², batch 16): a plain PyTorch loop against rts_learner
#                        with torch's fused AdamW and with fastai's Adam, fp32 and bf16 + channels-last (target: < 3 %)
#   cuda_cells.txt       the notebooks' `cuda` test cells: `nbdev-test --flags cuda` where the whole project is installed
#                        (`pip install -e ".[dev]"`); on a bare GPU machine with only torch, fastai and smp,
#                        bench/notebook_cells.py runs 10_learner's (cells needing the data/MLflow stacks are skipped)
#   cudnn_benchmark.txt  the bf16 loops again with torch.backends.cudnn.benchmark
#   tf_padding.txt       the bf16 loops again with EfficientNet's pads as smp makes them (before fold_same_padding)
#   profile.txt          the profiler's top kernels of three bf16 training steps
#   compile.txt          compile: true against eager, for training and for inference
#   memory.txt           peak GPU memory per batch size and the batch `max_that_fits` picks (fp32 and bf16)
#   slow_cuda.txt        where nbdev is installed: every notebook's `slow` and `cuda` cells
# Usage: bash bench/gpu_checks.sh [OUT_DIR] [extra arguments for every bench/train_throughput.py call]
#        GPU_CHECKS="compile memory" bash bench/gpu_checks.sh OUT   # only these sections, in the order above
# Exit status: 2 without a GPU, else 1 if the cuda cells failed, else 0.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu_checks}"; shift || true
mkdir -p "$out"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # rts_seg from this checkout
py=$(command -v python3 || command -v python)
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
$py -c "import torch; assert torch.cuda.is_available(), 'no CUDA device: these checks need a GPU'" || exit 2
$py -c "import torch, fastai, segmentation_models_pytorch as smp; print('torch', torch.__version__, 'fastai', fastai.__version__, 'smp', smp.__version__, 'cuDNN', torch.backends.cudnn.version())" 2>&1 | tee -a "$out/nvidia-smi.txt"
sections=" ${GPU_CHECKS:-loops cuda_cells cudnn_benchmark tf_padding profile compile memory slow_cuda} "
want() { [[ "$sections" == *" $1 "* ]]; }
bench() {
  local name=$1 limit=$2; shift 2; want "$name" || return 0
  echo "== $name"; timeout "$limit" $py bench/train_throughput.py "$@" 2>&1 | tee "$out/$name.txt"
}
cells=0
bench loops 300 --no-compile --no-profile --no-memory "$@"
if want cuda_cells; then
  echo "== cuda_cells"
  if command -v nbdev-test >/dev/null; then nbdev-test --flags cuda --timing 2>&1 | tee "$out/cuda_cells.txt"; cells=$?
  else timeout 300 $py bench/notebook_cells.py nbs/10_learner.ipynb --flags cuda --stop-after-last-flagged 2>&1 | tee "$out/cuda_cells.txt"; cells=$?; fi
fi
bench cudnn_benchmark 200 --precisions bf16 --cudnn-benchmark --no-compile --no-profile --no-memory "$@"
bench tf_padding 200 --precisions bf16 --tf-padding --no-compile --no-profile --no-memory "$@"
bench profile 200 --precisions bf16 --no-loops --no-compile --no-memory "$@"
bench compile 600 --precisions bf16 --no-loops --no-profile --no-memory "$@"
bench memory 300 --no-loops --no-compile --no-profile "$@"
if want slow_cuda && command -v nbdev-test >/dev/null; then echo "== slow_cuda"; nbdev-test --flags "slow cuda" --timing 2>&1 | tee "$out/slow_cuda.txt"; fi
exit $(( cells != 0 ))
