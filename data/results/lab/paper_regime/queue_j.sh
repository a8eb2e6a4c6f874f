#!/usr/bin/env bash
# Queue J of the paper-regime runs (issue 18): the granular θ-IS row's verdict counts seeds
# improved with Eq. 3's squared path loss (0 of 3 on seeds 0-2), so one improving seed would
# turn it; uniform and θ-IS get seeds 3 and 4 with the same π file as queue B.
# Usage: queue_j.sh SEED... (run as `queue_j.sh 3` and `queue_j.sh 4` side by side); from
# the repository root, one thread each.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI_SQ=$PR/pi/classroom_granular_squared_16x20_seed0.npz
SEEDS=("$@"); [ ${#SEEDS[@]} -gt 0 ] || SEEDS=(3 4)
for SEED in "${SEEDS[@]}"; do
  $PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is,scrapl --preset classroom_granular_paper \
    --seeds $SEED --jobs 1 --overwrite --row-arg "scrapl=--pi $PI_SQ" --out $PR/granular_squared \
    --title "classroom granular, paper regime, squared path loss (Eq. 3), seed $SEED"
done
