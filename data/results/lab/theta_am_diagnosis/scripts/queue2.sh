#!/bin/bash
export PYTHONPATH=<worktree> OMP_NUM_THREADS=1
PY=<checkout>/.venv/bin/python
cd <worktree>
$PY experiments/run_one.py lr3e-3 seed=0 lr=3e-3
$PY experiments/run_one.py b2x1600 seed=0 batch_size=2 steps=1600 val_every=100
$PY experiments/sag.py sag_lr1e-3 seed=0
$PY experiments/sag.py sag_lr3e-3 seed=0 lr=3e-3
