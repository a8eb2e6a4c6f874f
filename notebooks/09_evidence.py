# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: nbgrader,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Evidence: where the lab agrees with the paper
#
# **Objectives**
# - read the committed lab results (no training: this notebook runs in seconds) as the paper
#   reads its own: accuracy against cost (Fig. 1), an ablation read seed by seed (Tables 2
#   and 6), θ-IS against uniform sampling (Table 3), errors per parameter;
# - tell an effect from seed noise with paired differences, a paired test and "seeds
#   improved";
# - list, each with its number, what this classroom-scale lab confirms and what it does not.
#
# **Prerequisites**: 05 (P-Adam), 06 (P-SAGA), 07 (θ-IS), 08 (the lab)
# **Study time**: about 35 min
# **Paper**: Section 1 (Fig. 1), Section 5.1 (Tables 1–2, Fig. 2), Section 5.2 (Table 3),
# Appendix B (Table 6)

# %% [markdown]
# **Idea.** A claim about an optimizer is a claim about numbers that vary from seed to seed.
# The lab's runs share their seed across rows (same data, initialisation, batches and random
# shifts), so two rows that differ by one switch are compared seed by seed, as the paper's
# Table 6 does. Every statement at the end of this notebook is decided by a number read from
# `data/results/lab/v2` (the classroom presets' STFT 64/16 front end); if a rerun changes a
# number enough to change a verdict, the notebook fails and the story has to be rewritten.

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from scrapl_edu import viz
from scrapl_edu.lab.evidence import (
    claims,
    cost_accuracy,
    errors_per_parameter,
    load_evidence,
    paired_ablation,
    table3,
)
from scrapl_edu.lab.paired import paired_markdown
from scrapl_edu.lab.regime import PAPER_THETA_AM, regime_markdown, regime_rows
from scrapl_edu.presets import am_resolution_of, get_preset

ev = load_evidence()  # the committed results: data/results/lab/v2
print("read:", ", ".join(sorted(ev.summaries)), "| idle ms/step:", ev.idle_ms)

# %% [markdown]
# ## Accuracy against cost (Fig. 1 in small)
#
# The paper's Fig. 1 puts each loss at its error and its cost: MSS cheap and inaccurate, the
# full JTFS accurate and 25 times as costly, SCRAPL in between. Here the costs are the
# timings of one thread on an idle machine (`timing/`; hollow markers would be costs
# rescaled from a loaded machine). The full JTFS appears twice: with SCRAPL's compute (as
# many steps as cost what SCRAPL's 400 cost on the idle machine) and at equal steps.

# %%
points = cost_accuracy(ev)
fig = viz.plot_accuracy_vs_cost(points)
display(fig)
plt.close(fig)
for p in points:
    m, h = p["theta_l1"]
    est = " (estimated)" if p["estimated"] else ""
    print(f"{p['label']:30s} {m:6.1f} ± {h:5.1f} ‰   {p['ms_per_step']:7.1f} ms/step{est}")

# %% [markdown]
# ## The ablation, seed by seed (Tables 2 and 6 in small)
#
# Each row turns one technique on, on top of the row before. Δ is the change of test θ L1
# on each seed (negative: the technique helped), with its 95% interval, the paired t-test's
# p, the Wilcoxon signed-rank test's p and how many of the seeds improved. The paper's
# ablation (Tables 2 and 6) is on the granular synth; the lab runs it on both.

# %%
params = {"chirplet": ["am_hz", "fm_oct_per_s"], "granular": ["density", "slope_oct_per_s"]}
by_label = {}
for synth, names in params.items():
    ablation = paired_ablation(ev, synth)
    display(Markdown(f"**{synth}**\n\n" + paired_markdown(ablation, names)))
    by_label[synth] = {item.label: item.theta_l1 for item in ablation}

# %% [markdown]
# **Exercise 1 (the paired test, 2 points).** The p column is a paired t-test on the per-seed
# differences $d_s$: $t = \bar d/(s_d/\sqrt n)$ with $n-1$ degrees of freedom, two-sided.
# Write `paired_p(diff)` (`scipy.stats.t.sf` gives the upper tail). The graded cell
# recomputes the p of every row of both ablations from its per-seed differences.


