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
# # 8 · The sound-matching lab
#
# **Idea.** Put it all together: an encoder learns to read the synth parameters θ of a
# randomly shifted chirplet (Sections 4.2–4.3) through a loss on its own re-synthesis. Tick
# the techniques of Algorithm 1 — P-Adam (Eq. 6–8), P-SAGA (Eq. 9), θ-IS (Eq. 10–12) — or
# compare with the full JTFS, MSS or the supervised P-loss, press **Run**, and watch the
# validation θ error, the paths drawn against π, and the variance over the path draw of
# the step the optimizer applies (what P-Adam and P-SAGA change; redrawn at each validation;
# move the pointer onto the figure for the interactive plotly chart: zoom, hover for values).
# After a run, listen to a test target next to the encoder's reconstruction. The table on the right is the committed ablation (Table 2 in small, `data/results/`).
#
# The notebook runs one default run when executed (headless runs and Voilà included), on
# the GPU when the machine has one (`device="auto"`), else on the CPU.

# %%
from IPython.display import display

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
# ## Compare on paired seeds
#
# One run's error varies from seed to seed by more than a technique's effect. The Compare
# button runs this setting and the same with one switch flipped on several seeds, the seeds
# shared by both arms (same data, initialisation, batches and random shifts), two runs at a
# time in their own processes, and shows each seed's pair and the paired difference with its
# 95% interval, a paired t-test and how many seeds improved (the paper's Table 6 in small).

# %%
from scrapl_edu.config import fast_mode

cmp = dashboard.compare(switch="p_saga", n_seeds=2 if fast_mode() else 3)
item = cmp.paired()["theta_l1"]
print(dashboard.compare_status.value)
assert [len(cmp.results[arm]) for arm in ("off", "on")] == [len(cmp.seeds)] * 2
assert all(not r.config["p_saga"] for r in cmp.results["off"])
assert all(r.config["p_saga"] for r in cmp.results["on"])
assert item["n"] == len(cmp.seeds) and 0 <= item["improved"] <= item["n"]
