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
# # 04 · Random paths
#
# **Objectives**
# - predict, then measure, what one random path costs against all $P$ paths, in counted
#   arithmetic, and explain the ratio;
# - check Proposition 3.1 (a uniformly drawn path gives an unbiased gradient) exactly and by
#   Monte Carlo;
# - build the reweighted estimator of Proposition 3.1 yourself and show that drawing paths
#   from a non-uniform π without it biases the gradient;
# - see the variance that makes one-path steps noisy.
#
# **Prerequisites**: 02 (paths), 03 (the JTFS loss)
# **Study time**: about 40 min
# **Paper**: Section 3.1 (Eq. 3, 5, Proposition 3.1), Appendix A, Section 3.4 (θ-IS is biased)

# %% [markdown]
# **Idea.** The JTFS loss is a mean over $P$ paths, $\mathcal L^\Phi = \frac1P\sum_p
# \mathcal L_p$ (Eq. 3, with $\mathcal L_p$ the **path loss**). Draw one path $p$ uniformly
# and $\nabla\mathcal L_p$ is an **unbiased** estimate of $\nabla\mathcal L^\Phi$
# (Proposition 3.1, Eq. 5), at a fraction of the cost. The catch is its **variance**: paths
# differ by orders of magnitude, which is what P-Adam, P-SAGA and θ-IS are for (notebooks
# 05–07). And drawing paths from any other distribution π is biased unless each draw is
# reweighted.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import JTFSLoss, grading, lessons, toy, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.diagnostics import (
    arithmetic_cost,
    check_unbiased_exact,
    estimator_variance,
    forward_backward_seconds,
    full_gradient,
    monte_carlo_unbiasedness,
)

problem = toy.make_problem("classroom", theta_star=(0.6, 0.4), fast=fast_mode())
jtfs, P = problem.jtfs, problem.n_paths
print(f"fast mode: {fast_mode()} | {jtfs.extra_repr()}")

# %% [markdown]
# ## Cost of one path vs all paths (forward + backward)
#
# Left: wall time measured here, the best of 3 runs (noisy on a shared machine). Right: the
# arithmetic, counted (FFTs and matrix products, `diagnostics.arithmetic_cost`), which does
# not depend on the machine. The count is averaged over paths (every path in classroom mode,
# 8 random ones in fast mode), because paths differ in cost.
#
# **Exercise 1 (predict, then check).** Training for $K$ steps costs about $K\cdot c_1$ with
# one path per step and $K\cdot c_P$ with the full transform. Before running the next cell:
# how many one-path steps will cost as much as *one* full-JTFS step, as a fraction of $P$?
# (1 would mean exactly $P$ steps.) Record a number; it is graded within ±0.25 of the
# classroom JTFS's value (fast mode prints its own) and sealed when the next cell shows it.

# %% nbgrader={"grade": false, "grade_id": "ex_04_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
grading.predict("04_steps_per_full_over_P", 0.45)
### END SOLUTION

# %%
grading.reveal("04_steps_per_full_over_P")
x = problem.target.clone()
rng = np.random.default_rng(0)
measured = np.arange(P) if not fast_mode() else rng.choice(P, 8, replace=False)
cost_all = arithmetic_cost(jtfs, x)
cost_one = [arithmetic_cost(lambda z, p=int(p): jtfs.path(z, p), x) for p in measured]
c_all = cost_all["total"]
c_one = np.mean([c["total"] for c in cost_one])
forward_backward_seconds(jtfs, x, repeats=1)  # warm the caches
t_all = forward_backward_seconds(jtfs, x, repeats=3)
t_one = np.mean(
    [forward_backward_seconds(lambda z, p=int(p): jtfs.path(z, p), x, 3) for p in measured[:5]]
)
labels = ["one random path", f"all {P} paths"]
fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(9, 2.5), sharey=True)
ax_t.barh(labels, [1e3 * t_one, 1e3 * t_all])
ax_t.set_xlabel("ms, measured")
ax_c.barh(labels, [c_one / 1e6, c_all / 1e6], color="C1")
ax_c.set_xlabel("MFLOP, counted")
plt.show()
print(f"time: all paths {1e3 * t_all:.1f} ms, one path {1e3 * t_one:.2f} ms: {t_all / t_one:.1f}x")
print(f"arithmetic: all paths / one path = {c_all / c_one:.1f} (P = {P})")
steps_per_full_over_P = c_all / c_one / P
print(f"one full-JTFS step costs as much as {steps_per_full_over_P:.2f} P one-path steps")
classroom_ratio = lessons.committed_results("curriculum/predictions_classroom.json")[
    "04_steps_per_full_over_P"
]
if fast_mode():
    print(f"fast mode (P = {P}); graded against the classroom JTFS's {classroom_ratio:.2f} P")
