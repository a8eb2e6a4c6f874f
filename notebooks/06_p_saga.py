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
# # 06 · P-SAGA: a memory of every path
#
# **Objectives**
# - build the P-SAGA direction (Eq. 9) and check it against the optimizer;
# - build the variance of the applied step over the path draw, predict how much the table
#   cuts it in the lab, and measure it on a moving model with paired seeds;
# - see the table go stale, and derive the shift it gives the expected step while not every
#   path has been visited;
# - count its memory, $P\cdot|w|$ numbers, next to the variance it removes.
#
# **Prerequisites**: 04 (variance of the one-path estimator), 05 (P-Adam)
# **Study time**: about 70 min
# **Paper**: Section 3.3 (Eq. 9), Algorithm 1, Appendix B (Table 6)

# %% [markdown]
# **Idea.** **SAGA** reduces the variance of a finite-sum gradient by remembering the last
# gradient of every term. In SCRAPL the terms are paths (Eq. 3), so **P-SAGA** keeps the
# last P-Adam direction $\hat g_p$ of every visited path ($\Gamma$: the paths visited so
# far) and steps along
#
# $$g_{SAGA} = g_{current} - \hat g_p + \frac{1}{\max(1, |\Gamma|)}\sum_{\gamma\in\Gamma}\hat g_\gamma
# \qquad\text{(Eq. 9)},$$
#
# then stores $\hat g_p \leftarrow g_{current}$. If path $p$'s direction has not changed
# since its last visit, the first two terms cancel and the step is the table's average: the
# same for every path drawn, so its variance over the draw vanishes. On a frozen table that
# is exactly what happens (notebook 05: P-Adam's direction on a frozen table is fixed per
# path), which is why a frozen table exaggerates P-SAGA. When the model moves, the entries
# go **stale**: $\hat g_p$ was computed where the model *was* at path $p$'s last visit.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from scrapl_edu import SCRAPLOptimizer, grading, lessons, toy
from scrapl_edu.config import fast_mode
from scrapl_edu.diagnostics import direction_variance
from scrapl_edu.lab.evidence import load_evidence
from scrapl_edu.sampling import PathSampler

problem = toy.make_problem("classroom", fast=fast_mode())
P = problem.n_paths
SEEDS = [0, 1, 2, 3]
STEPS = 50 if fast_mode() else 2 * P
TABLE_EVERY = 10 if fast_mode() else 21  # steps between two measurements of all P paths
print(f"fast mode: {fast_mode()} | P = {P} paths, {STEPS} steps per run, seeds {SEEDS}")

# %% [markdown]
# ## Eq. (9) in one line
#
# **Exercise 1 (build it: Eq. 9, 2 points).** Write `saga_direction(g_current, g_hat_p,
# g_avg)`: this step's P-Adam direction $g_{current}$, the drawn path's table entry
# $\hat g_p$ as it stands *before* this step's update (`None` if the path was never drawn:
# then $\hat g_p = 0$), and the table's mean over the visited paths
# $\frac{1}{\max(1,|\Gamma|)}\sum_{\gamma\in\Gamma}\hat g_\gamma$. The graded cell runs
# `grading.check_p_saga_direction` (random shapes and first visits, against the library's
# `scrapl_edu.optim.p_saga_direction`), then replays a random table through the optimizer
# with and without P-SAGA and compares your steps with Algorithm 1's, step by step.


# %% nbgrader={"grade": false, "grade_id": "ex_06_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def saga_direction(g_current, g_hat_p, g_avg):
    """Eq. (9): the P-SAGA step of the drawn path."""
    ### BEGIN SOLUTION
    return g_current - (0.0 if g_hat_p is None else g_hat_p) + g_avg
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_06_1_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
gen = torch.Generator().manual_seed(3)
scales = torch.logspace(-2, 2, P, dtype=torch.float64)[:, None]
G_check = torch.randn(P, 2, generator=gen, dtype=torch.float64) * scales
draws = PathSampler(P, seed=1).sample_many(2 * P)
g_current = toy.replay(G_check, draws, p_adam=True, p_saga=False)  # P-Adam's g_current
applied = toy.replay(G_check, draws, p_adam=True, p_saga=True)  # Algorithm 1's step
assert grading.check_p_saga_direction(saga_direction)
table = {}
for k, p in enumerate(draws):
    g_avg = sum(table.values()) / max(1, len(table))
    mine = saga_direction(g_current[k], table.get(p), g_avg)
    assert np.allclose(mine, applied[k], rtol=1e-6, atol=1e-9), f"step {k + 1}, path {p}"
    table[p] = g_current[k]

