#!/bin/bash
# checkpoints for the applied-step diagnosis: the ablation rows (seed 0) and the full JTFS
export PYTHONPATH=<worktree> OMP_NUM_THREADS=1
PY=<checkout>/.venv/bin/python
cd <worktree>
$PY experiments/ckpt_run.py experiments/out/so_s0 100,200 seed=0 p_adam=false p_saga=false theta_is=false > experiments/out/so_s0.log 2>&1
$PY experiments/ckpt_run.py experiments/out/pa_s0 100,200 seed=0 p_adam=true p_saga=false theta_is=false > experiments/out/pa_s0.log 2>&1
$PY experiments/ckpt_run.py experiments/out/ps_s0 100,200 seed=0 p_adam=false p_saga=true theta_is=false > experiments/out/ps_s0.log 2>&1
$PY experiments/ckpt_run.py experiments/out/jtfs_s0 50,100,200,300 seed=0 loss='"jtfs"' > experiments/out/jtfs_s0.log 2>&1
