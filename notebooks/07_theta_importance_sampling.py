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
# # 7 · θ-importance sampling
#
# **Idea.** Not all paths matter equally for a given synthesizer. θ-IS (Section 3.4) measures,
# for each path $p$ and synth parameter $u$, the curvature of the path's loss along $\theta_u$
# seen through the encoder — the top eigenvalue of $\nabla_w(s_{x,u,p}\nabla_w E_{x,u})$
# (Eq. 11–12) — and samples paths in proportion (Eq. 10). The eigenvalue is found by power
# iteration on Hessian-vector products, which cost about one backward pass each.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import lab, presets, top_eigenvalue_hvp, viz
from scrapl_edu.config import fast_mode

# %% [markdown]
# ## Power iteration on Hessian-vector products, on a tiny example
#
# $f(w) = \tfrac12 w^\top A w$ has Hessian $A$; `torch.autograd` gives $Av$ without ever
# forming $A$ (double backward). Power iteration converges to its top eigenvalue.

# %%
gen = torch.Generator().manual_seed(0)
B = torch.randn(6, 6, generator=gen, dtype=torch.float64)
A = B @ B.T + torch.diag(torch.arange(6.0, dtype=torch.float64))
w = torch.randn(6, dtype=torch.float64, requires_grad=True)
(grad,) = torch.autograd.grad(0.5 * w @ A @ w, w, create_graph=True)


def hvp(v):
    return torch.autograd.grad(grad, w, v, retain_graph=True)[0]


true = float(torch.linalg.eigvalsh(A).max())
its = np.arange(1, 41)
est = [top_eigenvalue_hvp(hvp, w, n_iter=int(n)) for n in its]
viz.plot_curves(
    {"|λ_k − λ_max| / λ_max": (its, np.abs(np.array(est) - true) / true + 1e-17)},
    xlabel="power iterations",
    logy=True,
    title="power iteration with HVPs",
)
plt.show()
print(f"λ_max = {true:.6f}, estimate after 40 iterations {est[-1]:.6f}")
assert abs(est[-1] - true) < 1e-6 * true

# %% [markdown]
# ## π for the paper's four chirplet configurations (Fig. 6)
#
# `scrapl_edu.lab.theta_is_presets` runs θ-IS with the lab's untrained encoder on a few
# training sounds of each preset, and counts the probability that lands on the paths whose
# AM rate and FM velocity (rate / scale) fall in the preset's θ box (± one filter bandwidth).

# %%
names = [f"classroom_{t}" for t in presets.chirplet_tags()]
fast = fast_mode()  # SCRAPL_EDU_FAST=1: the CI sizes
with tempfile.TemporaryDirectory() as tmp:
    report = lab.theta_is_presets(names, tmp, fast=fast, progress=False)
    with np.load(f"{tmp}/theta_is_probs.npz") as z:
        arrays = {k: z[k] for k in z.files}
fig, axes = plt.subplots(2, len(names), figsize=(5.2 * len(names), 8.8), squeeze=False)
for i, preset in enumerate(names):
    jt = lab.build_jtfs(lab.make_config(preset, fast=fast))
    r = report["presets"][preset]
    probs, in_box = arrays[f"{preset}/probs"], arrays[f"{preset}/in_box"]
    title = f"{preset}\nin-box share {r['ratio']:.2f}x uniform"
    viz.plot_path_grid(jt, probs * probs.size, ax=axes[0, i], title=title, label="P · π_p")
    viz.plot_theta_is_box(
        jt, probs, tuple(r["am_hz"]), tuple(r["fm_oct_per_s"]), ax=axes[1, i], in_box=in_box
    )
fig.tight_layout()
plt.show()
ratios = {p: round(r["ratio"], 2) for p, r in report["presets"].items()}
print("θ-IS probability on the in-box paths / their uniform share:", ratios)
assert all(abs(arrays[f"{p}/probs"].sum() - 1) < 1e-9 for p in names)
if fast:  # the CI sizes (256 Hz, 1 example, 1 power iteration) are too small to resolve the boxes
    print("fast mode: the box test is only meaningful at classroom scale")
else:
    assert np.mean([r > 1.0 for r in ratios.values()]) >= 0.75, "θ-IS should favour the synth's box"