# %% [markdown]
# ## The variance of the applied step
#
# What P-SAGA changes is the step the optimizer *applies*, so its effect is measured there:
# if path $p$ were drawn now, the optimizer would apply $d_p$; over the draw $p\sim\pi$ the
# applied step varies by $\mathbb E_p\|d_p-\mathbb E_q d_q\|^2 =
# \sum_p\pi_p\|d_p - \sum_q\pi_q d_q\|^2$.
#
# **Exercise 2 (build it: the applied-step variance, 2 points).** Write
# `applied_variance(D, probs)`: `D` is the (P, |w|) table of candidate steps $d_p$, `probs`
# the distribution π (P,) or `None` for the uniform draw; return the variance above as a
# float. The graded cell runs `grading.check_applied_variance` against the library's
# `diagnostics.direction_variance`.


# %% nbgrader={"grade": false, "grade_id": "ex_06_4", "locked": false, "schema_version": 3, "solution": true, "task": false}
def applied_variance(D, probs=None):
    """Σ_p π_p ‖d_p − Σ_q π_q d_q‖² over the path draw."""
    ### BEGIN SOLUTION
    if probs is None:
        probs = torch.full((D.shape[0],), 1.0 / D.shape[0], dtype=D.dtype)
    mean = (probs[:, None] * D).sum(dim=0)
    return float((probs * (D - mean).pow(2).sum(dim=1)).sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_06_4_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_applied_variance(applied_variance)

# %% [markdown]
# **Exercise 3 (predict, then check).** On a frozen table (notebook 05) the table removes
# the variance of the applied step entirely once every path was visited. The lab trains a
# real encoder on the classroom chirplet (10 paired seeds, lr $10^{-3}$, 400 steps) with
# P-Adam, with and without P-SAGA, and measures the applied step's variance over the path
# draw between steps 200 and 400. Before reading on: by how many times does P-SAGA divide
# that variance (the geometric mean over the seeds; 1 means no cut)? Record a number
# greater than 0; it is graded within a factor of 2 and sealed when the answer is shown.

# %% nbgrader={"grade": false, "grade_id": "ex_06_5", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
grading.predict("06_saga_cut", 1.5)
### END SOLUTION

# %% [markdown]
# ## P-SAGA on a moving model
#
# `lessons.paired_runs` fits the toy problem (notebook 05) with P-Adam and with
# P-Adam + P-SAGA, paired by seed (same target, θ0, path draws and shifts). Every
# `TABLE_EVERY` steps it computes the gradient of *every* path at the current weights and
# asks each run's optimizer, without moving it, which direction $d_p$ it would apply if path
# $p$ were drawn (`lessons.candidate_directions`). From these $P$ directions:
#
# - the **variance** of the applied step over the path draw, $\mathbb E_p\|d_p-\mathbb E d\|^2$,
#   for the run without the table, the run with it, and that run with its table switched off;
# - how stale the table is: $\|\hat g_p - g_{current,p}\|/\|g_{current,p}\|$ over the visited
#   paths, $g_{current,p}$ being what path $p$'s P-Adam direction is *now*;
# - how far the table moves the expected step, $\|\mathbb E d - \mathbb E g_{current}\|$.

# %%
runs = lessons.paired_runs(
    ["P-Adam", "P-Adam + P-SAGA"],
    SEEDS,
    STEPS,
    probe_every=8,
    table_every=TABLE_EVERY,
    fast=fast_mode(),
)
lessons.plot_saga_runs(runs, "P-Adam", "P-Adam + P-SAGA")
plt.show()

# %% [markdown]
# Three things to read. The table's entries lag their paths' current directions by a
# sizeable fraction of their own size: as θ moves, path $p$'s direction changes between two
# visits (about $P$ steps apart), so $g_{current} - \hat g_p$ no longer cancels. The table
# still lowers the variance of the step, but far less than on a frozen table, and comparing
# the two *runs* mixes that cut with the runs' different trajectories. The cleanest measure
# holds the weights and the optimizer state fixed and switches only the table: green against
# orange in the left panel. Last, the expected step is moved, by an amount that follows the
# share of paths not yet visited (right panel, dashed). For contrast, the same counterfactual
# on the frozen table of Exercise 1, once every path has been visited:

# %%
frozen = toy.FrozenTable(G_check)
opt = SCRAPLOptimizer(frozen.parameters(), n_paths=P, lr=1e-3, p_adam=True, p_saga=True)
sampler = PathSampler(P, seed=2)
while len(opt.visited_paths) < P:
    p = sampler.sample()
    opt.zero_grad()
    frozen.path_loss(p).backward()
    opt.step(path=p)
var_frozen_on = direction_variance(lessons.candidate_directions(frozen, opt, G_check))
var_frozen_off = direction_variance(
    lessons.candidate_directions(frozen, opt, G_check, p_saga=False)
)
ratio_frozen = var_frozen_on / var_frozen_off
print(f"frozen table, every path visited: variance with / without the table {ratio_frozen:.1e}")

# %% [markdown]
# On the moving model, after a warm-up (the second half of each run), per seed:

# %%
a, b = runs.arm("P-Adam"), runs.arm("P-Adam + P-SAGA")
late = runs.table_steps >= STEPS // 2
same_state = (runs.var_applied[b] / runs.var_no_table[b])[:, late].mean(axis=1)
between_runs = runs.var_applied[b][:, late].mean(axis=1) / runs.var_applied[a][:, late].mean(axis=1)
lag = np.nanmean(runs.table_lag[b][:, late], axis=1)
print("variance with / without the table, same weights and state:", same_state.round(2))
print("variance, P-Adam + P-SAGA run / P-Adam run:              ", between_runs.round(2))
print("stale table: mean relative lag of its entries:           ", lag.round(2))
assert ratio_frozen < 1e-6, "on a frozen table, revisits step along the mean"
assert same_state.mean() < 1 and (same_state < 1).sum() >= len(SEEDS) - 1, (
    "on the moving model the table should still lower the variance (all seeds but one at most)"
)
assert (lag > 0.05).all(), "on a moving model the table's entries lag their paths"
display(Markdown(lessons.paired_table(runs, "P-Adam", "P-Adam + P-SAGA")))

# %% [markdown]
# And in the lab (`data/results/lab/v2/applied_variance.md`: the encoder of notebook 08,
# rows "+ P-Adam" and "+ P-SAGA" of the ablation, paired by seed):

# %%
grading.reveal("06_saga_cut")
lab_ratios = np.array([r["ratio"] for r in load_evidence().applied["chirplet"]])
saga_cut_lab = float(np.exp(np.log(lab_ratios).mean()))
print("lab, variance without / with P-SAGA per seed:", lab_ratios.round(2))
print(f"geometric mean: P-SAGA divides the applied step's variance by {saga_cut_lab:.2f}")
assert (lab_ratios > 1).sum() >= len(lab_ratios) // 2 and saga_cut_lab > 1

# %% nbgrader={"grade": true, "grade_id": "ex_06_5_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_prediction("06_saga_cut", saga_cut_lab)

# %% [markdown]
# The cut is partial (and, comparing runs, not on every seed in classroom mode): stale
# entries put back part of the variance the table removes. The table of paired outcomes
# reads as in notebook 05. The paper's Table 6 finds adding P-SAGA significant on θ L1
# (−13.6 ± 5.6 ‰, p < 0.01, 20 seeds); four seeds of the toy are a much smaller sample
# (`data/results/curriculum/moving_model_*.md` keep our numbers).

# %% [markdown]
# ## The shift of the expected step while Γ fills
#
# Under a uniform draw, what does the table do to the *expected* step? An unvisited path has
# $\hat g_p = 0$, so $\mathbb E_p[-\hat g_p] = -\frac1P\sum_{\gamma\in\Gamma}\hat g_\gamma$,
# while every step adds the average over $\Gamma$.
#
# **Exercise 4.** Derive $\mathbb E_p[g_{SAGA}] - \mathbb E_p[g_{current}]$ for a uniform
# draw, as a function of the table and $P$, and write it in code. The graded cell asks a real
# optimizer (a replay stopped before every path was visited) for all $P$ directions.


# %% nbgrader={"grade": false, "grade_id": "ex_06_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def expected_shift(table, P):
    """E_p[g_SAGA] - E_p[g_current] under a uniform draw of p."""
    ### BEGIN SOLUTION
    # E_p[-g_hat_p] = -(1/P) sum_Gamma g_hat, and every step adds (1/|Gamma|) sum_Gamma g_hat:
    # the sum is (1 - |Gamma|/P) times the table's mean, zero once every path is visited.
    return (1 - len(table) / P) * (sum(table.values()) / len(table))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_06_2_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
frozen = toy.FrozenTable(G_check)
opt = SCRAPLOptimizer(frozen.parameters(), n_paths=P, lr=1e-3, p_adam=True, p_saga=True)
table = {}
for p in draws[: P // 2]:  # half as many steps as paths: Γ is far from complete
    opt.zero_grad()
    frozen.path_loss(p).backward()
    # this step's g_current: the direction with the table switched off
    table[p] = lessons.candidate_directions(frozen, opt, G_check, [p], p_saga=False)[0].numpy()
    opt.step(path=p)
d_on = lessons.candidate_directions(frozen, opt, G_check)
d_off = lessons.candidate_directions(frozen, opt, G_check, p_saga=False)
measured = (d_on.mean(0) - d_off.mean(0)).numpy()
assert len(table) < P
assert np.allclose(expected_shift(table, P), measured, rtol=1e-6, atol=1e-12)

# %% [markdown]
# So with a uniform draw the table shifts the expected step only while $\Gamma$ is
# incomplete, and the shift vanishes once every path has been visited, after about
# $P\ln P$ steps (the coupon collector's count; longer than the runs above). After that the
# stale entries no longer bias the mean step: they cost *variance* (the cut above is partial)
# because each step leans on the table's average, computed at older weights. Under a
# non-uniform draw (θ-IS, notebook 07) the correction $-\hat g_p$ no longer averages out
# against the table's mean, and the shift does not vanish. The right panel above shows the
# measured shift on the runs, next to the share of paths not yet visited.

# %% [markdown]
# ## The price: memory
#
# P-Adam keeps $m_p, v_p$ per path; P-SAGA adds $\hat g_p$, one number per weight and per
# visited path, plus a running sum $\sum_\gamma \hat g_\gamma$ (kept in float64 so that a step
# costs $O(|w|)$, not $O(P|w|)$). For the toy's two weights that is nothing; for a network
# it is $P\cdot|w|$ numbers, as many as $P$ copies of the model.
#
# **Exercise 5.** How many bytes does P-SAGA add to P-Adam's optimizer
# state for a model of `n_weights` float32 weights, once all `P` paths were visited? The
# graded cell builds both optimizers for a linear layer and asks `memory_report()`.


# %% nbgrader={"grade": false, "grade_id": "ex_06_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def saga_extra_bytes(P, n_weights):
    """Bytes P-SAGA adds to P-Adam's state after every path was visited."""
    ### BEGIN SOLUTION
    return 4 * P * n_weights + 8 * n_weights  # the float32 table and the float64 sum
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_06_3_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def state_bytes(p_saga, n_paths=7):
    layer = torch.nn.Linear(30, 4)
    opt = SCRAPLOptimizer(layer.parameters(), n_paths=n_paths, p_adam=True, p_saga=p_saga)
    for p in range(n_paths):
        opt.zero_grad()
        layer(torch.ones(1, 30)).sum().backward()
        opt.step(path=p)
    return opt.memory_report()["bytes_used"]


assert state_bytes(True) - state_bytes(False) == saga_extra_bytes(7, 30 * 4 + 4)

# %% [markdown]
# The same count on the runs above, and what it would be for a network:

# %%
mem = runs.memory
extra = mem["P-Adam + P-SAGA"]["bytes_used"] - mem["P-Adam"]["bytes_used"]
n_w, n_seen = runs.n_weights, mem["P-Adam + P-SAGA"]["n_visited"]
print(f"toy (|w| = {n_w}, {n_seen}/{P} paths visited): P-SAGA adds {extra} bytes")
assert extra == 4 * n_seen * n_w + 8 * n_w, "P-SAGA's state: one float32 per weight and path"
for name, n in (("a 100k-weight encoder", 100_000), ("a 10M-weight network", 10_000_000)):
    print(f"{name}: {4 * P * n / 2**20:,.0f} MiB of table with P = {P}")
print(f"variance cut it buys here: {1 - same_state.mean():.0%} (same state, mean over seeds)")

# %% [markdown]
# ## Recap
#
# - P-SAGA (Eq. 9) steps along $g_{current} - \hat g_p + \text{mean}_\Gamma\,\hat g$ and
#   stores $\hat g_p \leftarrow g_{current}$: one table entry per path.
# - On a frozen table revisits step exactly along the table's mean; on a moving model the
#   entries go stale and the variance cut is partial, measured here with paired seeds.
# - With a uniform draw the table shifts the expected step by $(1-|\Gamma|/P)$ times its
#   mean entry until every path is visited; with a non-uniform π the shift does not vanish.
# - The table costs $P\cdot|w|$ numbers (plus a running sum): $P$ copies of the weights.
# - The paper's Table 6 finds adding P-SAGA significant on θ L1 (−13.6 ± 5.6 ‰, p < 0.01).
#
# **Previous**: [05 · P-Adam](05_p_adam.ipynb) · **Next**: [07 · θ-importance sampling](07_theta_importance_sampling.ipynb)
#
# **References**: Section 3.3 (Eq. 9); Algorithm 1; Appendix B, Table 6; Defazio et al.
# (2014) for SAGA; Schmidt et al. (2017) for SAG.
