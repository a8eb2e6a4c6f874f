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
# # 07 · θ-importance sampling
#
# **Objectives**
# - compute a top eigenvalue by power iteration on Hessian-vector products, without ever
#   forming the Hessian, and build one power step *with deflation* (the next eigenvalues);
# - build Eq. (10), the path distribution π from the curvature table $C_{u,p}$;
# - measure how much of π lands on the paths inside each chirplet preset's θ box (Fig. 6);
# - weigh θ-IS's downside: paths that are almost never drawn, and the floor `min_prob_frac`
#   that trades some of the box's share for coverage.
#
# **Prerequisites**: 02 (rate, scale, velocity, θ box), 04 (sampling from π is biased)
# **Study time**: about 60 min
# **Paper**: Section 3.4 (Eq. 10–12), Section 4.3, Appendix C (Fig. 6, Table 7)

# %% [markdown]
# **Idea.** Not all paths matter equally for a given synthesizer. The set-up is the one
# the lab of notebook 08 trains (Section 3.4): an **encoder** $E$ with weights $w$ reads a
# sound $x$ and predicts its synth parameters $\tilde\theta = E_x(w)$; the **synth** $D$
# renders $\tilde x = D(\tilde\theta)$, and the loss compares $\tilde x$ with $x$, so the
# model is $F = D\circ E$ and the path loss is $\mathcal L_p\circ F$. **θ-IS** (Section 3.4)
# measures, for each path $p$ and synth parameter $u$, the curvature of the path's loss
# along $\theta_u$ seen through the encoder: the top eigenvalue of
# $\nabla_w(s_{x,u,p}\nabla_w E_{x,u})$ (Eq. 11–12), found by **power iteration** on
# **Hessian-vector product**s that cost about one backward pass each. It then draws paths in
# proportion (Eq. 10). Unlike the weights of notebook 04, SCRAPL does not reweight: θ-IS is
# biased on purpose, to bring the loss closer to the **P-loss**.

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import grading, lab, lessons, presets, top_eigenvalue_hvp, toy, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.losses import path_distance
from scrapl_edu.sampling import apply_min_prob
from scrapl_edu.theta_is import theta_importance_sampling

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
# The paper's Appendix C speaks of "power iteration with deflation". The top eigenvalue, the
# only one Eq. (12) uses, needs no deflation. Deflation finds the *next* ones: once the
# eigenpair $(\lambda_1, u_1)$ is known (unit $u_1$), iterate on the deflated operator
# $H'v = Hv - \lambda_1 (u_1^\top v)\,u_1$, whose top eigenvalue is $\lambda_2$ (Hotelling's
# deflation, exact for a symmetric $H$ such as the Hessian $A$ here). A caution for Eq. (12):
# its matrix $\nabla_w(s\,\nabla_w E_u)$ is *not* symmetric in general (the cross term
# $\nabla_w E_u(\nabla_w s)^\top$ is not), although the paper calls it positive definite;
# see `theta_is.theta_importance_sampling`'s docstring. Power iteration for its top
# eigenvalue still works; this deflation formula assumes symmetry.
#
# **Exercise 1 (build it: a power step with deflation, 4 points).** Write
# `power_step(hvp, v, found)`: `v` has unit norm, `found` is a list of eigenpairs
# `(lam_i, u_i)` already found. Apply the deflated operator
# $H'v = Hv - \sum_i \lambda_i (u_i^\top v)\,u_i$ and return the pair
# `(lam, v_next)`: the Rayleigh quotient $v^\top H'v$ (a float) and $H'v/\|H'v\|$. The
# graded cell runs `grading.check_deflated_power_step` (random symmetric matrices, with and
# without a deflated pair, against the library's `theta_is.deflated_power_step`; then 200 of
# your steps must find a second eigenvalue), and finds the two top eigenvalues of $A$ with
# your steps on the HVP above.


# %% nbgrader={"grade": false, "grade_id": "ex_07_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def power_step(hvp, v, found):
    """One power iteration on hvp deflated by the eigenpairs in found: (lam, v_next)."""
    ### BEGIN SOLUTION
    w = hvp(v)
    for lam_i, u_i in found:
        w = w - lam_i * (u_i @ v) * u_i
    return float(v @ w), w / w.norm()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_07_1_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
assert grading.check_deflated_power_step(power_step)
eig = torch.linalg.eigvalsh(A)  # ascending
pairs = []
for _ in range(2):
    v = torch.ones(6, dtype=torch.float64) / 6**0.5
    for _ in range(300):
        lam, v = power_step(hvp, v, pairs)
    pairs.append((lam, v))
assert abs(pairs[0][0] - float(eig[-1])) < 1e-8 * float(eig[-1])
assert abs(pairs[1][0] - float(eig[-2])) < 1e-6 * float(eig[-1])

