#!/usr/bin/env bash
# Queue F of the paper-regime runs (issue 18), run after queue D on the same thread: the
# chirplet's theta-IS row is close on seeds 0-2 (test θ L1 -9 ± 82 permille, 2 of 3 seeds
# improved), so SCRAPL with and without theta-IS get seeds 3 and 4, seed by seed, with the
# same π file. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI=$PR/pi/classroom_squared_16x20_seed0.npz
for SEED in 3 4; do
  $PY -m scrapl_edu.lab compare --rows scrapl,scrapl_no_theta_is --preset classroom_paper \
    --seeds $SEED --jobs 1 --overwrite --row-arg "scrapl=--pi $PI" --out $PR/chirplet \
    --title "classroom chirplet in the paper's regime (lr 1e-4, 4800 steps, batch 8), seed $SEED"
done
