#!/usr/bin/env bash
# Queue I of the paper-regime runs (issue 18): Table 3 in small on am1-2_fm0.5-1 read a θ_AM
# gain of 26 % on seeds 0-2, just past its rule's 25 %, so uniform and θ-IS get seeds 3 and
# 4, seed by seed, with the same π file as queue C. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PRESET=classroom_am1-2_fm0.5-1_paper
PI=$PR/pi/classroom_am1-2_fm0.5-1_squared_16x20_seed0.npz
for SEED in 3 4; do
  $PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is,scrapl --preset $PRESET \
    --seeds $SEED --jobs 1 --overwrite --row-arg "scrapl=--pi $PI" --out $PR/am1-2_fm0.5-1 \
    --title "Table 3 in small: classroom am1-2_fm0.5-1, paper regime, seed $SEED"
done
