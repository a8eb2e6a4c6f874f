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
# # 02 · Joint time–frequency scattering
#
# **Objectives**
# - build the two wavelet families of the second order: temporal (rates in Hz) and
#   frequential (scales in cycles per octave, with a spin);
# - read the path grid of the paper's Fig. 6: a path's rate is an AM rate, its rate / scale
#   an FM velocity in octaves per second, its spin the direction of the sweep;
# - find where a chirplet's AM and FM land on the grid, and when the AM does not show;
# - check our JTFS against the one the paper used (kymatio).
#
# **Prerequisites**: 01 (wavelets, scalogram, what averaging destroys)
# **Study time**: about 65 min
# **Paper**: Section 4.1 (JTFS, Eq. 1), Section 4.3, Appendix C (Fig. 6)

# %% [markdown]
# **Idea.** **JTFS** (Section 4.1) filters the scalogram $|x * \psi_\lambda|$ a second time
# with a 2-D wavelet $\Psi_p$: a **temporal** wavelet of **rate** $\xi_2$ (Hz) and a
# **frequential** wavelet of **scale** $\xi_{fr}$ (**cycles/octave**) along log-frequency,
# whose sign (the **spin**) tells a rising from a falling pattern. After a modulus and
# averaging, each **path** $p=(\text{rate},\text{scale},\text{spin})$ gives one small image
# $\phi_p(x)$ (Eq. 1). SCRAPL's path set is this rate × scale grid, the **path grid**.

# %%
import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from scrapl_edu import JTFS, grading, lessons, viz
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

# %% [markdown]
# ## One path, built from the first order
#
# A path is three steps on the first order $U_1 = |x * \psi_1|$ (rows: log-frequency $n_1$,
# columns: time), Eq. (1) read one path at a time:
#
# 1. a temporal convolution of every row with the second-order wavelet $\psi_2$ (the rate):
#    $Y_2 = U_1 *_t \psi_2$;
# 2. a convolution along log-frequency, column by column, with the frequential wavelet
#    $\psi_{fr}$ (the scale and spin), after zero-padding the $n_1$ rows to $F$:
#    $Z = Y_2 *_{fr} \psi_{fr}$;
# 3. the modulus, then averaging in time by $\phi_T$ and, for a spinning path, along
#    log-frequency by $\phi_F$: $S_p = |Z| *_t \phi_T\,[*_{fr}\,\phi_F]$.
#
# `JTFS.path` computes this with subsampling and padding (fast, and equal to kymatio's);
# the definition, without them, fits in a few lines of FFTs.
#
# **Exercise 1 (build it: one path's second-order coefficients, 4 points).** Write
# `second_order(U1, psi2_f, psi_fr_f, phi_t_f, phi_f_f)`: `U1` is (n1, N) real; `psi2_f`
# and `phi_t_f` (N,) are filters in the Fourier domain along time; `psi_fr_f` (F,) and
# `phi_f_f` (F,) along log-frequency, with F ≥ n1; `phi_f_f` is `None` for a spin-0 path.
# Every convolution is circular, through `torch.fft` (`fft(..., n=F, dim=0)` zero-pads the
# rows). Return the (F, N) real path. The graded cell runs `grading.check_second_order`
# (random sizes and filters, against the library's `jtfs.second_order_path`).


# %% nbgrader={"grade": false, "grade_id": "ex_02_4", "locked": false, "schema_version": 3, "solution": true, "task": false}
def second_order(U1, psi2_f, psi_fr_f, phi_t_f, phi_f_f):
    """One JTFS path |(U1 *_t psi2) *_fr psi_fr| *_t phi_T [*_fr phi_F], dense (Eq. 1)."""
    ### BEGIN SOLUTION
    F = psi_fr_f.shape[0]
    Y2 = torch.fft.ifft(torch.fft.fft(U1, dim=1) * psi2_f, dim=1)  # rows: rate
    Z = torch.fft.ifft(torch.fft.fft(Y2, n=F, dim=0) * psi_fr_f[:, None], dim=0)  # scale, spin
    S = torch.fft.ifft(torch.fft.fft(Z.abs(), dim=1) * phi_t_f, dim=1).real  # average in time
    if phi_f_f is not None:  # a spinning path is also averaged along log-frequency
        S = torch.fft.ifft(torch.fft.fft(S, dim=0) * phi_f_f[:, None], dim=0).real
    return S
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_02_4_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
assert grading.check_second_order(second_order)

