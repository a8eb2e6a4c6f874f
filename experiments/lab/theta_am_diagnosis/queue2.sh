#!/bin/bash
# from the repository root (first made at commit 5eca1dd; the scripts now run on today's API)
set -euo pipefail
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
OUT=data/results/lab/theta_am_diagnosis/out
mkdir -p $OUT
$PY -m experiments.lab.theta_am_diagnosis.run_one lr3e-3 seed=0 lr=3e-3
$PY -m experiments.lab.theta_am_diagnosis.run_one b2x1600 seed=0 batch_size=2 steps=1600 val_every=100
$PY -m experiments.lab.theta_am_diagnosis.sag sag_lr1e-3 seed=0
$PY -m experiments.lab.theta_am_diagnosis.sag sag_lr3e-3 seed=0 lr=3e-3