# %% [markdown]
# ## $C_{u,p}$ by hand, on the smallest encoder
#
# Eq. (11)–(12) for one path $p$ and parameter $u$: with $\tilde\theta = E(w)$,
# $s_u(w) = \partial(\mathcal L_p\circ D)/\partial\theta_u$ at $\theta = E(w)$ (not detached:
# it depends on $w$), the matrix $M = \nabla_w\big(s_u(w)\,\nabla_w E_u(w)\big)$ and
# $C_{u,p} = |\lambda_{max}(M)|$. The encoder of notebooks 05–06 has two weights
# ($\theta = \mathrm{sigmoid}(w)$, `toy.ThetaModel`), so $M$ is 2 × 2 and can be formed and
# diagonalised outright (here $E_u$ depends on $w_u$ alone, so $M$ has rank one: its other
# eigenvalue is 0); the library's θ-IS (`theta_importance_sampling`, power iteration on HVPs)
# must agree.

# %%
problem = toy.make_problem("classroom", theta_star=(0.6, 0.4), fast=fast)


def toy_path_loss(x_hat, x, p):  # L_p of Eq. (3), scaled as in notebooks 05-06
    return problem.loss_scale * path_distance(problem.jtfs, x_hat, x, p)


def toy_synth(theta):  # D(θ), unshifted
    return problem.render(theta.float()).double()


encoder = toy.ThetaModel([0.3, 0.7]).double()
target, w0 = problem.target.double(), encoder.w.detach().clone()
# the path whose loss is the most sensitive to θ at θ0 (far above the float32 synth's noise)
theta0 = encoder().detach().requires_grad_(True)
sens = [
    float(torch.autograd.grad(toy_path_loss(toy_synth(theta0), target, p), theta0)[0].norm())
    for p in range(problem.n_paths)
]
p_hand = int(np.argmax(sens))
C_hand = []
for u in range(2):

    def field(w, u=u):  # s_u(w) ∇_w E_u(w): its Jacobian is M of Eq. (12)
        theta = torch.sigmoid(w)[None]
        loss = toy_path_loss(toy_synth(theta), target, p_hand)
        (s,) = torch.autograd.grad(loss, theta, create_graph=True)  # Eq. (11)
        (grad_E,) = torch.autograd.grad(theta[0, u], w, create_graph=True)
        return s[0, u] * grad_E

    M = torch.autograd.functional.jacobian(field, w0)
    C_hand.append(float(torch.linalg.eigvals(M).abs().max()))
res = theta_importance_sampling(
    encoder, toy_synth, toy_path_loss, target, n_iter=100, n_paths=problem.n_paths,
    paths=[p_hand], progress=False,
)  # fmt: skip
print(f"path {p_hand}: C by hand {np.round(C_hand, 6)}, θ-IS {res.C[:, p_hand].numpy().round(6)}")
assert np.allclose(C_hand, res.C[:, p_hand].numpy(), rtol=1e-4)

# %% [markdown]
# ## From curvature to π (Eq. 10)
#
# θ-IS fills a table $C_{u,p}$ (one row per synth parameter $u$, one column per path) and
# turns it into one distribution: each row is normalised over the paths, then the rows are
# averaged, $\pi_p = \frac1U\sum_u C_{u,p}/\sum_{p'}C_{u,p'}$. Each parameter gets an equal
# say, however large its curvatures.
#
# **Exercise 2 (build it: Eq. 10, 2 points).** Write `probs_from_C(C)` for a (U, P)
# table of non-negative importances. A row of zeros (a parameter that no path sees) must
# contribute the uniform distribution instead of dividing by zero. The graded cell runs
# `grading.check_probs_from_importance` (random U, P and scales over eight orders of
# magnitude, zero rows; against the library's `sampling.probs_from_importance`).


# %% nbgrader={"grade": false, "grade_id": "ex_07_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def probs_from_C(C):
    """Eq. (10): pi from a (U, P) table of non-negative importances."""
    ### BEGIN SOLUTION
    rows = C.sum(dim=1, keepdim=True)
    uniform = torch.full_like(C, 1.0 / C.shape[1])
    rel = torch.where(rows > 0, C / torch.where(rows > 0, rows, 1.0), uniform)
    return rel.mean(dim=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_07_2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_probs_from_importance(probs_from_C)

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
committed = lessons.committed_results("lab/theta_is_probs/theta_is_box.json")
if fast:
    print(
        f"fast mode: {len(names)} of the 4 configurations, at sizes that do not model the "
        "fast-AM ones; the classroom run (committed) shows:"
    )
    print({p: round(r["ratio"], 2) for p, r in committed["presets"].items()})
assert len(committed["presets"]) == 4
assert all(r["ratio"] >= 1.5 for r in committed["presets"].values())  # the recap's claim

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
#   backward passes, without forming the Hessian (Eq. 12); deflation finds the next ones.
# - $C_{u,p}$ by hand on a 2-weight encoder equals the library's θ-IS.
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
