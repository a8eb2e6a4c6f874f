#!/usr/bin/env bash
# Queue E of the paper-regime runs (issue 18), run after queue C on the same thread: the
# uniform row of Table 3 in small (classroom am1-2_fm0.5-1, paper regime, seeds 0..2; moved
# here from the end of queue D so that it starts as soon as a thread is free), then the
# authors' full-JTFS baseline (with the first-order coefficients, --jtfs-first-order) at
# SCRAPL's compute (480 steps), seed 0. Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
$PY -m scrapl_edu.lab compare --rows scrapl_no_theta_is --preset classroom_am1-2_fm0.5-1_paper \
  --seeds 0 1 2 --jobs 1 --overwrite --out $PR/am1-2_fm0.5-1 \
  --title "Table 3 in small: classroom am1-2_fm0.5-1, paper regime, uniform"
$PY -m scrapl_edu.lab compare --rows jtfs --preset classroom_paper --seeds 0 --jobs 1 \
  --overwrite --row-arg "jtfs=--steps 480" --run-arg="--jtfs-first-order" \
  --out $PR/chirplet_jtfs_first_order_equal_compute \
  --title "full JTFS with the first order (the authors' baseline) at SCRAPL's compute (480 steps), classroom chirplet, paper regime"
