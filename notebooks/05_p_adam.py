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
# # 5 · P-Adam: path-wise moments
#
# **Idea.** Adam smooths the stochastic gradient with moving averages $m$ and $v$. With
# SCRAPL the gradient of step $k$ comes from a random path, and paths are **not identically
# distributed**: a loud path fills the shared $v$, so a quiet path's step is crushed, and
# the shared $m$ mixes directions of unrelated paths into every step. P-Adam (Eq. 6–8) keeps
# one $(m_p, v_p)$ per path, with the decay $\beta^{(k-\tau_p)/P}$ adapted to how long ago
# path $p$ was last drawn, and bias correction $1-\beta^{k/P}$.

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from scrapl_edu import toy, viz
from scrapl_edu.sampling import PathSampler
from scrapl_edu.widgets import TogglePanel

problem = toy.make_problem("classroom", theta_star=(0.6, 0.4))
P = problem.n_paths
G = toy.gradient_table(problem, toy.ThetaModel([0.3, 0.7]), shift_seed=1)
norms = G.norm(dim=1).numpy()
print(f"{P} paths; path gradient norms span {norms.max() / norms[norms > 0].min():.1e}x")

# %% [markdown]
# ## Replaying real path gradients through the two optimizers
#
# We freeze the table $G$ (one gradient per path) and replay 3P uniform draws through
# `SCRAPLOptimizer` with shared moments (Adam) and with P-Adam (`toy.replay`). For each step
# we ask: does the step go downhill for the path that was drawn ($\langle d, \nabla L_p\rangle > 0$),
# and how big is it?

# %%
draws = PathSampler(P, seed=0).sample_many(3 * P)
Gd = G.numpy()[draws]
res = {}
for name, p_adam in (("Adam (shared moments)", False), ("P-Adam (Eq. 6-8)", True)):
    D = toy.replay(G, draws, p_adam=p_adam, p_saga=False)
    downhill = (D * Gd).sum(1) > 0
    res[name] = (np.cumsum(downhill) / np.arange(1, len(draws) + 1), np.linalg.norm(D, axis=1))
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for name, (share, size) in res.items():
    axes[0].plot(share, label=name)
    axes[1].loglog(norms[draws], size, ".", ms=3, label=name)
axes[0].set(
    xlabel="step", ylabel="share of steps so far", title="steps downhill for the drawn path"
)
axes[1].set(xlabel="‖∇L_p‖ of the drawn path", ylabel="‖update‖ / lr", title="size")
axes[0].legend(fontsize=8)
plt.show()
downhill = {k: float(v[0][-1]) for k, v in res.items()}
print("share of steps that go downhill for the drawn path:", downhill)
assert downhill["P-Adam (Eq. 6-8)"] == 1.0, "with its own moments, every step descends its own path"
assert downhill["Adam (shared moments)"] < 0.95, "shared moments: some steps climb the drawn path"

# %% [markdown]
# ## Measured on a real fit
#
# Fit θ of one shifted chirplet with SCRAPL (`toy.fit`, Algorithm 1 with w = θ). Switch P-Adam
# on and off and press Run; the default run compares both. On a two-parameter toy both
# usually converge — the lab (notebook 8, Table 2) measures the effect on a real encoder.

# %%
steps = 60 if problem.jtfs.N <= 1024 else 150


def compare(switches):
    curves = {}
    for p_adam in sorted({switches["p_adam"], False}, reverse=True):
        errs = [
            toy.fit(problem, steps, p_adam=p_adam, p_saga=switches["p_saga"], seed=s)[0].theta_error
            for s in range(2)
        ]
        curves["P-Adam" if p_adam else "Adam"] = (np.arange(steps + 1), np.mean(errs, axis=0))
    return viz.plot_curves(
        curves, ylabel="mean |θ − θ*|", title="SCRAPL fit of one sound (2 seeds)"
    )


panel = TogglePanel(
    compare, techniques=("p_adam", "p_saga"), defaults={"p_adam": True, "p_saga": False}
)
display(panel)
