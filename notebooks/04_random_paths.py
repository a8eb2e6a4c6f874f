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
# # 4 · Random paths
#
# **Idea.** The JTFS loss is a mean over $P$ paths (Eq. 3), so one path drawn uniformly at
# random gives an **unbiased** estimate of its gradient (Proposition 3.1, Eq. 5) at about
# $1/P$ of the cost. The catch is the variance of that estimate: paths differ by orders of
# magnitude, which is what P-Adam, P-SAGA and θ-IS are for (notebooks 5–7).

# %%
import matplotlib.pyplot as plt
import numpy as np

from scrapl_edu import JTFSLoss, toy, viz
from scrapl_edu.diagnostics import (
    arithmetic_cost,
    check_unbiased_exact,
    estimator_variance,
    forward_backward_seconds,
    full_gradient,
    monte_carlo_unbiasedness,
)

problem = toy.make_problem("classroom", theta_star=(0.6, 0.4))
jtfs, P = problem.jtfs, problem.n_paths
print(jtfs.extra_repr())

# %% [markdown]
# ## Cost of one path vs all paths (forward + backward)
#
# Left: wall time measured here, the best of 5 runs (noisy on a shared machine). Right: the
# arithmetic counted (FFTs and matrix products, `diagnostics.arithmetic_cost`), which does not
# depend on the machine. One path costs a fraction of the full transform but more than $1/P$
# of it: the full transform computes the first order once for all paths, while each path
# recomputes the part it needs.

# %%
x = problem.target.clone()
forward_backward_seconds(jtfs, x, repeats=1)  # warm the caches
t_all = forward_backward_seconds(jtfs, x)
drawn = np.random.default_rng(0).integers(0, P, 5)
t_one = np.mean([forward_backward_seconds(lambda z, p=int(p): jtfs.path(z, p), x) for p in drawn])
c_all = arithmetic_cost(jtfs, x)["total"]
c_one = np.mean([arithmetic_cost(lambda z, p=int(p): jtfs.path(z, p), x)["total"] for p in drawn])
labels = ["one random path", f"all {P} paths"]
fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(9, 2.5), sharey=True)
ax_t.barh(labels, [1e3 * t_one, 1e3 * t_all])
ax_t.set_xlabel("ms, measured")
ax_c.barh(labels, [c_one / 1e6, c_all / 1e6], color="C1")
ax_c.set_xlabel("MFLOP, counted")
plt.show()
print(f"time: all paths {1e3 * t_all:.1f} ms, one path {1e3 * t_one:.2f} ms: {t_all / t_one:.1f}x")
print(
    f"arithmetic: all paths {c_all / 1e6:.0f} MFLOP, one path {c_one / 1e6:.1f}: {c_all / c_one:.1f}x"
)
assert c_all / c_one > 5

# %% [markdown]
# ## Proposition 3.1, exactly and by Monte Carlo
#
# Here the "network" is θ itself (`scrapl_edu.toy`). $G_p = \nabla_w L_p$ for every path
# (one table), and $g = \nabla_w L^\Phi$ from the full loss. Eq. (5) says mean$_p G_p = g$.

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
# ## The variance that makes naive sampling hard

# %%
stats = estimator_variance(G, full=g)
norms = G.norm(dim=1).numpy()
fig = viz.plot_path_grid(
    jtfs, np.log10(norms + 1e-30), title="‖∇L_p‖ for every path", label="log10 norm"
)
plt.show()
rel_var = stats.variance / float(g.norm()) ** 2
print(
    f"E‖ĝ − g‖² / ‖g‖² = {rel_var:.1f};  max/min path gradient norm = {norms.max() / norms.min():.1e}"
)
assert rel_var > 1.0, "one path should be a much noisier direction than the full gradient"
