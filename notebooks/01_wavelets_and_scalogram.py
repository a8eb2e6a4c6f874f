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
# # 01 · Wavelets and the scalogram
#
# **Objectives**
# - build a bank of Morlet wavelets and check with its Littlewood–Paley sum that it loses no
#   frequency in its band;
# - read the scalogram of a chirplet (the synth of the course) and hear it;
# - measure how averaging over a window $T$ buys invariance to time shifts;
# - measure what the same averaging does to the amplitude modulation of a tone and of a
#   chirp, after predicting it: the reason for a second order (notebook 02).
#
# **Prerequisites**: 00 (the course and its glossary); the Fourier transform and convolution
# **Study time**: about 40 min
# **Paper**: Section 1 (Eq. 1, the scattering transform), Section 4.1 (JTFS), Section 4.3
# (chirplet synth)

# %% [markdown]
# **Idea.** The first layer of every **scattering transform** is a **wavelet** transform $W$
# followed by a complex **modulus**, $|Wx|$ (the inner part of the paper's Eq. 1). A bank of
# Morlet wavelets tiles the frequency axis with **constant-Q** band-pass filters; their
# **Littlewood–Paley sum** $\sum_\lambda |\hat\psi_\lambda(\omega)|^2$ shows that no frequency
# is lost. Averaging $|x * \psi_\lambda|$ over a window $T$ gives the **scalogram**
# $S_1x = |x * \psi_\lambda| * \phi_T$, which becomes invariant to time shifts up to $T$:
# exactly what a loss needs when the synthesizer shifts its sound at random (Section 4).
#
# `SCRAPL_EDU_FAST=1` shrinks every size (CI); the default is the classroom scale.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from scrapl_edu import JTFS, grading, lessons, viz
from scrapl_edu.config import fast_mode
from scrapl_edu.lab import make_config
from scrapl_edu.sound import audio, players

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
# **Exercise 1.** Write the Littlewood–Paley sum of a filterbank given as an array
# `psi_hat` of shape (n_filters, n_frequencies): the sum over filters of $|\hat\psi|^2$ at
# each frequency. The graded cell compares with `viz.littlewood_paley`.


