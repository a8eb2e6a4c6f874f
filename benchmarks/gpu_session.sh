#!/usr/bin/env bash
# The GPU checks of issue 13 in one go, for a machine with CUDA (about 8 minutes on an
# H100-class GPU; each step has its own time limit). From the repository root:
#
#   bash benchmarks/gpu_session.sh [OUTDIR]     # OUTDIR: default $OUT, else data/results
#
# 1. benchmarks/gpu_check.py: CUDA vs CPU and the kymatio-dev fixtures, one path's kernel
#    count, and one path's loss from a CUDA graph vs eager (values, gradients, time);
# 2. benchmarks/gpu_lab_check.py: fast-mode lab runs on CUDA vs the CPU (test θ L1 within 1 ‰,
#    the same paths drawn) and checkpoints resumed across devices;
# 3. benchmarks/paper_scale_timing.py --device cuda --cuda-graphs: Table 5 at paper scale
#    (loss alone, batch 4, all 315 paths) and one lab training step at batch 32.
# Needs a CUDA build of torch and the project's dependencies (numpy, scipy, auraloss, tqdm).
set -u -o pipefail
PY=${PY:-python}
OUTDIR=${1:-${OUT:-data/results}}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
mkdir -p "$OUTDIR"
$PY - <<'PYEOF' || { echo "no usable CUDA torch here: nothing to check"; exit 2; }
import importlib, sys
import torch
print("torch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available())
if not torch.cuda.is_available():
    sys.exit(1)
print("GPU:", torch.cuda.get_device_name(0))
missing = [m for m in ("numpy", "scipy", "auraloss", "tqdm") if importlib.util.find_spec(m) is None]
if missing:
    print("missing Python packages:", ", ".join(missing))
    sys.exit(1)
try:
    import scrapl_edu.lab  # noqa: F401  (the lab and everything it imports)
except ImportError as err:
    print("the lab does not import here:", err, "(pip install the missing package)")
    sys.exit(1)
PYEOF
slug=$($PY -c "import re, torch; print(re.sub(r'\W+', '_', torch.cuda.get_device_name(0)).strip('_').lower())")
status=0
echo "== 1. gpu_check (CUDA vs CPU, CUDA graphs) =="
timeout 300 $PY benchmarks/gpu_check.py --out "$OUTDIR/cuda_graphs_$slug.json" \
    2>&1 | tee "$OUTDIR/gpu_check_$slug.log" || status=1
echo "== 2. gpu_lab_check (lab on CUDA vs CPU, checkpoints across devices) =="
timeout 300 $PY benchmarks/gpu_lab_check.py --out "$OUTDIR/gpu_lab_check_$slug.json" \
    2>&1 | tee "$OUTDIR/gpu_lab_check_$slug.log" || status=1
echo "== 3. paper_scale_timing (Table 5 and a training step at paper scale) =="
timeout 420 $PY benchmarks/paper_scale_timing.py --device cuda --cuda-graphs \
    --out "$OUTDIR/paper_scale_timing_$slug.json" \
    2>&1 | tee "$OUTDIR/paper_scale_timing_$slug.log" || status=1
exit $status
