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
# # 1 · Wavelets and the scalogram
#
# **Idea.** The first layer of every scattering transform is a wavelet transform $W$ followed
# by a complex modulus, $|Wx|$ (the inner part of the paper's Eq. 1). A bank of Morlet
# wavelets tiles the frequency axis with constant-Q band-pass filters; their
# Littlewood–Paley sum $\sum_\lambda |\hat\psi_\lambda(\omega)|^2$ shows that no frequency is
# lost. Averaging $|x * \psi_\lambda|$ over a window $T$ gives the **scalogram**
# $S_1x = |x * \psi_\lambda| * \phi_T$, which becomes invariant to time shifts up to $T$ —
# exactly what a loss needs when the synthesizer shifts its sound at random (Section 4).
#
# `SCRAPL_EDU_FAST=1` shrinks every size (CI); the default is the classroom scale.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from scrapl_edu import JTFS, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import make_config

cfg = make_config("classroom", fast=fast_mode())  # the classroom chirplet (shrunk in fast mode)
synth_cfg = cfg.synth_config()
synth = synth_cfg.build()
jtfs = JTFS(**cfg.jtfs_kwargs())
print("fast mode:", fast_mode(), "|", jtfs.extra_repr())
print(
    f"synth: {synth_cfg.sr:g} Hz, {synth_cfg.n_samples} samples, carrier {synth_cfg.carrier_hz:g} Hz"
)

# %% [markdown]
# ## The Morlet filterbank and its Littlewood–Paley sum
#
# `jtfs.filters("psi1")` holds the first-order wavelets $\hat\psi_\lambda$ in the Fourier domain
# (`scrapl_edu.filters.morlet_1d`, centre frequencies from `filterbank_params`).

# %%
psi1 = jtfs.filters("psi1")
fig = viz.plot_filterbank(
    psi1, sr=jtfs.sr, title=f"{len(psi1)} first-order Morlet wavelets (Q1={jtfs.Q1})"
)
plt.show()

lp = viz.littlewood_paley(psi1)
xi = jtfs.filter_table("psi1")["xi"]
M = psi1.shape[1]
band = slice(int(np.ceil(xi[len(xi) // 2] * M)), int(xi.max() * M))  # the constant-Q band
print(f"Littlewood-Paley sum on the band: min {lp[band].min():.3f}, max {lp[band].max():.3f}")
assert lp[band].min() > 0.5 * lp[band].max(), "the filterbank leaves a hole in its band"

# %% [markdown]
# ## The scalogram of a chirplet
#
# The classroom synth (Section 4.3) plays an exponential chirp around the carrier, modulated
# in amplitude at $\theta_{AM}$ Hz and sweeping $\theta_{FM}$ octaves per second.

# %%
theta = torch.tensor([[0.5, 0.5]])
am, fm = synth_cfg.theta_to_params(theta)
x = synth(theta, shifts=0)
S1 = jtfs.scalogram(x)[0]
fig = viz.plot_scalogram(S1.numpy(), jtfs, title=f"AM {am.item():.2f} Hz, FM {fm.item():.2f} oct/s")
plt.show()

peak_hz = xi[int(S1.sum(dim=1).argmax())] * jtfs.sr
print(f"strongest first-order filter: {peak_hz:.1f} Hz (carrier {synth_cfg.carrier_hz:g} Hz)")
assert synth_cfg.carrier_hz / 2 <= peak_hz <= 2 * synth_cfg.carrier_hz

# %% [markdown]
# ## Averaging buys time-shift invariance
#
# Shift the chirplet by the synth's largest random shift and compare the scalograms for
# averaging windows $T$ from a few milliseconds to the whole signal.

# %%
shift = synth_cfg.max_shift
x_shift = synth(theta, shifts=shift)
N = synth_cfg.n_samples
Ts = [2**k for k in range(4, int(np.log2(N)) + 1)]
dist = []
for T in Ts:
    jt = JTFS(N, J=4, Q1=jtfs.Q1, T=T, sr=jtfs.sr)
    a, b = jt.scalogram(x)[0], jt.scalogram(x_shift)[0]
    dist.append(float((a - b).norm() / a.norm()))
fig = viz.plot_curves(
    {"‖S1x − S1(shifted x)‖ / ‖S1x‖": (np.array(Ts) / jtfs.sr, np.array(dist))},
    xlabel="averaging window T (s)",
    ylabel="relative distance",
    title=f"a shift of {shift / jtfs.sr:.2f} s",
)
fig.axes[0].set_xscale("log")
plt.show()
print(dict(zip(Ts, np.round(dist, 3))))
assert dist[-1] < 0.1 * dist[0], "averaging over the whole signal should remove the shift"
