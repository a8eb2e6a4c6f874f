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
# # 08 · The sound-matching lab
#
# **Objectives**
# - train an encoder through a synth with SCRAPL and switch each technique of Algorithm 1
#   on and off;
# - read the validation curve, the paths drawn against π and the variance of the step the
#   optimizer applies;
# - build the paired effect and its 95% interval yourself, and compare two settings the way
#   the paper does: on paired seeds, with a paired test and the seeds improved;
# - hear a test target next to the encoder's reconstruction;
# - design, run and explain an ablation of your own against the paper (the capstone).
#
# **Prerequisites**: 03 (JTFS as a loss), 05 (P-Adam), 06 (P-SAGA), 07 (θ-IS)
# **Study time**: about 90 min
# **Paper**: Sections 4.2–4.3 (the sound-matching experiments), Algorithm 1, Table 2, Table 6

# %% [markdown]
# **Idea.** Put it all together: an encoder learns to read the synth parameters θ of a
# randomly shifted chirplet (Sections 4.2–4.3) through a loss on its own re-synthesis. Tick
# the techniques of Algorithm 1 — P-Adam (Eq. 6–8), P-SAGA (Eq. 9), θ-IS (Eq. 10–12) — or
# compare with the full JTFS, MSS or the supervised P-loss, press Run, and watch the
# validation θ error, the paths drawn against π, and the variance over the path draw of
# the step the optimizer applies (what P-Adam and P-SAGA change; redrawn at each validation;
# move the pointer onto the figure for the interactive plotly chart: zoom, hover for values).
# After a run, listen to a test target next to the encoder's reconstruction. The table on
# the right is the lab's current committed ablation, read by name from the results index
# (`data/results/index.json`): the classroom chirplet on 10 paired seeds, the design of the
# paper's Table 2 (there on the granular synth), with Table 6's paired reading in notebook 09.
#
# The set-up is Section 3.4's: the encoder $E$ with weights $w$ predicts
# $\tilde\theta = E_x(w)$, the synth $D$ renders $\tilde x = D(\tilde\theta)$, and the loss
# compares $\tilde x$ with the target $x$: the trained model is $F = D\circ E$.
#
# The notebook runs one default run when executed (headless runs and Voilà included), on
# the GPU when the machine has one (`device="auto"`), else on the CPU.

# %%
import numpy as np
from IPython.display import display

from scrapl_edu import grading, lessons
from scrapl_edu.config import fast_mode
from scrapl_edu.lab.evidence import load_evidence, paired_ablation
from scrapl_edu.sound import players
from scrapl_edu.widgets import LabDashboard

dashboard = LabDashboard()
display(dashboard)

# %%
last = dashboard.history[-1]
res, cfg = last["results"], last["config"]  # res: scrapl_edu.lab.Results
print(dashboard.status.value, "|", cfg)
print(f"test θ L1 = {res.test_theta_l1_permille:.1f} ‰ after {res.steps} steps")
print(f"computed on {res.device}")
assert dashboard.status.value == "Run 1 finished"
assert 0.0 <= res.test_theta_l1_permille <= 1000.0
assert sum(res.path_counts) == res.steps, "one path is drawn per SCRAPL step"
# a constant guess θ̂ = 0.5 scores 250 ‰ on θ drawn uniformly from [0, 1]
evidence = load_evidence()  # the committed classroom results (data/results/lab/v2)
full_scrapl = next(e for e in evidence.summaries["ablation"].entries if e.row == "scrapl")
scrapl_l1, scrapl_ci = full_scrapl.theta_l1  # mean and 95% half-width over the seeds
print(
    f"a constant guess θ̂ = 0.5 scores 250 ‰; the committed classroom SCRAPL "
    f"(all techniques, {full_scrapl.steps.mean:.0f} steps, {full_scrapl.n_seeds} seeds) "
    f"scores {scrapl_l1:.0f} ± {scrapl_ci:.0f} ‰"
)
if fast_mode():
    print(
        f"fast mode: {res.steps} steps at the fast sizes are too few to learn θ; this run's "
        f"{res.test_theta_l1_permille:.0f} ‰ shows the mechanics, not SCRAPL's accuracy"
    )
assert scrapl_l1 + scrapl_ci < 250  # the classroom runs beat a constant guess

# %% [markdown]
# Listen: the dashboard above plays a test target next to the encoder's reconstruction after
# each run. The same two sounds, from the run's results:

# %%
rec = dashboard.last_audio
display(
    players(
        {"target": rec["targets"][0], "reconstruction": rec["reconstructions"][0]}, int(rec["sr"])
    )
)
assert rec["targets"].shape == rec["reconstructions"].shape

