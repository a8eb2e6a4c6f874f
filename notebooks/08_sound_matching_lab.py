# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# - compare two settings the way the paper does: on paired seeds, with the paired
#   difference, its interval, a paired test and the seeds improved;
# - hear a test target next to the encoder's reconstruction.
#
# **Prerequisites**: 03 (JTFS as a loss), 05 (P-Adam), 06 (P-SAGA), 07 (θ-IS)
# **Study time**: about 40 min
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
# the right is the committed ablation (Table 2 in small, `data/results/`).
#
# The notebook runs one default run when executed (headless runs and Voilà included), on
# the GPU when the machine has one (`device="auto"`), else on the CPU.

# %%
import numpy as np
from IPython.display import display

from scrapl_edu.config import fast_mode
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
# ## Compare on paired seeds
#
# One run's error varies from seed to seed by more than a technique's effect. The Compare
# button runs this setting and the same with one switch flipped on several seeds, the seeds
# shared by both arms (same data, initialisation, batches and random shifts), two runs at a
# time in their own processes, and shows each seed's pair and the paired difference with its
# 95% interval, a paired t-test and how many seeds improved (the paper's Table 6 in small).

# %%
cmp = dashboard.compare(switch="p_saga", n_seeds=2 if fast_mode() else 3)
item = cmp.paired()["theta_l1"]
print(dashboard.compare_status.value)
assert [len(cmp.results[arm]) for arm in ("off", "on")] == [len(cmp.seeds)] * 2
assert all(not r.config["p_saga"] for r in cmp.results["off"])
assert all(r.config["p_saga"] for r in cmp.results["on"])
assert item["n"] == len(cmp.seeds) and 0 <= item["improved"] <= item["n"]

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
