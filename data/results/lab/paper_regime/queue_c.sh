#!/usr/bin/env bash
# Queue C of the paper-regime runs (issue 18), run after queue A on the same thread: Table 3 in
# small on the classroom am1-2_fm0.5-1 task in the paper's regime. Its π is computed once at
# seed 0's untrained encoder (16 x 20, as the chirplet's) and reused for every seed; then the
# θ-IS row, seeds 0..2. The uniform row runs in queue D. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PRESET=classroom_am1-2_fm0.5-1_paper
PI=$PR/pi/classroom_am1-2_fm0.5-1_squared_16x20_seed0.npz
if [ ! -f $PI ]; then
  $PY -m scrapl_edu.lab run --preset $PRESET --seed 0 \
    --theta-is-examples 16 --theta-is-iters 20 --max-steps 1 --no-applied-diag --threads 1 \
    --no-progress --overwrite --out $PR/pi/am1-2_fm0.5-1_theta_is_run
  cp $PR/pi/am1-2_fm0.5-1_theta_is_run/theta_is.npz $PI
fi
$PY -m scrapl_edu.lab compare --rows scrapl --preset $PRESET --seeds 0 1 2 --jobs 1 \
  --overwrite --row-arg "scrapl=--pi $PI" --out $PR/am1-2_fm0.5-1 \
  --title "Table 3 in small: classroom am1-2_fm0.5-1, paper regime, theta-IS"
