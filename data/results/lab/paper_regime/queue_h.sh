#!/usr/bin/env bash
# Queue H of the paper-regime runs (issue 18): the full JTFS (second order, as the equal-
# compute row) at SCRAPL's *steps*, 4800, seed 0: the paper's "with unlimited compute the
# JTFS is more accurate" (Table 1) at the paper regime. About 57 min on an idle core (713 ms
# a step); a run stopped by the end of a session resumes from its checkpoint when this is
# run again (compare passes --resume). Run from the repository root, one thread.
set -euo pipefail
PY=${PY:-.venv/bin/python}
PR=data/results/lab/paper_regime
$PY -m scrapl_edu.lab compare --rows jtfs --preset classroom_paper --seeds 0 --jobs 1 \
  --overwrite --out $PR/chirplet_jtfs_equal_steps \
  --title "full JTFS at SCRAPL's steps (4800), classroom chirplet, paper regime"
