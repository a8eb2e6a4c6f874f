#!/usr/bin/env bash
# Queue B of the paper-regime runs (issue 18): the classroom granular synth in the chirplet's
# paper regime (classroom_granular_paper; its own regime, lr 1e-5 x 19200 steps, is out of a
# CPU's reach), uniform vs theta-IS with both path losses: Eq. 3's squared P·‖Δ_p‖² and the
# authors' ‖Δ_p‖₂. π is computed once at seed 0's untrained encoder and reused for every seed
# (the authors' practice): the squared one is the theta-IS-quality reference (16 x 20), the
# norm one is computed here at the same size. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI_SQ=$PR/pi/classroom_granular_squared_16x20_seed0.npz
PI_NORM=$PR/pi/classroom_granular_norm_16x20_seed0.npz
if [ ! -f $PI_NORM ]; then
  $PY -m scrapl_edu.lab run --preset classroom_granular_paper --path-loss norm --seed 0 \
    --theta-is-examples 16 --theta-is-iters 20 --max-steps 1 --no-applied-diag --threads 1 \
    --no-progress --overwrite --out $PR/pi/granular_norm_theta_is_run
  cp $PR/pi/granular_norm_theta_is_run/theta_is.npz $PI_NORM
fi
for SEED in 0 1 2; do
  $PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is,scrapl --preset classroom_granular_paper \
    --seeds $SEED --jobs 1 --overwrite --row-arg "scrapl=--pi $PI_SQ" --out $PR/granular_squared \
    --title "classroom granular, paper regime, squared path loss (Eq. 3), seed $SEED"
  $PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is,scrapl --preset classroom_granular_paper \
    --seeds $SEED --jobs 1 --overwrite --run-arg="--path-loss norm" \
    --row-arg "scrapl=--pi $PI_NORM" --out $PR/granular_norm \
    --title "classroom granular, paper regime, the authors' norm path loss, seed $SEED"
done
