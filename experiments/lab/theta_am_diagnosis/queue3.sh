#!/bin/bash
# from the repository root (first made at commit 5eca1dd; the scripts now run on today's API)
set -euo pipefail
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
OUT=data/results/lab/theta_am_diagnosis/out
mkdir -p $OUT
# after queue1.sh (it reads the full JTFS checkpoint at step 200)
$PY -m experiments.lab.theta_am_diagnosis.warmstart warm_jtfs200_scrapl $OUT/jtfs_s0/ckpt_200.pt seed=0
$PY -m experiments.lab.theta_am_diagnosis.warmstart warm_jtfs200_jtfs100 $OUT/jtfs_s0/ckpt_200.pt seed=0 loss='"jtfs"' steps=100 val_every=25
