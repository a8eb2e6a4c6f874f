# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: nbgrader,-all
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
# # 07 · θ-importance sampling
#
# **Objectives**
# - compute a top eigenvalue by power iteration on Hessian-vector products, without ever
#   forming the Hessian;
# - turn the curvature table $C_{u,p}$ into the path distribution π of Eq. (10);
# - measure how much of π lands on the paths inside each chirplet preset's θ box (Fig. 6);
# - weigh θ-IS's downside: paths that are almost never drawn, and the floor `min_prob_frac`
#   that trades some of the box's share for coverage.
#
# **Prerequisites**: 02 (rate, scale, velocity, θ box), 04 (sampling from π is biased)
# **Study time**: about 45 min
# **Paper**: Section 3.4 (Eq. 10–12), Section 4.3, Appendix C (Fig. 6, Table 7)

# %% [markdown]
# **Idea.** Not all paths matter equally for a given synthesizer. **θ-IS** (Section 3.4)
# measures, for each path $p$ and synth parameter $u$, the curvature of the path's loss
# along $\theta_u$ seen through the **encoder**: the top eigenvalue of
# $\nabla_w(s_{x,u,p}\nabla_w E_{x,u})$ (Eq. 11–12), found by **power iteration** on
# **Hessian-vector product**s that cost about one backward pass each. It then draws paths in
# proportion (Eq. 10). Unlike the weights of notebook 04, SCRAPL does not reweight: θ-IS is
# biased on purpose, to bring the loss closer to the **P-loss**.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import lab, presets, top_eigenvalue_hvp, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.sampling import apply_min_prob, probs_from_importance

fast = fast_mode()
print("fast mode:", fast)

# %% [markdown]
# ## Power iteration on Hessian-vector products, on a tiny example
#
# $f(w) = \tfrac12 w^\top A w$ has Hessian $A$; `torch.autograd` gives $Av$ without ever
# forming $A$ (double backward). Power iteration $v \leftarrow Av/\|Av\|$ converges to the
# top eigenvector, and $v^\top A v$ to the top eigenvalue.

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
# **Exercise 1.** Write the power iteration yourself: start from `v0`, repeat
# $v \leftarrow \text{hvp}(v)/\|\text{hvp}(v)\|$ `n_iter` times and return the Rayleigh
# quotient $v^\top \text{hvp}(v)$. The graded cell compares with `eigvalsh`.


# %% nbgrader={"grade": false, "grade_id": "ex_07_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def power_iteration(hvp, v0, n_iter):
    """Top eigenvalue of the symmetric operator hvp, by power iteration from v0."""
    ### BEGIN SOLUTION
    v = v0 / v0.norm()
    for _ in range(n_iter):
        Av = hvp(v)
        v = Av / Av.norm()
    return float(v @ hvp(v))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_07_1_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
v0 = torch.ones(6, dtype=torch.float64)
assert abs(power_iteration(hvp, v0, 200) - true) < 1e-8 * true
assert power_iteration(hvp, v0, 1) < true  # one step is not yet there

# %% [markdown]
# ## From curvature to π (Eq. 10)
#
# θ-IS fills a table $C_{u,p}$ (one row per synth parameter $u$, one column per path) and
# turns it into one distribution: each row is normalised over the paths, then the rows are
# averaged, $\pi_p = \frac1U\sum_u C_{u,p}/\sum_{p'}C_{u,p'}$. Each parameter gets an equal
# say, however large its curvatures.
#
# **Exercise 2.** Write Eq. (10). The graded cell compares with the library on a table whose
# two rows differ by six orders of magnitude.