# %% nbgrader={"grade": false, "grade_id": "ex_09_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def paired_p(diff):
    """Two-sided paired t-test p-value for the per-seed differences diff."""
    ### BEGIN SOLUTION
    from scipy import stats

    d = np.asarray(diff, dtype=float)
    t = d.mean() / (d.std(ddof=1) / np.sqrt(d.size))
    return float(2 * stats.t.sf(abs(t), d.size - 1))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_09_1_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
for synth in params:
    for label, item in by_label[synth].items():
        assert abs(paired_p(item.diff) - item.p_t) < 1e-9 * max(1.0, item.p_t), label

# %% [markdown]
# ## θ-IS against uniform sampling (Table 3)
#
# The classroom presets scale the paper's chirplets down (1024 Hz, 4 s) and keep their AM
# rates in Hz and FM rates in octaves per second; the paper's numbers are for 20 seeds at
# full scale.

# %%
rows = ["| preset (paper config.) | π | θ_AM ‰ lab | θ_AM ‰ paper | θ_FM ‰ lab | θ_FM ‰ paper |"]
rows.append("|---|---|---|---|---|---|")
for r in table3(ev):
    rows.append(
        f"| {r['preset']} ({r['paper_config']}) | {r['sampling']} "
        f"| {r['am'][0]:.0f} ± {r['am'][1]:.0f} | {r['paper_am']:.0f} "
        f"| {r['fm'][0]:.0f} ± {r['fm'][1]:.0f} | {r['paper_fm']:.0f} |"
    )
display(Markdown("\n".join(rows)))

# %% [markdown]
# ### How many signals and power iterations θ-IS needs
#
# θ-IS estimates π from N_IS signals with a power iteration per (signal, parameter, path)
# (Eq. 12). The paper uses N_IS = 32 signals on the chirplet (Table 11) and 320 on the
# granular synth (Table 10), 16 on the drums, with 20 power iterations; the classroom presets
# use far fewer to keep a run short. One long run of 16 × 20 (the drums' N_IS: the largest
# this lab could afford, about half an hour per preset on one core, and still half the
# chirplet's and a twentieth of the granular synth's) on each preset's untrained encoder
# kept every iterate, so π of every cheaper setting is read from it exactly; its distance
# to the 16 × 20 π is the price of the shortcut (`python -m scrapl_edu.lab theta-is-quality`). The rule, fixed
# before the measurement: the cheapest setting whose π has Spearman ρ ≥ 0.9 with the
# reference and a total-variation distance ≤ 0.1.

# %%
for rep in ev.theta_is_quality:
    own, pick = rep["preset_setting"], rep["chosen"]
    pick_text = f"{pick['n_examples']} × {pick['n_iter']}" if pick else "none on the grid"
    print(
        f"{rep['preset']}: the preset's {own['n_examples']} × {own['n_iter']} has ρ = "
        f"{own['rho']:.2f}, TV = {own['tv']:.2f}; the rule picks {pick_text}"
    )
fig = viz.plot_theta_is_quality(ev.theta_is_quality)
display(fig)
plt.close(fig)
PAPER_N_IS = {"chirplet": 32, "granular": 320, "drums": 16}  # Tables 11, 10; Section 4.4
references = {(r["reference"]["n_examples"], r["reference"]["n_iter"]) for r in ev.theta_is_quality}
print(f"the lab's reference run: {references}; the paper's N_IS: {PAPER_N_IS}, 20 iterations")
assert references == {(16, 20)} and 16 < PAPER_N_IS["chirplet"] < PAPER_N_IS["granular"]

# %% [markdown]
# ## Errors per parameter
#
# The mean θ L1 hides which parameter was learnt. The dashed line is a constant guess of
# 0.5, which scores 250 ‰ on a uniformly drawn parameter.

# %%
per_param = errors_per_parameter(ev)
fig = viz.plot_errors_per_parameter(per_param)
display(fig)
plt.close(fig)