# %% [markdown]
# The raw energy piles up at the lowest rates (the slow envelope of the whole burst), so the
# strongest path says little about θ. The grid is read differently.
#
# ## Reading the grid: rate = AM, rate / scale = FM velocity (Fig. 6)
#
# A chirp rising at $v$ octaves per second draws a line of slope $v$ in the scalogram
# (time × log-frequency). A 2-D wavelet that oscillates at $r$ Hz along time and $s$ cycles
# per octave along log-frequency matches a line on which $r$ cycles per second meet $s$
# cycles per octave: a slope of $r/s$ octaves per second. That is a path's **velocity**.
# Fig. 6 of the paper plots every path at (rate in Hz, |rate / scale| in oct/s): the axes of
# the synth's $\theta_{AM}$ and $\theta_{FM}$, where each preset's **θ box** is drawn.
#
# **Exercise 2.** Write the velocity of a path from its rate (Hz) and its signed scale
# (cycles/octave), keeping the sign (the glossary's convention: positive for a rising glide,
# negative for a falling one; Fig. 6 plots its magnitude). The spin-0 paths (scale 0)
# follow no glide: return `nan` for them.


# %% nbgrader={"grade": false, "grade_id": "ex_02_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def velocity(rate_hz, scale_cpo):
    """Signed FM velocity (octaves per second) matched by a path; nan for scale 0."""
    ### BEGIN SOLUTION
    return float("nan") if scale_cpo == 0 else rate_hz / scale_cpo
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_02_1_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert velocity(5.6, 1.4) == 4.0 and velocity(2.8, -0.35) == -8.0
assert np.isnan(velocity(0.7, 0.0))
assert velocity(11.2, 2.8) == -velocity(11.2, -2.8)

# %% [markdown]
# The pure-FM chirp (the same chirplet without its AM, `lessons.chirplet_without_am`) for
# five values of θ_FM: the velocity of its strongest spinning path must match θ_FM within
# the grid's resolution (velocities are one octave apart, so within half an octave).

# %%
spinning = [k for k, p in enumerate(jtfs.paths) if p.spin != 0]
v_path = np.array([velocity(jtfs.paths[k].rate_hz, jtfs.paths[k].scale_cpo) for k in spinning])
read = {}
for theta_fm in np.linspace(0, 1, 5):
    th = torch.tensor([[0.5, theta_fm]])
    with torch.no_grad():
        e = jtfs(lessons.chirplet_without_am(synth_cfg, th))[0].pow(2).sum(dim=(1, 2))
    read[synth_cfg.theta_to_params(th)[1].item()] = float(v_path[int(e[spinning].argmax())])
print({f"{k:.2f} oct/s": f"{v:.2f}" for k, v in read.items()})
assert all(v > 0 and abs(np.log2(v / fm_)) <= 0.5 + 1e-6 for fm_, v in read.items())

# %% [markdown]
# ## Spin: the direction of the sweep
#
# **Exercise 3 (predict, then check).** Play the chirplet backwards (a falling chirp).
# Before running the next cell: what share of its *spinning* energy (spin up and spin down
# together) will be in the spin-up paths? Record a number between 0 and 1; it is graded
# within ±0.2 of the classroom-mode value (fast mode prints its own) and sealed when the
# next cell shows the answer.

# %% nbgrader={"grade": false, "grade_id": "ex_02_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
grading.predict("02_falling_up_share", 0.2)
### END SOLUTION

# %%
grading.reveal("02_falling_up_share")
share = {}
for name, sig in (("rising", x), ("falling", torch.flip(x, dims=[-1]))):
    with torch.no_grad():
        e = jtfs(sig)[0].pow(2).sum(dim=(1, 2)).numpy()
    up = sum(e[k] for k, p in enumerate(jtfs.paths) if p.spin > 0)
    down = sum(e[k] for k, p in enumerate(jtfs.paths) if p.spin < 0)
    share[name] = up / down
print({k: f"spin up / spin down = {v:.2f}" for k, v in share.items()})
falling_up_share = share["falling"] / (1 + share["falling"])
print(f"falling chirp: {falling_up_share:.2f} of the spinning energy in spin up")
assert share["rising"] > 2 and share["falling"] < 0.5
classroom_share = lessons.committed_results("curriculum/predictions_classroom.json")[
    "02_falling_up_share"
]
if fast_mode():
    print(
        f"fast mode: {falling_up_share:.2f} at the fast sizes; graded against the classroom value"
    )
else:
    assert abs(falling_up_share - classroom_share) < 1e-3  # the committed classroom value

# %% nbgrader={"grade": true, "grade_id": "ex_02_2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_prediction("02_falling_up_share", classroom_share)

# %% [markdown]
# ## Where does the AM land?
#
# The raw energy hides the AM under the burst's slow envelope, so compare with a control:
# the energy of each path for the chirplet minus that for the *same chirplet without AM*.
# On the spin-0 paths (the frequential low-pass, which integrates over log-frequency so that
# the sweep does not matter) the excess should peak at the rate nearest θ_AM, if the AM is a
# modulation the second order can see: the chirplet must last a few AM periods. The
# classroom chirplet has a Gaussian window of $\sigma = 0.1 \cdot 2/\theta_{FM}$ s, about
# one AM period: $B = 2$ octaves is the paper's bandwidth (Table 11), while the factor
# `sigma0 = 0.1` is this library's choice (`synths.ChirpletConfig`), which Table 11 does not
# give. We measure on a grid of
# 5 × 3 values of θ how often the excess peaks within an octave of θ_AM, for the paper's
# window and for a window three times longer (`sigma0=0.3`).
#
# **Exercise 4.** Given the path energies with AM (`e`) and without (`e0`) and the JTFS,
# return the rate (Hz) of the spin-0 path with the largest excess. The graded cell compares
# with `lessons.am_excess_peak`.


