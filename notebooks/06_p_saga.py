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
# # 6 · P-SAGA: a memory of every path
#
# **Idea.** SAGA reduces the variance of a finite-sum gradient by keeping the last gradient
# seen for every term. Here the terms are paths (Eq. 3), so P-SAGA (Eq. 9) keeps the last
# P-Adam update $\hat g_p$ of every visited path and steps along
# $g_{current} - \hat g_p + \frac{1}{\max(1, |\Gamma|)}\sum_{\gamma\in\Gamma}\hat g_\gamma$.
# Once a path's update changes slowly, the first two terms cancel and every step moves along
# the average over all paths: the variance of the step falls towards zero.

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from scrapl_edu import toy, viz
from scrapl_edu.diagnostics import direction_variance, optimizer_directions
from scrapl_edu.sampling import PathSampler
from scrapl_edu.widgets import TogglePanel

problem = toy.make_problem("classroom", theta_star=(0.6, 0.4))
P = problem.n_paths
G = toy.gradient_table(problem, toy.ThetaModel([0.3, 0.7]), shift_seed=1)

# %% [markdown]
# ## Variance of the step, with and without the table, over steps
#
# Replay 4P uniform draws of the frozen table $G$ through Algorithm 1 (P-Adam + P-SAGA).
# Every few steps, measure $\mathbb{E}_p\|d_p - \mathbb{E}d\|^2$ over the direction $d_p$ the
# optimizer would take for each path $p$, with the table and with it switched off.

# %%
draws = PathSampler(P, seed=0).sample_many(4 * P)
every = max(1, len(draws) // 10)
ks, with_t, without_t, visited = [], [], [], []


def measure(k, model, opt):
    if k % every:
        return
    loss = lambda m, p: m.path_loss(p)  # noqa: E731
    ks.append(k)
    with_t.append(direction_variance(optimizer_directions(model, opt, loss, range(P))))
    without_t.append(
        direction_variance(optimizer_directions(model, opt, loss, range(P), {"p_saga": False}))
    )
    visited.append(len(opt.visited_paths))


toy.replay(G, draws, p_adam=True, p_saga=True, callback=measure)
fig = viz.plot_curves(
    {"with the P-SAGA table (Eq. 9)": (ks, with_t), "without (P-Adam only)": (ks, without_t)},
    ylabel="variance of the step",
    logy=True,
    title="variance of the one-path step",
)
plt.show()
print(
    f"after {ks[-1]} steps ({visited[-1]}/{P} paths visited): {with_t[-1]:.3g} vs {without_t[-1]:.3g}"
)
assert with_t[-1] < 0.1 * without_t[-1]

# %% [markdown]
# ## On a real fit
#
# Now the gradients move with θ (`toy.fit`). The default run trains with P-Adam + P-SAGA and
# measures both variances along the way; untick P-SAGA and Run to train without the table.

# %%
steps = 60 if problem.jtfs.N <= 1024 else 150


def fit_and_measure(switches):
    ks, var_on, var_off = [], [], []

    def cb(k, hist, model, opt):
        if k % (steps // 4):
            return
        loss = lambda m, p: problem.path_loss(m, p, shift_seed=7)  # noqa: E731
        ks.append(k)
        var_on.append(
            direction_variance(optimizer_directions(model, opt, loss, range(P), {"p_saga": True}))
        )
        var_off.append(
            direction_variance(optimizer_directions(model, opt, loss, range(P), {"p_saga": False}))
        )

    hist, _, _ = toy.fit(
        problem, steps, p_adam=switches["p_adam"], p_saga=switches["p_saga"], callback=cb
    )
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
    viz.plot_curves(
        {"θ error": (np.arange(steps + 1), hist.theta_error)}, ax=axes[0], ylabel="mean |θ − θ*|"
    )
    viz.plot_curves(
        {"with table": (ks, var_on), "without": (ks, var_off)},
        ax=axes[1],
        logy=True,
        ylabel="variance of the step",
    )
    print(f"final θ error {hist.theta_error[-1]:.3f}")
    return fig


panel = TogglePanel(fit_and_measure, techniques=("p_adam", "p_saga"))
display(panel)
