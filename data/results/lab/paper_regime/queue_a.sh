#!/usr/bin/env bash
# Queue A of the paper-regime runs (issue 18): the classroom chirplet in the paper's regime
# (classroom_paper: lr 1e-4, 4800 steps, batch 8), seed by seed so that every finished seed is
# a complete block; then the full JTFS at SCRAPL's compute on seed 0, then the classroom
# regime's P-SAGA cut with the batch-sized probe. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI=$PR/pi/classroom_squared_16x20_seed0.npz
ROWS=scrapl,scrapl_no_theta_is,scrapl_p_adam,mss,p_loss
for SEED in 0 1 2; do
  $PY -m scrapl_edu.lab compare --rows $ROWS --preset classroom_paper --seeds $SEED --jobs 1 \
    --overwrite --row-arg "scrapl=--pi $PI" --out $PR/chirplet \
    --title "classroom chirplet in the paper's regime (lr 1e-4, 4800 steps, batch 8), seed $SEED"
done
# the full JTFS at SCRAPL's compute: 4800 x 68.1 / 682 ms a step (v2/timing, idle) = 480 steps
$PY -m scrapl_edu.lab compare --rows jtfs --preset classroom_paper --seeds 0 --jobs 1 \
  --overwrite --row-arg "jtfs=--steps 480" --out $PR/chirplet_jtfs_equal_compute \
  --title "full JTFS at SCRAPL's compute (480 steps), classroom chirplet, paper regime"
# the classroom regime (lr 1e-3, 400 steps) with the batch-sized probe: P-SAGA off / on
$PY -m scrapl_edu.lab compare --rows scrapl_p_adam,scrapl_no_theta_is --preset classroom \
  --seeds 0 1 2 --jobs 1 --overwrite --out $PR/classroom_psaga_probe8 \
  --title "classroom regime, P-SAGA off / on, applied-step probe = batch (8)"
