#!/bin/bash
export PYTHONPATH=<worktree> OMP_NUM_THREADS=1
PY=<checkout>/.venv/bin/python
cd <worktree>
while kill -0 2271 2>/dev/null; do sleep 5; done
$PY experiments/warmstart.py warm_jtfs200_scrapl experiments/out/jtfs_s0/ckpt_200.pt seed=0
$PY experiments/warmstart.py warm_jtfs200_jtfs100 experiments/out/jtfs_s0/ckpt_200.pt seed=0 loss='"jtfs"' steps=100 val_every=25