else:
    assert abs(steps_per_full_over_P - classroom_ratio) < 1e-3  # the committed classroom value

# %% nbgrader={"grade": true, "grade_id": "ex_04_1_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_prediction("04_steps_per_full_over_P", classroom_ratio)

# %% [markdown]
# One path costs more than $1/P$ of all paths, though the same order. Why? The full
# transform computes the first order (the scalogram, notebook 01) once and shares it with
# every path; one path must compute the part of the first order it needs itself. The FFTs,
# most of that first-order work, are a small share of the full transform's arithmetic and a
# large share of one path's:

# %%
fft_one = np.mean([c["fft"] for c in cost_one]) / c_one
fft_all = cost_all["fft"] / c_all
print(f"share of FFTs in the arithmetic: one path {fft_one:.0%}, all paths {fft_all:.0%}")
print(f"P paths computed one by one would cost {P * c_one / c_all:.1f}x the full transform")
assert P / 4 < c_all / c_one < P
assert fft_one > 5 * fft_all, "the first-order FFTs, shared by the full transform, are why"

# %% [markdown]
# ## Proposition 3.1, exactly and by Monte Carlo
#
# Here the "network" is θ itself (`scrapl_edu.toy`). $G_p = \nabla_w \mathcal L_p$ for every
# path (one table), and $g = \nabla_w\mathcal L^\Phi$ from the full loss. Eq. (5) says
# $\text{mean}_p\, G_p = g$.

# %%
model = toy.ThetaModel([0.3, 0.7])
G = toy.gradient_table(problem, model, shift_seed=1)
full_loss = JTFSLoss(jtfs)
g = full_gradient(
    model, lambda: problem.loss_scale * full_loss(problem.render(model(), 1), problem.target)
)
rel = check_unbiased_exact(G, g, rtol=1e-4)
mc = monte_carlo_unbiasedness(G, n_samples=20_000, seed=0, full=g)
print(f"exact: relative error {rel:.2e};  Monte Carlo (20 000 draws): z = {mc.z:.2f}")
assert rel < 1e-4 and mc.z < 4

# %% [markdown]
# ## Sampling from π: biased unless reweighted
#
# SCRAPL may draw paths from a non-uniform π (θ-IS, notebook 07). The one-path estimator is
# then $\hat g = w_p G_p$ with $p\sim\pi$. Without weights ($w_p = 1$),
# $\mathbb E_\pi[\hat g] = \sum_p \pi_p G_p$, which is not $g = \frac1P\sum_p G_p$; with the
# **importance sampling** weights $w_p = 1/(P\pi_p)$ it is again unbiased.
#
# **Exercise 2 (build it: Proposition 3.1's reweighting, 2 points).** Write
# `reweight(G, probs)`: from the table `G` of path gradients (P, |w|) and a distribution
# `probs` (P,), all positive, return the table of reweighted one-path estimates
# $\hat g_p = G_p/(P\pi_p)$, one row per path. The graded cell runs a property test
# (`grading.check_reweighting`: random P, |w| and π, against the library's
# `diagnostics.estimator_table`, and the exact expectation $\sum_p\pi_p\hat g_p = g$),
# then checks your table on this notebook's gradients with a π that favours the loud paths.


# %% nbgrader={"grade": false, "grade_id": "ex_04_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reweight(G, probs):
    """Prop. 3.1 with importance weights: row p is G_p / (P * probs_p)."""
    ### BEGIN SOLUTION
    return G / (G.shape[0] * probs[:, None])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_04_2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_reweighting(reweight)
n_loud = G.norm(dim=1)
pi_loud = (n_loud + 1e-3 * n_loud.mean()) / (n_loud + 1e-3 * n_loud.mean()).sum()
expectation = (pi_loud[:, None] * reweight(G, pi_loud)).sum(0)
assert torch.allclose(expectation, G.mean(0), rtol=1e-9, atol=0)
assert not torch.allclose((pi_loud[:, None] * G).sum(0), G.mean(0), rtol=1e-3)

