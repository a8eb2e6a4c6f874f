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
# # 3 · JTFS as a loss
#
# **Idea.** A loss for sound matching must (i) not care when the synthesizer plays the sound
# (its random time shift, Section 4) and (ii) still point towards the right parameters.
# The multi-scale spectral loss (MSS) compares spectrogram frames one by one, so a shift
# makes two identical sounds look different and its gradient with respect to θ goes blind.
# The JTFS distance of Eq. (2)–(3) averages over $T$ and keeps the modulation structure.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import JTFS, JTFSLoss, mss_loss, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import make_config

cfg = make_config("classroom", fast=fast_mode())
synth_cfg = cfg.synth_config()
synth = synth_cfg.build()
jtfs = JTFS(**cfg.jtfs_kwargs())
N = synth_cfg.n_samples
sizes = [n for n in (512, 256, 128, 64) if n <= N // 4]
losses = {
    "MSS": mss_loss(
        "log_linear", fft_sizes=sizes, hop_sizes=[n // 4 for n in sizes], win_lengths=sizes
    ),
    "JTFS": JTFSLoss(jtfs),
}
theta_star = torch.tensor([[0.5, 0.5]])
x = synth(theta_star, shifts=0)

# %% [markdown]
# ## Distance as the same sound is shifted in time
#
# Each curve is divided by the distance to a *different* sound (θ_FM moved by 0.3), so 1
# means "a shift looks as bad as a wrong parameter". Within about a quarter of the
# averaging window T the JTFS barely moves while MSS already sees a large error; for the
# largest shifts (half of T) both grow — with ρ = identity (Eq. 1) the averaging is what
# buys the invariance, so T must be on the scale of the shifts.

# %%
shifts = np.linspace(-synth_cfg.max_shift, synth_cfg.max_shift, 9).astype(int)
other = synth(torch.tensor([[0.5, 0.8]]), shifts=0)
curves, ratio = {}, {}
with torch.no_grad():
    for name, loss in losses.items():
        ref = float(loss(other, x))
        d = np.array([float(loss(synth(theta_star, shifts=int(s)), x)) for s in shifts]) / ref
        curves[name] = (shifts / synth_cfg.sr, d)
        ratio[name] = d[(shifts != 0) & (np.abs(shifts) <= synth_cfg.max_shift // 4)].mean()
viz.plot_curves(
    curves,
    xlabel="shift (s)",
    ylabel="distance / distance to another θ",
    title="a time shift vs a wrong parameter",
)
plt.show()
print({k: np.round(v[1], 2) for k, v in curves.items()})
print("at a quarter of the largest shift:", {k: round(float(v), 3) for k, v in ratio.items()})
assert ratio["JTFS"] < 0.5 * ratio["MSS"], "JTFS should care less about small shifts than MSS"

# %% [markdown]
# ## Gradient with respect to θ_AM when the render is shifted
#
# For θ_AM on a grid, render $\hat x = D(\theta)$ with a random shift and take
# $\partial L / \partial \theta_{AM}$. A useful loss has a gradient that points towards
# θ*_AM = 0.5: negative below it, positive above it.

# %%
grid = np.linspace(0.1, 0.9, 7 if cfg.fast else 11)
grid = grid[np.abs(grid - 0.5) > 0.05]
gen = torch.Generator().manual_seed(0)
shift_draws = [
    int(s)
    for s in torch.randint(
        -synth_cfg.max_shift, synth_cfg.max_shift + 1, (len(grid),), generator=gen
    )
]
right, land = {}, {}
for name, loss in losses.items():
    vals, grads = [], []
    for a, s in zip(grid, shift_draws):
        th = torch.tensor([[a, 0.5]], requires_grad=True)
        L = loss(synth(th, shifts=s), x)
        (g,) = torch.autograd.grad(L, th)
        vals.append(float(L.detach()))
        grads.append(float(g[0, 0]))
    grads = np.array(grads)
    right[name] = float(np.mean(np.sign(grads) == np.sign(grid - 0.5)))
    land[name] = (grid, np.array(vals) / max(vals))
viz.plot_curves(
    land, xlabel="θ_AM", ylabel="loss / max", title="loss landscape along θ_AM (shifted renders)"
)
plt.show()
print("share of grid points where -gradient points to θ*:", right)
assert right["JTFS"] >= 0.8
assert right["JTFS"] > right["MSS"] or right["MSS"] < 0.8
