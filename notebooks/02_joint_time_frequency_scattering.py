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
# # 2 · Joint time–frequency scattering from scratch
#
# **Idea.** JTFS (Section 4.1) filters the scalogram $|x * \psi_\lambda|$ a second time with a
# 2-D wavelet $\Psi_p$: a **temporal** wavelet of rate $\xi_2$ (Hz) and a **frequential**
# wavelet of scale $\xi_{fr}$ (cycles per octave) along log-frequency, whose sign (the
# *spin*) tells a rising from a falling pattern. After a modulus and averaging, each path
# $p=(\text{rate},\text{scale},\text{spin})$ gives one small image $\phi_p(x)$ (Eq. 1).
# SCRAPL's path set is this rate × scale grid; the paper's Fig. 6 draws it.

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from scrapl_edu import JTFS, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import make_config
from scrapl_edu.widgets import PathExplorer

cfg = make_config("classroom", fast=fast_mode())
synth_cfg = cfg.synth_config()
jtfs = JTFS(**cfg.jtfs_kwargs())
print(jtfs.extra_repr())

# %% [markdown]
# ## The two wavelet families
#
# Second-order temporal wavelets $\psi_2$ (rates in Hz), and frequential wavelets
# $\psi_{fr}$ along the log-frequency axis (one low-pass, $K$ spin-up and $K$ spin-down).

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 3.5))
viz.plot_filterbank(
    jtfs.filters("psi2"), sr=jtfs.sr, ax=axes[0], title="temporal ψ2 (rates)", lp=False
)
psi_fr = jtfs.filters("psi_fr")
n = np.fft.fftfreq(psi_fr.shape[1]) * jtfs.Q1  # cycles per octave
order = np.argsort(n)
for row, spin in zip(psi_fr, jtfs.spins):
    axes[1].plot(n[order], np.abs(row)[order], ls="-" if spin >= 0 else "--")
axes[1].set(xlabel="scale (cycles/octave); negative = spin down", title="frequential ψ_fr")
plt.show()

# %% [markdown]
# ## Every path of an AM/FM chirplet
#
# Energy of each path on the rate × scale grid (hover for the path in JupyterLab; a static
# image is embedded for viewers without JavaScript).

# %%
theta = torch.tensor([[0.5, 0.5]])
am, fm = synth_cfg.theta_to_params(theta)
x = synth_cfg.build()(theta, shifts=0)
with torch.no_grad():
    coefs = jtfs(x)[0].numpy()
energy = (coefs**2).sum(axis=(1, 2))
title = f"path energy, AM {am.item():.2f} Hz / FM {fm.item():.2f} oct/s"
fallback = viz.plot_path_grid(jtfs, np.log10(energy + 1e-30), title=title, label="log10 energy")
viz.show_plotly(
    viz.plotly_path_grid(jtfs, np.log10(energy + 1e-30), title, "log10 energy"), fallback
)

# %% [markdown]
# ## Path explorer
#
# Pick a path: its coefficients $\phi_p(x)$ (rows: log-frequency after averaging, columns:
# time) and its cell on the grid. It opens on the strongest path.

# %%
explorer = PathExplorer(jtfs, coefs)
display(explorer)

# %%
best = jtfs.paths[explorer.index]
print(explorer.describe(explorer.index).replace("<b>", "").replace("</b>", ""))
assert explorer.index == int(np.argmax(energy))
assert 0 < energy[explorer.index] / energy.sum() <= 1

# %% [markdown]
# ## Agreement with kymatio
#
# `data/reference/jtfs_a.npz` holds coefficients computed by the JTFS the paper used
# (kymatio 0.4.0.dev0, vendored in `scrapl-loss`). Our from-scratch JTFS must match it.

# %%
ref_file = next(
    p / "data/reference/jtfs_a.npz"
    for p in [Path.cwd(), *Path.cwd().parents]
    if (p / "data/reference/jtfs_a.npz").exists()
)
with np.load(ref_file) as z:
    ref = {k: z[k] for k in z.files}
kw = json.loads(str(ref["config_json"]))["kwargs"]
ours = JTFS(**kw)
with torch.no_grad():
    mine = ours(torch.tensor(ref["x"], dtype=torch.float64)).numpy()
err = np.abs(mine - ref["coef"]).max() / np.abs(ref["coef"]).max()
print(f"config {kw}: {ours.n_paths} paths, max relative difference {err:.2e}")
assert err < 1e-5