# %% [markdown]
# The same with the library's exact moments (`diagnostics.estimator_variance`) and by Monte
# Carlo. π here is proportional to $\|G_p\|$ (floored so that every path can be drawn), the
# textbook importance-sampling choice: reweighted, it is unbiased *and* less noisy than the
# uniform draw.

# %%
norms = G.norm(dim=1)
pi = (norms + 1e-3 * norms.mean()) / (norms + 1e-3 * norms.mean()).sum()
rows = {}
for name, probs, reweight in (
    ("uniform", None, False),
    ("π, not reweighted", pi, False),
    ("π, reweighted 1/(Pπ_p)", pi, True),
):
    s = estimator_variance(G, probs, reweight=reweight, full=g)
    z = monte_carlo_unbiasedness(G, probs, reweight, n_samples=20_000, seed=1, full=g).z
    rows[name] = (s.bias_sq / float(g.norm()) ** 2, s.variance / float(g.norm()) ** 2, z)
    print(
        f"{name:24s} bias² {rows[name][0]:.2e}  variance {rows[name][1]:9.2f}  (‖g‖² = 1)"
        f"  Monte Carlo z = {z:.1f}"
    )
assert rows["π, not reweighted"][0] > 1e-3, "drawing from π without weights biases ĝ"
assert rows["π, reweighted 1/(Pπ_p)"][0] < 1e-12 and rows["uniform"][0] < 1e-12
assert rows["π, not reweighted"][2] > 10 > rows["π, reweighted 1/(Pπ_p)"][2]
assert rows["π, reweighted 1/(Pπ_p)"][1] < rows["uniform"][1], "π ∝ ‖G_p‖ lowers the variance"

# %% [markdown]
# SCRAPL's θ-IS draws from π and does *not* reweight: Section 3.1 says so, and Section 3.4
# calls it a heuristic that introduces bias on purpose, "so as to bring it closer to P-loss".
# Notebook 07 measures the π it builds.
#
# **Exercise 3.** The bias of the unweighted estimator in one line: write
# $\mathbb E_\pi[G_p] - g$ and check it against the library's `bias_sq`.


# %% nbgrader={"grade": false, "grade_id": "ex_04_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def unweighted_bias(G, pi):
    """E_pi[G_p] - mean_p G_p, a vector of size |w|."""
    ### BEGIN SOLUTION
    return ((pi - 1 / len(pi))[:, None] * G).sum(0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_04_3_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
stats_pi = estimator_variance(G, pi, reweight=False)
assert abs(float(unweighted_bias(G, pi).pow(2).sum()) - stats_pi.bias_sq) < 1e-9 * stats_pi.mse

# %% [markdown]
# ## The variance that makes uniform sampling noisy

# %%
stats = estimator_variance(G, full=g)
fig = viz.plot_path_grid(
    jtfs, np.log10(norms.numpy() + 1e-30), title="‖∇L_p‖ for every path", label="log10 norm"
)
plt.show()
rel_var = stats.variance / float(g.norm()) ** 2
ratio = float(norms.max() / norms[norms > 0].min())
print(f"E‖ĝ − g‖² / ‖g‖² = {rel_var:.1f};  max/min path gradient norm = {ratio:.1e}")
assert rel_var > 1.0, "one path should be a much noisier direction than the full gradient"

# %% [markdown]
# ## Recap
#
# - One path costs between $1/P$ and $4/P$ of the full transform in counted arithmetic: a
#   little more than $1/P$, because the full transform shares its first order.
# - A uniformly drawn path's gradient is unbiased (Proposition 3.1), checked exactly and by
#   Monte Carlo.
# - Drawing from π without reweighting is biased; the weights $1/(P\pi_p)$ remove the bias,
#   and π ∝ $\|G_p\|$ lowers the variance too. SCRAPL's θ-IS is biased on purpose.
# - The one-path estimate is far noisier than the full gradient: notebooks 05–07.
#
# **Previous**: [03 · JTFS as a loss](03_jtfs_as_a_loss.ipynb) · **Next**: [05 · P-Adam](05_p_adam.ipynb)
#
# **References**: Section 3.1 (Eq. 3, 5; Proposition 3.1) and its proof in Appendix A;
# Section 3.4 (θ-IS does not satisfy Proposition 3.1's hypothesis); Eq. (13)–(14).
