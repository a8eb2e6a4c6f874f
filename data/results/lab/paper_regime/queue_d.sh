#!/usr/bin/env bash
# Queue D of the paper-regime runs (issue 18), run after queue B on the same thread: the
# batch-32 control on the classroom chirplet (SCRAPL all switches and SCRAPL uniform, seed 0,
# batch 32 as the paper's), then the uniform row of Table 3 in small (classroom
# am1-2_fm0.5-1, paper regime, seeds 0..2; its theta-IS row needs queue C's π). Run from the
# repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
PI=$PR/pi/classroom_squared_16x20_seed0.npz
$PY -m scrapl_edu.lab compare --rows scrapl,scrapl_no_theta_is --preset classroom_paper \
  --seeds 0 --jobs 1 --overwrite --run-arg="--batch-size 32" --row-arg "scrapl=--pi $PI" \
  --out $PR/chirplet_batch32 \
  --title "batch-32 control: classroom chirplet, paper regime, batch 32, seed 0"
$PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is --preset classroom_am1-2_fm0.5-1_paper \
  --seeds 0 1 2 --jobs 1 --overwrite --out $PR/am1-2_fm0.5-1 \
  --title "Table 3 in small: classroom am1-2_fm0.5-1, paper regime, uniform"