# %% nbgrader={"grade": false, "grade_id": "ex_07_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def probs_from_C(C):
    """Eq. (10): pi from a (U, P) table of non-negative importances."""
    ### BEGIN SOLUTION
    return (C / C.sum(dim=1, keepdim=True)).mean(dim=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_07_2_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
C_check = torch.rand(2, 9, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
C_check[1] *= 1e6
assert torch.allclose(probs_from_C(C_check), probs_from_importance(C_check), rtol=1e-12)
assert abs(float(probs_from_C(C_check).sum()) - 1) < 1e-12

# %% [markdown]
# ## π for the paper's chirplet configurations (Fig. 6)
#
# `lab.theta_is_presets` runs θ-IS with the lab's untrained encoder on a few training sounds
# of each preset and counts the probability that lands on the paths whose AM rate and FM
# **velocity** (rate / scale, notebook 02) fall in the preset's **θ box** (± one filter
# bandwidth). Section 4.3: "verify that the paths within the parameter ranges of the synth
# have been assigned a probability greater than uniform".
#
# In classroom mode all four configurations are run (2 sounds, 2 power iterations each) and
# each must put at least 1.5× the uniform share in its box. Fast mode (256 Hz, a 7-octave
# JTFS with $Q_1 = 4$, 1 sound, 1 power iteration) runs the two slow-AM configurations, a
# smaller but real check: more than the uniform share. There the two fast-AM configurations
# are *not* favoured (about 0.3× uniform, measured; changing $Q_1$ to 2 or 8 did not help),
# so the fast sizes are not a scale model of θ-IS for fast AM.

# %%
tags = presets.chirplet_tags()
names = [f"classroom_{t}" for t in (tags if not fast else [t for t in tags if "am1-2" in t])]
with tempfile.TemporaryDirectory() as tmp:
    report = lab.theta_is_presets(names, tmp, fast=fast, progress=False)
    with np.load(f"{tmp}/theta_is_probs.npz") as z:
        arrays = {k: z[k] for k in z.files}
fig, axes = plt.subplots(2, len(names), figsize=(5.2 * len(names), 8.8), squeeze=False)
jtfs_of = {}
for i, preset in enumerate(names):
    jt = jtfs_of[preset] = lab.build_jtfs(lab.make_config(preset, fast=fast))
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
target = 1.0 if fast else 1.5  # the README's classroom target is 1.5x the uniform share
assert all(r >= target for r in ratios.values()), f"θ-IS should favour each box ({target}x)"

# %% [markdown]
# ## The downside: paths that are (almost) never drawn
#
# A path with a small $\pi_p$ is seldom drawn: in $K$ steps it is never drawn with
# probability $(1-\pi_p)^K$. Its gradient then never reaches the model, and P-SAGA's table
# keeps no entry for it (notebook 06). If that path carries information the box analysis
# misses (the θ box is an approximation), training cannot use it.
#
# **Exercise 3.** Write the expected number of paths never drawn in `K` independent draws
# from `pi`. The graded cell simulates 2000 runs of `K` draws.


# %% nbgrader={"grade": false, "grade_id": "ex_07_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def expected_never_drawn(pi, K):
    """E[number of paths not drawn in K draws from pi]."""
    ### BEGIN SOLUTION
    return float(np.sum((1 - np.asarray(pi)) ** K))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_07_3_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
pi_check = np.asarray(arrays[f"{names[0]}/probs"], dtype=float)
rng = np.random.default_rng(0)
K_check = 2 * pi_check.size
draws = rng.choice(pi_check.size, size=(2000, K_check), p=pi_check / pi_check.sum())
unseen = np.array([pi_check.size - np.unique(row).size for row in draws])
want = expected_never_drawn(pi_check, K_check)
assert abs(unseen.mean() - want) < 4 * unseen.std() / np.sqrt(len(unseen)) + 1e-9

# %% [markdown]
# The lab trains for $K = 400$ steps (classroom). `min_prob_frac` $f$ mixes π with the
# uniform distribution, $\pi' = (1-f)\pi + f/P$ (`sampling.apply_min_prob`), so every path
# has at least $f/P$: coverage comes back, and the share of the box goes down.

# %%
K = 400
floors = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0]
fig, (ax_n, ax_r) = plt.subplots(1, 2, figsize=(11, 3.4))
trade = {}
for preset in names:
    pi = torch.as_tensor(arrays[f"{preset}/probs"], dtype=torch.float64)
    mask = arrays[f"{preset}/in_box"]
    P = pi.numel()
    never, share = [], []
    for f in floors:
        pf = apply_min_prob(pi, f).numpy()
        never.append(float(np.sum((1 - pf) ** K)))
        share.append(float(pf[mask].sum() / (mask.sum() / P)))
    trade[preset] = (never, share)
    ax_n.plot(floors, never, "o-", label=preset)
    ax_r.plot(floors, share, "o-", label=preset)
    rare = int((pi.numpy() < 0.1 / P).sum())
    print(
        f"{preset}: {rare}/{P} paths below a tenth of uniform; expected never drawn in "
        f"{K} steps: {never[0]:.2f} (uniform: {P * (1 - 1 / P) ** K:.3f}), "
        f"with f = 0.1: {never[2]:.2f}"
    )
ax_n.set(xlabel="min_prob_frac f", ylabel=f"E[paths never drawn in {K} steps]", yscale="symlog")
ax_r.set(xlabel="min_prob_frac f", ylabel="in-box share / uniform share")
ax_r.axhline(1, color="k", lw=0.5)
for ax in (ax_n, ax_r):
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
plt.show()
for preset, (never, share) in trade.items():
    P = arrays[f"{preset}/probs"].size
    assert never[0] > P * (1 - 1 / P) ** K, "θ-IS leaves more paths undrawn than uniform"
    assert all(a >= b for a, b in zip(never, never[1:])), "a higher floor draws more paths"
    assert all(a >= b for a, b in zip(share, share[1:])) and abs(share[-1] - 1) < 1e-9

# %% [markdown]
# ## Recap
#
# - Power iteration on Hessian-vector products gives a top eigenvalue at the cost of a few
#   backward passes, without forming the Hessian (Eq. 12).
# - Eq. (10) normalises each parameter's curvatures over the paths and averages them.
# - θ-IS puts well over the uniform share of π on the paths inside each preset's θ box
#   (classroom mode); the fast sizes reproduce it only for the slow-AM configurations.
# - θ-IS is biased (no reweighting) and leaves some paths almost never drawn; the floor
#   `min_prob_frac` buys coverage back with part of the box's share.
#
# **Previous**: [06 · P-SAGA](06_p_saga.ipynb) · **Next**: [08 · Sound-matching lab](08_sound_matching_lab.ipynb)
#
# **References**: Section 3.4 (Eq. 10–12); Section 4.3 (the four chirplet configurations);
# Appendix C (Fig. 6, Table 7); Schmidt et al. (2017) for sampling by Lipschitz constants.
