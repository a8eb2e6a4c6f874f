#!/usr/bin/env bash
# Queue D of the paper-regime runs (issue 18), run after queue B on the same thread: the
# batch-32 control on the classroom chirplet (SCRAPL all switches and SCRAPL uniform, seed 0,
# batch 32 as the paper's). (Table 3's uniform row, first queued here, runs in queue E.) Run
# from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI=$PR/pi/classroom_squared_16x20_seed0.npz
$PY -m scrapl_edu.lab compare --rows scrapl,scrapl_no_theta_is --preset classroom_paper \
  --seeds 0 --jobs 1 --overwrite --run-arg="--batch-size 32" --row-arg "scrapl=--pi $PI" \
  --out $PR/chirplet_batch32 \
  --title "batch-32 control: classroom chirplet, paper regime, batch 32, seed 0"
