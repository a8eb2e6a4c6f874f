#!/usr/bin/env bash
# Queue G of the paper-regime runs (issue 18): the granular theta-IS row with the authors'
# norm path loss is close on seeds 0-2 (Δ test θ L1 +14 permille, 1 of 3 seeds improved), so
# uniform and theta-IS get seeds 3 and 4, seed by seed, with the same π file as queue B.
# Usage: queue_g.sh SEED... (run as two one-thread processes, `queue_g.sh 3` and
# `queue_g.sh 4`, side by side); from the repository root, one thread each.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI_NORM=$PR/pi/classroom_granular_norm_16x20_seed0.npz
SEEDS=("$@"); [ ${#SEEDS[@]} -gt 0 ] || SEEDS=(3 4)
for SEED in "${SEEDS[@]}"; do
  $PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is,scrapl --preset classroom_granular_paper \
    --seeds $SEED --jobs 1 --overwrite --run-arg="--path-loss norm" \
    --row-arg "scrapl=--pi $PI_NORM" --out $PR/granular_norm \
    --title "classroom granular, paper regime, the authors' norm path loss, seed $SEED"
done