# %% [markdown]
# ## The paired effect and its interval
#
# One run's error varies from seed to seed by more than a technique's effect, so the paper
# compares two settings on the *same* seeds (Table 6): per seed, the difference
# $d_s = b_s - a_s$ of the two arms' errors; then its mean $\bar d$ and the half-width of
# the 95% t-interval, $t_{0.975,\,n-1}\cdot s_d/\sqrt n$ ($s_d$ the sample standard deviation
# of the $d_s$, $n$ seeds).
#
# **Exercise 1 (build it: a paired effect with its CI, 3 points).** Write
# `paired_effect(a, b)` for two numpy arrays of one value per seed; return
# `(mean, ci95)`. (`scipy.stats.t.ppf` gives the t quantile.) The graded cell runs
# `grading.check_paired_effect` (2 to 20 seeds, random scales, against the library's
# `lessons.paired_summary`), then reads the committed ablation with your function.


# %% nbgrader={"grade": false, "grade_id": "ex_08_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def paired_effect(a, b):
    """Mean paired difference b − a over seeds and the half-width of its 95% t-interval."""
    ### BEGIN SOLUTION
    from scipy import stats

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = d.size
    return float(d.mean()), float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_08_1_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert grading.check_paired_effect(paired_effect)
rows = {e.row: e for e in evidence.summaries["ablation"].entries}
saga_mean, saga_ci = paired_effect(
    rows["scrapl_p_adam"].per_seed_theta_l1, rows["scrapl_no_theta_is"].per_seed_theta_l1
)
print(f"committed ablation, + P-SAGA: Δ θ L1 = {saga_mean:+.1f} ± {saga_ci:.1f} ‰")
assert saga_mean + saga_ci < 0

# %% [markdown]
# ## Compare on paired seeds
#
# The Compare
# button runs this setting and the same with one switch flipped on several seeds, the seeds
# shared by both arms (same data, initialisation, batches and random shifts), two runs at a
# time in their own processes, and shows each seed's pair and the paired difference with its
# 95% interval, a paired t-test and how many seeds improved (the paper's Table 6 in small).

# %%
cmp = dashboard.compare(switch="p_saga", n_seeds=2 if fast_mode() else 3)
item = cmp.paired().theta_l1
print(dashboard.compare_status.value)
assert [len(cmp.results[arm]) for arm in ("off", "on")] == [len(cmp.seeds)] * 2
assert all(not r.config["p_saga"] for r in cmp.results["off"])
assert all(r.config["p_saga"] for r in cmp.results["on"])
assert item.n == len(cmp.seeds) and 0 <= item.improved <= item.n
committed_saga = next(r for r in paired_ablation(evidence) if r.label == "+ P-SAGA").theta_l1
if fast_mode():
    print(
        f"fast mode: {len(cmp.seeds)} seeds of {cmp.results['on'][0].steps} steps are too few to "
        "show P-SAGA's effect on θ (this comparison may go either way); the committed classroom "
        f"ablation shows: + P-SAGA Δ θ L1 = {committed_saga.mean:+.1f} ± "
        f"{committed_saga.ci:.1f} ‰, better on {committed_saga.improved}/"
        f"{committed_saga.n} seeds, p = {committed_saga.p_t:.1g}"
    )
assert committed_saga.improved >= 9 and committed_saga.p_t < 0.01

# %% [markdown]
# ## Where P-SAGA acts: the applied step
#
# P-SAGA does not change the one-path gradient; it changes the step the optimizer applies.
# Each run above measured, at its validations, the variance over the path draw p ~ π of the
# step it would apply (on a fixed probe batch, without touching its state). Paired by seed,
# the arm with the table should show the lower variance once the table has filled.


# %%
def last_applied_var(r):
    return r.applied_diag[-1]["rel_var"]


for seed, off, on in zip(cmp.seeds, cmp.results["off"], cmp.results["on"]):
    print(
        f"seed {seed}: relative variance of the applied step, P-SAGA off {last_applied_var(off):.3f}"
        f" · on {last_applied_var(on):.3f}"
    )
ratios = [last_applied_var(on) / last_applied_var(off) for off, on in zip(*cmp.results.values())]
lower = sum(r < 1 for r in ratios)
print(f"P-SAGA lowered the applied step's variance on {lower}/{len(ratios)} seeds")
assert float(np.exp(np.mean(np.log(ratios)))) < 1, "P-SAGA should lower the applied variance"
assert lower >= len(ratios) - 1

# %% [markdown]
# ## Capstone: an ablation of your own
#
# Design an ablation of *one* switch of Algorithm 1 (P-Adam, P-SAGA or θ-IS; or a
# setting such as the learning rate, the batch size or `min_prob_frac`), on paired seeds, and
# explain it against the paper.
#
# 1. State the question and your prediction before you run anything (which table of the
#    paper it mirrors, which outcome: θ L1, a parameter's error, the applied step's
#    variance, the convergence steps).
# 2. Run both arms on the same seeds (at least 5): the dashboard's Compare button, or the
#    lab's command line, e.g.
#    `python -m scrapl_edu.lab compare --table ablation --preset classroom --seeds 0 1 2 3 4`
#    (about 2 min per classroom run of 400 steps on one CPU core; the instructor guide lists
#    the measured costs). Without the compute, analyse one comparison of the committed
#    results instead (`data/results/lab/v2`, read with `scrapl_edu.lab.evidence`).
# 3. In the code cell, put the per-seed outcomes of both arms in `capstone` (the graded cell
#    recomputes the paired difference, its 95% interval and the seeds improved from them).
# 4. In the text cell, report Δ with its interval, the paired test and the seeds improved,
#    and explain the result against the paper (Tables 2, 3 and 6; Section 3): what agrees,
#    what does not, and why the classroom regime (notebook 09) may differ.
#
# *Rubric (12 points, graded by hand).*
#
# | points | criterion |
# |---|---|
# | 2 | the question names one switch, one outcome and the paper's table it mirrors; the prediction is stated before the result |
# | 2 | a fair design: both arms on the same seeds (≥ 5), everything else equal, the budget stated |
# | 3 | the result: Δ with its 95% interval, the paired test, the seeds improved, read correctly ("not shown" when the interval straddles 0) |
# | 3 | the explanation against the paper: the mechanism (what the switch changes in the applied step or in π) and the paper's number for the same comparison |
# | 2 | honesty: where the lab disagrees with the paper, the regime differences that may explain it, and what run would decide it |
#
# The code cell's consistency (2 points) is graded automatically.

