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
# # 03 · JTFS as a loss
#
# **Objectives**
# - hear and see what the synth's random time shift does to a chirplet;
# - compare the MSS and JTFS distances of a sound to its shifted copy, in units of the
#   averaging window $T$;
# - predict, then measure, as a function of the shift, how well each loss's gradient still
#   points to the right parameters θ*;
# - explain why a loss can grow with a shift and still give a useful gradient.
#
# **Prerequisites**: 01 (scalogram, averaging window T), 02 (JTFS paths)
# **Study time**: about 40 min
# **Paper**: Section 1 (Eq. 2–3), Section 4 (random shifts), Sections 4.1 and 4.3

# %% [markdown]
# **Idea.** A loss for sound matching must (i) not care *when* the synthesizer plays the
# sound (its random time shift, Section 4) and (ii) still point towards the right
# parameters. The **MSS** loss compares spectrogram frames one by one: shift the sound and
# each frame is compared with a frame of a different moment. The **JTFS** distance of
# Eq. (2)–(3) averages every coefficient over a window $T$ and keeps the modulation
# structure (rates and scales, notebook 02) that the parameters θ control.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from scrapl_edu import JTFS, JTFSLoss, grading, lessons, mss_loss, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import make_config
from scrapl_edu.lab.train import mss_sizes
from scrapl_edu.sound import players

cfg = make_config("classroom", fast=fast_mode())
synth_cfg = cfg.synth_config()
synth = synth_cfg.build()
jtfs = JTFS(**cfg.jtfs_kwargs())
sr, T = synth_cfg.sr, jtfs.T  # T: the JTFS averaging window, in samples
# the MSS windows of the lab (the paper's 64-2048-sample windows at 8192 Hz, kept in seconds)
mss_kw = mss_sizes("log_linear", synth_cfg.n_samples, sr)
losses = {"MSS": mss_loss("log_linear", **mss_kw), "JTFS": JTFSLoss(jtfs)}
theta_star = torch.tensor([[0.5, 0.5]])
x = synth(theta_star, shifts=0)
print(f"fast mode: {fast_mode()} | {sr:g} Hz, T = {T} samples = {T / sr:.2f} s")
print(f"random shifts up to ±{synth_cfg.max_shift} samples; MSS windows {mss_kw['fft_sizes']}")

# %% [markdown]
# ## A chirplet and the same chirplet, shifted
#
# The synth draws a new shift for every render. Listen: the same parameters θ, played a
# little earlier or later.

# %%
shift = int(synth.sample_shifts(1, seed=3)[0])
x_shifted = synth(theta_star, shifts=shift)
display(
    players(
        {"θ*, no shift": x[0, 0], f"θ*, shifted by {shift / sr:+.2f} s": x_shifted[0, 0]}, int(sr)
    )
)
t = np.arange(synth_cfg.n_samples) / sr
plt.figure(figsize=(10, 2.2))
plt.plot(t, x[0, 0], lw=0.5, label="no shift")
plt.plot(t, x_shifted[0, 0], lw=0.5, alpha=0.7, label=f"shift {shift / sr:+.2f} s")
plt.xlabel("time (s)")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Exercise 1.** Units first. Give the largest random shift in seconds, the averaging
# window $T$ in seconds, and the largest shift as a fraction of $T$ (use `synth_cfg`, `jtfs`).

# %% nbgrader={"grade": false, "grade_id": "ex_03_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
max_shift_s = synth_cfg.max_shift / synth_cfg.sr
T_s = jtfs.T / synth_cfg.sr
shift_over_T = synth_cfg.max_shift / jtfs.T
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex_03_1_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert abs(max_shift_s - 0.25) < 1e-9, "the classroom chirplets shift by up to a quarter second"
assert abs(T_s * synth_cfg.sr - jtfs.T) < 1e-9 and abs(shift_over_T - max_shift_s / T_s) < 1e-9
assert abs(shift_over_T - 0.5) < 1e-9

# %% [markdown]
# ## Distance to a shifted copy, in units of T
#
# Each curve is the distance between $x$ and its copy shifted by $s$, divided by the distance
# between $x$ and a *different* sound (θ_FM moved by 0.3): 1 means "this shift looks as bad
# as a wrong parameter". The dotted lines mark the synth's largest shift, $\pm T/2$.

# %%
fractions = np.linspace(-1, 1, 17)  # shifts from -T to T
shifts = (fractions * T).astype(int)
other = synth(torch.tensor([[0.5, 0.8]]), shifts=0)
curves = {}
with torch.no_grad():
    for name, loss in losses.items():
        ref = float(loss(other, x))
        d = np.array([float(loss(synth(theta_star, shifts=int(s)), x)) for s in shifts]) / ref
        curves[name] = (fractions, d)
fig = viz.plot_curves(
    curves,
    xlabel="shift / T",
    ylabel="distance / distance to another θ",
    title="a time shift vs a wrong parameter",
    logy=True,
)
for f in (-synth_cfg.max_shift / T, synth_cfg.max_shift / T):
    fig.axes[0].axvline(f, color="k", ls=":", lw=1)
