"""The sound-matching lab: train an encoder through a synth with P-loss, MSS, JTFS or SCRAPL.

The experiment of Sections 4.2-4.3 of the paper (unsupervised DDSP sound matching, Tables
1-3, Appendix E) made small enough to run on a laptop. One file per stage:

* :mod:`~scrapl_edu.lab.config`: what defines a run (:class:`LabConfig`, :func:`make_config`
  from a preset of :mod:`scrapl_edu.presets`) and the rows of Tables 1-3;
* :mod:`~scrapl_edu.lab.data`: the data set (theta, audio, 60/20/20 split);
* :mod:`~scrapl_edu.lab.loss_kinds`: one object per loss (P-loss, MSS, JTFS, SCRAPL): what it
  builds, its side of a step, what it is (:data:`LOSS_KINDS`; ``LabConfig.loss_kind``);
* :mod:`~scrapl_edu.lab.train`: the parts of a run, its state (the checkpoint), one step of
  Algorithm 1, validation, and :func:`run`;
* :mod:`~scrapl_edu.lab.results`: :class:`Results`, the live :class:`Snapshot`, Table 2's
  convergence and total variation;
* :mod:`~scrapl_edu.lab.theta_box`: where θ-IS puts its probability (App. C, Fig. 6);
* :mod:`~scrapl_edu.lab.comparison`: rows x seeds in parallel processes -> mean ± 95% CI tables;
* :mod:`~scrapl_edu.lab.summary`: a comparison's ``summary.json``, typed (:class:`Summary`);
* :mod:`~scrapl_edu.lab.paired`: per-seed differences of rows that differ by one switch
  (paired t-test, Wilcoxon, seeds improved: Table 6 in small);
* :mod:`~scrapl_edu.lab.applied`: the applied-step diagnostic (what P-Adam and P-SAGA change);
* :mod:`~scrapl_edu.lab.switch`, :mod:`~scrapl_edu.lab.listen`: the dashboard's compare on
  paired seeds, and a run's reconstructions as sound;
* :mod:`~scrapl_edu.lab.evidence`: the committed results against the paper (notebook 09);
* :mod:`~scrapl_edu.lab.run_config`: ``config.json``, the configuration a run folder holds;
* :mod:`~scrapl_edu.lab.run_args`, :mod:`~scrapl_edu.lab.cli`: the command line (one flag per
  :class:`LabConfig` field, generated).

``run(make_config("classroom", loss="scrapl"))`` returns :class:`Results` and, given an
``out`` folder, writes ``config.json`` before its first step, ``results.json`` + CSV files at
the end, and keeps a checkpoint so that an interrupted run resumes. From a shell (also the
``scrapl-edu`` console script)::

    python -m scrapl_edu.lab run --preset classroom --loss scrapl --seed 0 --out out/run
    python -m scrapl_edu.lab compare --table losses --seeds 0 1 2 --out out/losses --jobs 2

``SCRAPL_EDU_FAST=1`` (read by the command line; ``run --fast`` says the same) shrinks the
preset to seconds of compute; from Python pass ``make_config(..., fast=True)``.
"""

from scrapl_edu.lab.comparison import (
    aggregate,
    ci95,
    compare,
    load_summary,
    refresh_summary,
    run_dir,
)
from scrapl_edu.lab.config import LOSSES, ROW_LABELS, ROWS, TABLES, LabConfig, make_config
from scrapl_edu.lab.data import make_dataset, split_sizes
from scrapl_edu.lab.loss_kinds import LOSS_KINDS, LossKind, loss_kind
from scrapl_edu.lab.paired import one_switch_pairs, paired_difference, paired_stats
from scrapl_edu.lab.results import (
    RESULTS_JSON,
    Results,
    Snapshot,
    StepProgress,
    convergence_step,
    excess_variation,
    total_variation,
)
from scrapl_edu.lab.summary import Summary
from scrapl_edu.lab.theta_box import paths_in_theta_box, theta_box_share, theta_is_presets
from scrapl_edu.lab.train import CHECKPOINT, GRAD_EMA, GradEMA, TrainState, build_jtfs, run

__all__ = [
    "CHECKPOINT",
    "GRAD_EMA",
    "LOSSES",
    "LOSS_KINDS",
    "RESULTS_JSON",
    "ROWS",
    "ROW_LABELS",
    "TABLES",
    "GradEMA",
    "LabConfig",
    "LossKind",
    "Results",
    "Snapshot",
    "StepProgress",
    "Summary",
    "TrainState",
    "aggregate",
    "build_jtfs",
    "ci95",
    "compare",
    "convergence_step",
    "excess_variation",
    "load_summary",
    "loss_kind",
    "make_config",
    "make_dataset",
    "one_switch_pairs",
    "paired_difference",
    "paired_stats",
    "paths_in_theta_box",
    "refresh_summary",
    "run",
    "run_dir",
    "split_sizes",
    "theta_box_share",
    "theta_is_presets",
    "total_variation",
]