# %% nbgrader={"grade": false, "grade_id": "ex_08_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
# the example answer analyses the committed classroom ablation: θ-IS on, P-Adam + P-SAGA on
off, on = rows["scrapl_no_theta_is"], rows["scrapl"]
capstone = {
    "switch": "theta_is",
    "outcome": "test θ L1 (‰), lower is better",
    "seeds": list(range(len(off.per_seed_theta_l1))),
    "off": off.per_seed_theta_l1,
    "on": on.per_seed_theta_l1,
}
### END SOLUTION

# %%
summary = lessons.paired_summary(capstone["off"], capstone["on"], better="lower")
print(f"{capstone['switch']}, {capstone['outcome']}: on − off = {summary}")

# %% nbgrader={"grade": true, "grade_id": "ex_08_2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert {"switch", "outcome", "seeds", "off", "on"} <= set(capstone)
assert len(capstone["seeds"]) >= 5 and len(set(capstone["seeds"])) == len(capstone["seeds"])
assert len(capstone["off"]) == len(capstone["on"]) == len(capstone["seeds"])
assert np.all(np.isfinite(capstone["off"])) and np.all(np.isfinite(capstone["on"]))

# %% [markdown] nbgrader={"grade": true, "grade_id": "ex_08_3", "locked": false, "points": 12, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# *Example answer (graded against the rubric).* *Question*: does θ-IS (Eq. 10–12) lower
# the test θ L1 of SCRAPL with P-Adam and P-SAGA on the classroom chirplet? It mirrors the
# last step of the paper's Table 2 ablation (there: granular synth; Table 6 gives its paired
# reading) and Table 3 (chirplet, with and without θ-IS). Prediction: a small gain, since
# θ-IS puts about 1.5–2.5× the uniform share of π in the θ box (notebook 07). *Design*: the
# committed ablation, 10 paired seeds, 400 steps, lr $10^{-3}$, batch 8, everything but θ-IS
# equal. *Result*: Δ = −17.4 ± 18.2 ‰ (95% CI), paired t-test p = 0.059, better on 8/10
# seeds: a gain on most seeds, but the interval includes 0, so no effect is shown at 95%.
# *Against the paper*: θ-IS changes which paths are drawn, not the step's arithmetic; it
# over-samples the paths in the θ box, so the parameters the box describes get more of the
# gradient, at the price of a bias (no reweighting, notebook 04). The paper's Table 6 (granular
# synth) also finds θ-IS's accuracy gain not significant (−8.13 ± 15 ‰, p = 0.26) but its
# convergence gain significant (−1280 ± 410 steps, p < 0.01); Table 3 reports large gains on
# all four chirplet configurations (e.g. θ_AM 122 → 54.9 ‰ at 2.8–8.4 Hz, 2–4 oct/s).
# *Honesty*: the classroom regime differs (lr $10^{-3}$ vs $10^{-4}$, batch 8 vs 32, 400 vs
# 4800 steps, θ-IS with 2 × 2 examples × iterations vs the paper's N_IS = 32 × 20), and on the
# classroom granular synth θ-IS made θ L1 worse on every seed (notebook 09); 20 seeds at the
# paper's regime would decide the chirplet case.
# ### END SOLUTION

# %% [markdown]
# ## Recap
#
# - The lab trains an encoder through the synth; SCRAPL computes one random path per step
#   and Algorithm 1's switches act on the step the optimizer applies.
# - P-SAGA's effect is seen in the variance of the applied step over the path draw, not in
#   the one-path gradient, which it cannot change.
# - One seed's error varies by more than a technique's effect: compare on paired seeds,
#   report the paired difference, its interval, a paired test and the seeds improved.
# - The committed tables and what they say against the paper are in notebook 09.
#
# **Previous**: [07 · θ-importance sampling](07_theta_importance_sampling.ipynb) · **Next**: [09 · Evidence](09_evidence.ipynb)
#
# **References**: Sections 4.2–4.3 (sound matching, Tables 1–3), Algorithm 1, Table 6
# (the paired ablation of the paper).