# %% nbgrader={"grade": false, "grade_id": "ex_01_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def littlewood_paley_sum(psi_hat):
    """Sum over filters of |psi_hat|^2, one value per frequency."""
    ### BEGIN SOLUTION
    return (np.abs(psi_hat) ** 2).sum(axis=0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_01_1_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert np.allclose(littlewood_paley_sum(psi1), viz.littlewood_paley(psi1), rtol=1e-10)
assert littlewood_paley_sum(psi1).shape == (psi1.shape[1],)

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
display(audio(x[0, 0], int(synth_cfg.sr)))

# %% [markdown]
# **Exercise 2.** The filters' centre frequencies in Hz are `xi * jtfs.sr`. Write a function
# that returns the index of the filter nearest a frequency `f_hz`, nearest *in octaves*
# (the filters are spaced evenly in log-frequency).


# %% nbgrader={"grade": false, "grade_id": "ex_01_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def nearest_filter(centres_hz, f_hz):
    """Index of the centre frequency nearest f_hz on a log2 scale."""
    ### BEGIN SOLUTION
    return int(np.argmin(np.abs(np.log2(np.asarray(centres_hz) / f_hz))))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_01_2_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
centres = xi * jtfs.sr
assert nearest_filter(centres, peak_hz) == int(np.argmin(np.abs(centres - peak_hz)))
k = nearest_filter(centres, synth_cfg.carrier_hz)
assert abs(np.log2(centres[k] / synth_cfg.carrier_hz)) <= 0.5 / jtfs.Q1 + 1e-9
assert nearest_filter([10.0, 20.0], 14.5) == 1  # 14.5 Hz is nearer 20 than 10 in octaves

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

# %% [markdown]
# ## What averaging destroys: the AM
#
# The same window that removes a shift removes anything that changes faster than about
# $1/T$. Take a steady tone at the carrier, with and without an **AM** at the classroom
# chirplet's θ_AM, and look at the envelope $|x*\psi_\lambda|$ in the carrier's band, raw
# and averaged ($*\phi_T$). Listen first.

# %%
N, sr = synth_cfg.n_samples, synth_cfg.sr
t = torch.arange(N, dtype=torch.float32) / sr
plain = torch.sin(2 * np.pi * synth_cfg.carrier_hz * t) * torch.hann_window(N, periodic=False)
with_am = (1 + 0.8 * torch.sin(2 * np.pi * am.item() * t)) * plain
display(players({"tone": plain, f"tone with AM at {am.item():.2f} Hz": with_am}, int(sr)))
mid = slice(N // 4, 3 * N // 4)  # away from the window's edges
env = {
    (name, avg): lessons.first_order_envelope(sig, jtfs, synth_cfg.carrier_hz, averaged=avg)
    for name, sig in (("tone", plain), ("tone with AM", with_am))
    for avg in (False, True)
}
fig, axes = plt.subplots(1, 2, figsize=(12, 3), sharey=True)
for ax, avg in zip(axes, (False, True)):
    for name in ("tone", "tone with AM"):
        ax.plot(t.numpy(), env[(name, avg)], lw=1, label=name)
    ax.set(xlabel="time (s)", title="averaged over T" if avg else "raw |x * ψ|")
    ax.legend(fontsize=8)
plt.show()
gap = {
    avg: float(
        np.linalg.norm((env[("tone with AM", avg)] - env[("tone", avg)])[mid])
        / np.linalg.norm(env[("tone", avg)][mid])
    )
    for avg in (False, True)
}
print(
    f"AM vs no AM, relative difference of the envelope: raw {gap[False]:.3f}, "
    f"averaged {gap[True]:.3f}"
)
assert gap[False] > 0.2 and gap[True] < 0.05, "averaging over T should erase the AM"

# %% [markdown]
# The averaged envelopes of the two tones nearly coincide: the scalogram cannot tell them
# apart. A second layer of wavelets applied to the raw envelope $|x*\psi_\lambda|$ before
# averaging (**temporal scattering**, at a rate in Hz) recovers the AM: that is the
# second order of notebook 02.
#
# A chirp is different, because its frequency moves. While the chirplet sweeps $\theta_{FM}$
# octaves per second, its AM bumps land on different *frequencies*: averaged over time,
# they leave a ripple along log-frequency, with $\theta_{AM}/\theta_{FM}$ bumps per octave.
#
# **Exercise 3 (predict, then check).** Before running the next cell: by how much will the
# averaged scalograms of the chirplet with its AM and of the same chirplet without AM
# (`lessons.chirplet_without_am`) differ? Record the relative difference
# $\|S_1 - S_1^{\text{no AM}}\|/\|S_1^{\text{no AM}}\|$ as a number (0.05 is 5%; the
# tones' above: `gap[True]`). It is graded within ±0.15 of the classroom-mode value (fast
# mode prints its own) and sealed when the next cell shows the answer.

# %% nbgrader={"grade": false, "grade_id": "ex_01_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
grading.predict("01_chirp_gap", 0.33)
### END SOLUTION

# %%
grading.reveal("01_chirp_gap")
x_no_am = lessons.chirplet_without_am(synth_cfg, theta)
S1_no_am = jtfs.scalogram(x_no_am)[0]
chirp_gap = float((S1 - S1_no_am).norm() / S1_no_am.norm())
octaves = np.log2(xi * jtfs.sr / synth_cfg.carrier_hz)
plt.figure(figsize=(8, 3))
plt.plot(octaves, S1.sum(dim=1).numpy(), label=f"with AM ({am.item():.2f} Hz)")
plt.plot(octaves, S1_no_am.sum(dim=1).numpy(), label="without AM")
plt.xlabel("octaves from the carrier")
plt.ylabel("S1 summed over time")
plt.title(f"the chirplet's AM, averaged: {am.item() / fm.item():.1f} bumps per octave")
plt.legend(fontsize=8)
plt.show()
print(
    f"averaged scalograms, with vs without AM: relative difference {chirp_gap:.2f} "
    f"(the tones': {gap[True]:.3f})"
)
assert chirp_gap > 0.1 > gap[True]
classroom_gap = lessons.committed_results("curriculum/predictions_classroom.json")["01_chirp_gap"]
if fast_mode():
    print(f"fast mode: {chirp_gap:.2f} at the fast sizes; graded against the classroom chirplet's")
else:
    assert abs(chirp_gap - classroom_gap) < 1e-3  # the committed classroom value

# %% nbgrader={"grade": true, "grade_id": "ex_01_3_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert grading.check_prediction("01_chirp_gap", classroom_gap)

# %% [markdown]
# ## Recap
#
# - A Morlet filterbank tiles frequency in constant-Q bands; its Littlewood–Paley sum shows
#   no hole in the band.
# - The scalogram $|x*\psi_\lambda|*\phi_T$ of the chirplet follows its sweep; averaging over
#   $T$ makes it invariant to shifts much smaller than $T$.
# - The same averaging erases the AM of a steady tone; a chirp's AM survives only as a ripple
#   along log-frequency ($\theta_{AM}/\theta_{FM}$ per octave). The second order of notebook 02
#   measures both: rates in Hz, scales in cycles per octave.
#
# **Previous**: [00 · Start here](00_start_here.ipynb) · **Next**: [02 · Joint time–frequency scattering](02_joint_time_frequency_scattering.ipynb)
#
# **References**: Section 1 (Eq. 1); Section 4.1 (JTFS; Andén et al., 2019); Section 4.3
# (the chirplet synth, Table 11); Mallat (2012) for scattering.