# %% [markdown]
# Part of the θ_AM story is the encoder's input. A front end resolves an AM rate if it
# samples the envelope above twice that rate and its window at the chirplet's lowest
# frequency passes at least half the modulation (`scrapl_edu.models.am_resolution`). The
# classroom chirplet's AM goes up to 8.4 Hz. The results read above were made with the
# classroom presets' STFT of 64 / 16 samples; until `data/results/lab/v2` they used
# 128 / 64 (README, "The encoder's front end"):

# %%
previous = dataclasses.replace(get_preset("classroom"), frontend={"n_fft": 128, "hop_length": 64})
fronts = {"STFT 128/64 (before v2)": previous, "STFT 64/16 (results above)": "classroom"}
checks = [(name, preset, "stft") for name, preset in fronts.items()]
for label, preset, kind in checks + [("paper CQT", "classroom", "cqt")]:
    r = am_resolution_of(preset, kind)
    print(
        f"{label}: {r.frame_rate_hz:.0f} frames/s (needs {2 * r.rate_hz:.1f}), window passes "
        f"{r.transfer:.2f} of an {r.rate_hz} Hz AM at {r.lowest_hz:.0f} Hz -> "
        f"frames {'ok' if r.frames_ok else 'too slow'}, "
        f"window {'ok' if r.window_ok else 'too long'}"
    )
old = am_resolution_of(previous, "stft")
stft, cqt = am_resolution_of("classroom", "stft"), am_resolution_of("classroom", "cqt")
assert not old.frames_ok and old.window_ok, "the previous STFT samples the AM too slowly"
assert stft.ok, "the classroom's STFT 64/16 resolves the top AM rate"
assert cqt.frames_ok and not cqt.window_ok, "the paper's CQT at 1024 Hz has too long filters"

# %% [markdown]
# ## Where the lab agrees with the paper, and where it does not
#
# Each line: what the paper says (with its number), what the lab measured, and the verdict
# the number gives.

# %%
found = claims(ev)
lines = ["| | the paper | this lab |", "|---|---|---|"]
for c in found:
    lines.append(f"| {'agrees' if c.agrees else 'does not'} | {c.paper} | {c.lab} |")
display(Markdown("\n".join(lines)))

# %%
# the story as the committed results tell it: a rerun that changes a verdict fails here
AGREES = {
    "mss_fails_under_shifts",
    "scrapl_step_is_cheap",
    "scrapl_ahead_at_equal_compute",
    "supervised_is_best",
    "jtfs_learns_theta_am",
    "p_adam_not_significant",
    "p_saga_significant",
    "p_saga_lowers_step_variance_granular",
}
DOES_NOT = {
    "scrapl_within_2x_of_jtfs",
    "scrapl_learns_theta_am",
    "scrapl_converges",
    "p_adam_not_significant_granular",
    "p_saga_significant_granular",
    "theta_is_helps_classroom",
    "theta_is_not_significant_granular",
    "theta_is_helps_am1-2_fm0.5-1",
    "theta_is_improves_theta_am",
    "p_saga_lowers_step_variance",
    "total_variation_falls_with_p_saga",
}
verdict = {c.key: c.agrees for c in found}
assert set(verdict) == AGREES | DOES_NOT, sorted(set(verdict) ^ (AGREES | DOES_NOT))
changed = sorted(k for k in verdict if verdict[k] != (k in AGREES))
assert not changed, f"the results now tell another story for: {changed}"
chirplet, granular = by_label["chirplet"], by_label["granular"]
assert chirplet["+ P-SAGA"].improved == chirplet["+ P-SAGA"].n == 10
assert granular["+ θ-IS"].improved == 0 and granular["+ P-Adam"].improved >= 9

