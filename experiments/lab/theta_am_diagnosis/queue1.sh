#!/bin/bash
# checkpoints for the applied-step diagnosis: the ablation rows (seed 0) and the full JTFS
# from the repository root (first made at commit 5eca1dd; the scripts now run on today's API)
set -euo pipefail
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
OUT=data/results/lab/theta_am_diagnosis/out
mkdir -p $OUT
$PY -m experiments.lab.theta_am_diagnosis.ckpt_run $OUT/so_s0 100,200 seed=0 p_adam=false p_saga=false theta_is=false > $OUT/so_s0.log 2>&1
$PY -m experiments.lab.theta_am_diagnosis.ckpt_run $OUT/pa_s0 100,200 seed=0 p_adam=true p_saga=false theta_is=false > $OUT/pa_s0.log 2>&1
$PY -m experiments.lab.theta_am_diagnosis.ckpt_run $OUT/ps_s0 100,200 seed=0 p_adam=false p_saga=true theta_is=false > $OUT/ps_s0.log 2>&1
$PY -m experiments.lab.theta_am_diagnosis.ckpt_run $OUT/jtfs_s0 50,100,200,300 seed=0 loss='"jtfs"' > $OUT/jtfs_s0.log 2>&1