plt.show()
small = (shifts != 0) & (np.abs(shifts) <= T // 8)
ratio = {name: float(d[small].mean()) for name, (_, d) in curves.items()}
print("mean over 0 < |shift| <= T/8:", {k: round(v, 2) for k, v in ratio.items()})
assert ratio["JTFS"] < 0.5 * ratio["MSS"], "within T/8 the JTFS distance should stay below MSS's"

# %% [markdown]
# Within $T/8$ (a quarter of the largest random shift) the JTFS distance stays well below
# MSS's. Further out, both grow, and at the largest shifts the JTFS distance is no smaller:
# with ρ = identity (Eq. 1) its invariance comes from the averaging, which is only complete
# for shifts much smaller than $T$. So is JTFS no better than MSS at the shifts the synth
# actually draws? The distance is not what training uses: the gradient is.

# %% [markdown]
# ## Does the gradient still point to θ*?
#
# Put θ on a small circle around θ* (4 points, radius 0.2), render $D(\theta)$ shifted by
# $s$, and measure $\cos(-\nabla_\theta L,\ \theta^*-\theta)$: 1 when the gradient points
# straight to θ*, 0 when it says nothing about where θ* is (blind), negative when it points
# away. `lessons.gradient_alignment` does it for every shift, both signs.
#
# **Exercise 2.** The heart of that function: write the cosine between $-g$ and
# $\theta^*-\theta$ for a gradient `g` and points `theta`, `theta_star` (tensors of shape
# (1, 2)). The graded cell compares with the library on one point.


# %% nbgrader={"grade": false, "grade_id": "ex_03_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def alignment(g, theta, theta_star):
    """cos(-g, theta_star - theta)."""
    ### BEGIN SOLUTION
    a, b = -g.reshape(-1), (theta_star - theta).reshape(-1)
    return float(a @ b / (a.norm() * b.norm()))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_03_2_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
theta = torch.tensor([[0.3, 0.5]], requires_grad=True)  # the library's point for 1 direction
(g,) = torch.autograd.grad(losses["JTFS"](synth(theta, shifts=T // 4), x), theta)
want = lessons.gradient_alignment(losses["JTFS"], synth, x, [0.5, 0.5], [T // 4], 0.2, 1)[0, 0]
assert abs(alignment(g, theta.detach(), theta_star) - want) < 1e-5

# %% [markdown]
# **Exercise 3 (predict, then check).** The next cell measures the alignment
# $\cos(-\nabla\mathcal L, \theta^*-\theta)$ of each loss's gradient for shifts up to $T/2$.
# Before running it: at shifts of $T/8$ and more, what fraction of the alignment it has
# without a shift will the *MSS* gradient keep, on average? (1: all of it; 0: it points
# anywhere; negative: away from θ*.) Record a number; it is graded within ±0.3 of the
# classroom-mode value (fast mode prints its own) and sealed when the next cell shows it.

# %% nbgrader={"grade": false, "grade_id": "ex_03_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
grading.predict("03_mss_kept", 0.0)
### END SOLUTION

# %%
grading.reveal("03_mss_kept")
magnitudes = np.array([0, 1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2])
signed = [int(m * T) for m in magnitudes] + [-int(m * T) for m in magnitudes[1:]]
align = {}
for name, loss in losses.items():
    a = lessons.gradient_alignment(loss, synth, x, [0.5, 0.5], signed).mean(axis=1)
    n = len(magnitudes)
    align[name] = np.concatenate([a[:1], (a[1:n] + a[n:]) / 2])  # mean of +s and -s
viz.plot_curves(
    {k: (magnitudes, v) for k, v in align.items()},
    xlabel="|shift| / T",
    ylabel="mean cos(−∇L, θ* − θ)",
    title="does the gradient point to θ*?",
)
plt.axhline(0, color="k", lw=0.5)
plt.show()
print({k: np.round(v, 2) for k, v in align.items()})
far = magnitudes >= 1 / 8
kept = {k: float(v[far].mean() / v[0]) for k, v in align.items()}
print("fraction of the unshifted alignment kept at |shift| >= T/8:", kept)
assert align["MSS"][0] > 0.5 and align["JTFS"][0] > 0.5
assert kept["MSS"] < 0.5
assert align["JTFS"].min() > 0.8
classroom_kept = lessons.committed_results("curriculum/predictions_classroom.json")["03_mss_kept"]
if fast_mode():
    print(f"fast mode: MSS keeps {kept['MSS']:.2f} at the fast sizes; graded against the classroom")
else:
    assert abs(kept["MSS"] - classroom_kept) < 1e-3  # the committed classroom value

# %% nbgrader={"grade": true, "grade_id": "ex_03_3_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_prediction("03_mss_kept", classroom_kept)

# %% [markdown]
# Without a shift MSS works (the control): its gradient points to θ*. A shift of an eighth
# of $T$ (as long as one of its middle windows) is enough to make it point anywhere: its frames compare
# different moments of the two sounds. The JTFS gradient keeps its direction at every shift
# the synth draws, even where its *distance* has grown: a shift adds to the loss a term that
# hardly depends on θ, while the modulation structure that θ controls is still compared.
# That is what makes JTFS worth its cost, and what the next notebooks make affordable.

# %% [markdown]
# ## Recap
#
# - The synth's random shift (up to $T/2$ in the classroom presets) changes a sound's
#   spectrogram frames but not what it sounds like.
# - Within $T/8$ the JTFS distance to a shifted copy stays far below MSS's; at the largest
#   shifts both distances grow.
# - Measured as a function of the shift, MSS's gradient goes blind from about $T/8$ on, while
#   the JTFS gradient points to θ* at every shift up to $T/2$.
# - JTFS costs $P$ paths per step; notebook 04 draws one at random.
#
# **Previous**: [02 · Joint time–frequency scattering](02_joint_time_frequency_scattering.ipynb) · **Next**: [04 · Random paths](04_random_paths.ipynb)
#
# **References**: Section 1 (Eq. 1–3); Section 4 (nondeterministic decoders); Section 4.1
# (JTFS); Section 4.3 (chirplet synth); Vahidi et al. (2023) for JTFS gradients under
# misalignment.