# %% [markdown]
# Reading the list: the lab reproduces the paper's shape where it is about cost (MSS fails
# under shifts, one path costs a tenth of the full transform, and per unit of compute SCRAPL
# is ahead of the full JTFS) and about P-SAGA on the chirplet (a gain on all 10 seeds, while
# P-Adam's accuracy effect is lost in seed noise, as in the accuracy half of Table 6,
# p = 0.15). Table 6 has a second half that the lab cannot read: P-Adam's convergence gain,
# −2900 ± 1800 steps (p < 0.01), is measured in steps to reach 100 ‰, and no classroom run
# gets there in 400 steps (checked below). It does not reproduce the paper's scale:
# in 400 steps no SCRAPL run converges, SCRAPL stays near a constant guess on θ_AM while the
# full JTFS learns it, and per step SCRAPL is 3× behind the full JTFS. θ-IS's gains in
# Table 3 do not show (on the classroom chirplet its 8/10 seeds fall just short of
# significance, all of it θ_FM), and on the granular synth the ablation comes out upside
# down: P-Adam gives the large gain, P-SAGA's is not significant, and θ-IS hurts on every
# seed. A better θ-IS estimate (8 or 16 signals instead of 2) changed neither (README,
# "θ-IS: N_IS and power iterations").

# %%
for folder in ("ablation", "ablation_granular"):
    rates = {e.row: e.conv_rate for e in ev.summaries[folder].entries}
    print(f"{folder}: share of runs below 100 ‰ within the budget: {rates}")
    assert all(r == 0 for r in rates.values())  # no convergence: Table 6's 2nd half is unread

# %% [markdown]
# ## The paper's regime: a property of SCRAPL, or of the classroom budget?
#
# Every reading above is made at the classroom's schedule: lr 1e-3 for 400 steps (6 visits
# per path at P = 63). The paper trains at lr 1e-4 for 4800 steps (Table 11). The
# `*_paper` presets keep the classroom's task (the same synth, JTFS, data set and batch of
# 8) and take the paper's optimisation; θ-IS's π is measured once at seed 0's untrained
# encoder (16 signals × 20 power iterations) and reused for every seed, as the authors do.
# For each disagreement, the classroom number, the paper-regime number and the paper's sit
# side by side, and a rule fixed *before* the paper-regime runs gives the verdict
# (`scrapl_edu.lab.regime`): *classroom budget* (the paper regime reads as the paper),
# *method at classroom scale* (it reads as the classroom), *partly the budget*, *loss
# definition* (only the authors' unsquared per-path loss reads as the paper) or
# *agrees*; the batch-32 control says whether the paper's batch changes the reading. These
# runs take hours of CPU: they are read here, not made.

# %%
rows = regime_rows(ev=ev)
display(Markdown(regime_markdown(rows)))
verdicts = {r.key: r.verdict for r in rows}
# the verdicts of the committed runs (seeds 0-4 of the four θ-IS rows: chirplet, granular
# with either path loss and Table 3 on am1-2_fm0.5-1; seeds 0-2 of every other chirplet
# row; seed 0 of the full JTFS at SCRAPL's compute and steps and of the batch-32
# control;
# 2026-12-07): a rerun or more seeds that change one make this cell fail, and the reading
# below must be rewritten
REGIME_VERDICTS = {
    "scrapl_theta_am": "partly the budget",
    "theta_is_theta_am": "method at classroom scale",
    "scrapl_beats_mss": "agrees",
    "p_saga_cut": "classroom budget",
    "theta_is_granular": "loss definition",
    "theta_is_am12": "method at classroom scale",  # "classroom budget" on seeds 0-2
    "jtfs_equal_compute": "agrees",
    "jtfs_equal_steps": "agrees",
    "batch32": "batch does not change the reading",
}
assert verdicts == REGIME_VERDICTS, f"the paper-regime story changed: {verdicts}"
by_key = {r.key: r for r in rows}
assert by_key["p_saga_cut"].values["paper_regime"][0] >= 3.0  # the target, met
am = by_key["scrapl_theta_am"].values
# about a third below the classroom's constant guess, still above the paper's uniform range
assert PAPER_THETA_AM["uniform"][1] < am["paper_regime"] < 0.7 * am["classroom"]