# %% nbgrader={"grade": false, "grade_id": "ex_02_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def excess_peak_rate(e, e0, jtfs):
    """Rate (Hz) of the spin-0 path where e - e0 is largest."""
    ### BEGIN SOLUTION
    low = [k for k, p in enumerate(jtfs.paths) if p.spin == 0]
    k = low[int(np.argmax(np.asarray(e)[low] - np.asarray(e0)[low]))]
    return jtfs.paths[k].rate_hz
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_02_3_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
long_cfg = dataclasses.replace(synth_cfg, sigma0=0.3)
_, want, _ = lessons.am_excess_peak(long_cfg, jtfs, [0.5, 0.5])
with torch.no_grad():
    e_am = jtfs(long_cfg.build()(theta, shifts=0))[0].pow(2).sum(dim=(1, 2)).numpy()
    e_no = jtfs(lessons.chirplet_without_am(long_cfg, theta))[0].pow(2).sum(dim=(1, 2)).numpy()
assert excess_peak_rate(e_am, e_no, jtfs) == want

# %%
grid = [(a, f) for a in np.linspace(0, 1, 5) for f in (0.0, 0.5, 1.0)]
shown, example = {}, {}
for sigma0 in (synth_cfg.sigma0, 0.3):
    cfg_w = dataclasses.replace(synth_cfg, sigma0=sigma0)
    found = [lessons.am_excess_peak(cfg_w, jtfs, th) for th in grid]
    shown[sigma0] = sum(abs(np.log2(peak / am_hz)) < 1 for am_hz, peak, _ in found)
    example[sigma0] = found[7]  # θ = (0.5, 0.5)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, (sigma0, (am_hz, peak, excess)) in zip(axes, example.items()):
    title = f"sigma0 = {sigma0}: AM {am_hz:.2f} Hz, excess peaks at {peak:.1f} Hz (spin 0)"
    viz.plot_path_grid(jtfs, excess / np.abs(excess).max(), ax=ax, title=title, label="excess")
plt.show()
print(f"AM visible within an octave of θ_AM, out of {len(grid)}:", shown)
assert shown[0.3] > shown[synth_cfg.sigma0], "a longer chirplet shows its AM more often"
CLASSROOM_SHOWN = {0.1: 2, 0.3: 13}  # classroom mode, measured (this cell's numbers)
if fast_mode():
    print(
        "fast mode: the 7-octave JTFS resolves the AM less often; in classroom mode the same "
        f"grid shows it {CLASSROOM_SHOWN[0.1]}/{len(grid)} times with the library's window and "
        f"{CLASSROOM_SHOWN[0.3]}/{len(grid)} with a window three times longer"
    )
else:
    assert {k: shown[k] for k in CLASSROOM_SHOWN} == CLASSROOM_SHOWN

# %% [markdown]
# Measured, not assumed: in classroom mode, with the library's window the AM of the
# classroom chirplet rarely shows at its own rate (2 of 15; its burst is about one AM period
# long), and with a window three times longer it mostly does (13 of 15). Fast mode's 7-octave
# JTFS resolves it less often (0 and 5 of 15), as its output says.
# This is one reason θ_AM is the harder parameter in the lab (notebook 08): its imprint on
# the paths is a reshaped burst more than a modulation.

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

# %% [markdown]
# ## Recap
#
# - The second order filters the scalogram along time (rates, Hz) and log-frequency
#   (scales, cycles/octave, signed by the spin); each (rate, scale, spin) is a path.
# - Fig. 6 reads a path as an AM rate (its rate) and an FM velocity (rate / |scale|, oct/s);
#   the strongest spinning path of a pure-FM chirp sits at θ_FM within half an octave.
# - The spin flips when the sweep is reversed.
# - A chirplet's AM shows at its rate only if the chirplet lasts a few AM periods: rarely
#   with the library's window, mostly with a window three times longer (classroom mode).
# - Our JTFS matches kymatio's (the paper's) to 1e-5.
#
# **Previous**: [01 · Wavelets and the scalogram](01_wavelets_and_scalogram.ipynb) · **Next**: [03 · JTFS as a loss](03_jtfs_as_a_loss.ipynb)
#
# **References**: Section 4.1 (JTFS; Andén et al., 2019; Muradeli et al., 2022); Eq. (1);
# Section 4.3 and Table 11 (the chirplet); Appendix C, Fig. 6 (rate × velocity).