# %% [markdown]
# Reading the table (three seeds a row; five for the θ-IS rows: on the chirplet, on the
# granular synth with either path loss and on AM 1-2 Hz / FM 0.5-1 oct/s; the full JTFS and
# the batch-32 control on one). SCRAPL's failure to learn θ_AM is partly the classroom's
# budget: at the paper's learning rate and length its θ_AM falls from 242 to 88, 165, 165,
# 181 and 198 ‰ on seeds 0-4 (mean 159 ‰, a third lower; the paper's Table 3: 55-82 ‰ with
# θ-IS, 108-124 ‰ uniform), and only seed 0 falls below 100 ‰ of test θ L1. P-SAGA's small
# cut is the budget: in the paper's regime it cuts the applied step's variance 14-18 times,
# and without it the error ends at 188 ‰ on every seed (it falls late and swings). θ-IS does
# not help θ_AM on the AM 2.8-8.4 Hz chirplet in either regime (gain 2 %; test θ L1 −10 ± 30
# ‰, 4 of 5 seeds better, mostly θ_FM). On AM 1-2 Hz / FM 0.5-1 oct/s, where π is most
# concentrated, θ-IS helps in the paper's regime and not in the classroom's, but less on
# θ_AM than the paper has it: θ_AM 184 → 154 ‰ (gain 17 %, the paper 37 %; on seeds 0-2 it
# was 26 %, and seeds 3-4 turned the rule's verdict, which reads θ_AM alone, to "method at
# classroom scale"), while θ_FM falls 103 → 61 ‰ (the paper: 155 → 78) and test θ L1 by 37 ±
# 27 ‰ (p = 0.02), every seed better; the classroom gains nothing there (θ_AM −1 %). On the
# granular synth θ-IS hurts every seed of five with Eq. 3's squared path loss (+47 ‰, p =
# 0.03) and hurts less, not significantly, with the authors' unsquared one (+15 ± 24 ‰, one
# seed of five better; the paper: −8 ± 15 ‰), which spreads π over more paths: the rule
# reads the loss definition, but θ-IS is not shown to help with either. At SCRAPL's compute
# the full JTFS (480 steps) ends at 221 ‰ against SCRAPL's 65 ‰ on seed 0, as the paper's
# Fig. 2 has it; at SCRAPL's steps (4800, ten times the compute) it ends at 41 ‰, ahead of
# SCRAPL, as the paper's Table 1 has it (granular: 42.4 against 65.7 ‰). The paper's batch
# of 32 trains both SCRAPL rows better on seed 0 (θ_AM 88 → 79 ‰ with θ-IS, 113 → 64 ‰
# uniform) without changing the two answers.

# %% [markdown]
# ## Recap
#
# - Seeds shared across rows make an ablation a paired comparison: per-seed differences,
#   their interval, a paired test and "seeds improved" (Table 6) see effects that
#   overlapping confidence intervals hide, and a verdict on 5 seeds can move with 5 more.
# - At classroom scale SCRAPL is cheap (a tenth of a full-JTFS step), beats MSS under random
#   shifts and beats the full JTFS at equal compute; P-SAGA improves it on the chirplet on
#   10 of 10 seeds; P-Adam's accuracy effect is not shown, as in Table 6 (p = 0.15), whose
#   convergence gain for P-Adam (−2900 ± 1800 steps, p < 0.01) needs runs that converge.
# - It does not reach the paper's accuracy: θ_AM is not learnt in 400 steps, no run
#   converges, and on the granular synth θ-IS hurts; the validation curve's total variation
#   measures learning there, not noise.
# - At the paper's own regime (lr 1e-4, 4800 steps) SCRAPL learns θ_AM on some seeds and
#   P-SAGA's cut grows many times over: those disagreements were (partly) the classroom
#   budget; θ-IS helps in the paper's regime on the configuration where π is most
#   concentrated (test θ L1 on every seed, mostly through θ_FM; its θ_AM gain, 17 %, is
#   half the paper's 37 %), not on the other, and on the granular synth θ-IS hurts, most
#   with Eq. 3's loss.
# - Every verdict above is asserted: rerun the lab, and this notebook says what changed.
#
# **Previous**: [08 · The sound-matching lab](08_sound_matching_lab.ipynb) · **Next**: [10 · Drums and adaptive π](10_drums_and_adaptive_pi.ipynb)
#
# **References**: Section 1 (Fig. 1); Section 5.1 (Tables 1–2, Fig. 2); Section 5.2
# (Table 3); Appendix B (Table 6); Appendix E (Tables 10–11, the CQT front end).
