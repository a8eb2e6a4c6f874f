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
# # 00 · Start here
#
# **Objectives**
# - find your way through the course: what each notebook teaches, how long it takes and
#   what it builds on;
# - run the notebooks (JupyterLab, fast mode), do the exercises and read the book edition;
# - learn the course's vocabulary, with the paper's symbols (the glossary below);
# - take gradients and Hessian-vector products with PyTorch's autograd (a short primer: the
#   course builds SCRAPL's pieces with them), and compute an error in ‰.
#
# **Prerequisites**: none (Python and NumPy; some signal processing helps; the primer below
# covers the PyTorch the course needs)
#
# **Study time**: about 45 min
#
# **Paper**: Section 1 (Eq. 1-4), Section 3 (Algorithm 1), Section 4

# %% [markdown]
# ## The course in one paragraph
#
# A **scattering transform** $\Phi$ turns a sound $x$ into many small images
# $\phi_p(x)$, one per **path** $p$ (Eq. 1). The distance between two sounds' scattering
# coefficients is a good model of how different they sound, so it is a tempting training
# loss: $\mathcal{L}^\Phi_x(\tilde x) = \frac1P\sum_{p=0}^{P-1} \mathcal{L}^{\phi_p}_x(\tilde x)$
# (Eq. 3). But computing all $P$ paths at every step is expensive. **SCRAPL** computes
# *one* random path per step: cheap and unbiased (Proposition 3.1), but noisy. Three
# techniques tame the noise: **P-Adam** (Eq. 6-8), **P-SAGA** (Eq. 9) and
# **θ-importance sampling** (Eq. 10-12), put together in Algorithm 1. The course builds the
# transform (01-02), turns it into a loss (03), samples its paths (04), adds the three
# techniques one by one (05-07), and trains a sound-matching model with all of it (08).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display

from scrapl_edu.config import fast_mode
from scrapl_edu.curriculum import Header, course_map
from scrapl_edu.sound import audio
from scrapl_edu.synths import exp_chirp_phase, gaussian_window

print("fast mode:", fast_mode())

# %% [markdown]
# ## The course map
#
# The table is read from each notebook's own header (its objectives, prerequisites, study
# time and paper sections), so it cannot drift from the notebooks. The *idea* column is
# written here, one line per notebook.

# %%
IDEAS = {
    "00": "this map, how to work, the glossary, an autograd primer",
    "01": "wavelets tile frequency; what averaging over T buys and what it loses",
    "02": "a second wavelet layer over time and log-frequency: rate, scale, spin, velocity",
    "03": "scattering as a loss, and what a time shift does to each loss's gradient",
    "04": "one random path per step: its cost, Proposition 3.1, importance weights",
    "05": "P-Adam: Adam moments kept per path, and what they change once gradients move",
    "06": "P-SAGA: a memory of every path's last step, what it buys and what it costs",
    "07": "θ-IS: draw paths by curvature (power iteration on HVPs, Eq. 10)",
    "08": "the sound-matching lab, paired seeds, and the capstone: an ablation of your own",
    "09": "the evidence: every measured claim of the course in one place",
    "10": "drums and an adaptive path distribution",
}

entries = course_map()


def cell(text: str) -> str:
    """Text for a markdown table cell (a '|' would split the cell)."""
    return str(text).replace("|", "\\|")


rows = ["| # | notebook | idea | study time | prerequisites | paper |", "|---|---|---|---|---|---|"]
for e in entries:
    if isinstance(e, Header):
        link = f"[{cell(e.title)}]({e.path.stem}.ipynb)"
        rows.append(
            f"| {e.number} | {link} | {cell(IDEAS.get(e.number, '?'))} | {e.study_minutes} min "
            f"| {cell(e.prerequisites)} | {cell(e.paper)} |"
        )
    else:  # a header not in the course format (yet): still on the map
        number = e[0].name[:2]
        rows.append(f"| {number} | `{e[0].stem}` | {cell(IDEAS.get(number, '?'))} | ? | ? | ? |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# The figure lays the notebooks end to end, each as long as its study time, with an arc from
# every prerequisite to the notebook that needs it. A grey bar (drawn 20 min long) is a notebook
# whose header is not in the course format yet.

# %%
fig, ax = plt.subplots(figsize=(12, 2.8))
start, where = 0.0, {}
for e in entries:
    known = isinstance(e, Header)
    number = e.number if known else e[0].name[:2]
    minutes = e.study_minutes if known else 20
    ax.barh(0, minutes, left=start, height=0.5, color="C0" if known else "0.8", edgecolor="w")
    ax.text(start + minutes / 2, 0, number, ha="center", va="center", color="w", weight="bold")
    where[number] = start + minutes / 2
    start += minutes
for e in entries:
    if isinstance(e, Header):
        for pre in e.prerequisite_numbers:
            if pre in where:
                x0, x1 = where[pre], where[e.number]
                t = np.linspace(0, np.pi, 50)
                ax.plot(x0 + (x1 - x0) * (1 - np.cos(t)) / 2, 0.3 + 0.5 * np.sin(t), "C1", lw=1)
ax.set(xlabel="cumulative study time (min)", yticks=[], ylim=(-0.4, 0.9), xlim=(0, start))
known_minutes = sum(e.study_minutes for e in entries if isinstance(e, Header))
ax.set_title(f"the course map: {len(entries)} notebooks, {known_minutes / 60:.1f} h of study")
plt.show()

# %% [markdown]
# Two checks on the map itself: every notebook in the folder has its line here, and
# every prerequisite comes *earlier* in the course (a notebook never builds on a later one).

# %%
numbers = [e.number if isinstance(e, Header) else e[0].name[:2] for e in entries]
assert numbers[0] == "00" and len(numbers) >= 9, numbers
missing = sorted(set(numbers) - set(IDEAS))
assert not missing, f"notebooks without a line on the course map: {missing}"
for e in entries:
    if isinstance(e, Header):
        later = [p for p in e.prerequisite_numbers if p >= e.number]
        assert not later, f"{e.number} lists later notebooks as prerequisites: {later}"
print(f"{len(numbers)} notebooks on the map: {', '.join(numbers)}")

# %% [markdown]
# ## How to work through the course
#
# - **JupyterLab.** `make setup` once, then `.venv/bin/jupyter lab notebooks/`. Every
#   notebook exists twice: `NN_name.py` (the source, plain text, jupytext format) and
#   `NN_name.ipynb` (the same cells, no outputs). Open either; they stay in sync.
# - **Fast mode or classroom mode.** `SCRAPL_EDU_FAST=1 .venv/bin/jupyter lab notebooks/`
#   shrinks every size so that each notebook runs in seconds (this is what the tests run).
#   Without it, in classroom mode, the notebooks show the real thing and some cells take a
#   minute. A few demonstrations are only meaningful at classroom scale and say so.
# - **Run top to bottom.** Every widget runs its default action when it is built, so a
#   notebook run from top to bottom shows everything a click would show. The `assert`
#   cells check the idea of the section: if one fails, the library (or your edit) is wrong.
# - **Exercises.** `make exercises` writes the student edition into `exercises/`: the same
#   notebooks with the answers removed. Each exercise is a cell that says
#   `YOUR CODE HERE` (or `YOUR ANSWER HERE`) and raises `NotImplementedError` until you
#   answer; the locked cell after it checks your answer (it fails until you have one). The
#   notebooks in `notebooks/` are the solutions. Three kinds: *build it* exercises, where
#   you write a piece of SCRAPL (Eq. 1's path, Prop. 3.1's weights, Eq. 6–10, a deflated
#   power step, a variance, a paired interval) and a property test from
#   `scrapl_edu.grading` compares it with the library on many random cases; *predict, then
#   check*, where you record a number before the cell that reveals it (the reveal refuses to
#   run first, and seals your number); and the capstone of notebook 08, graded by hand
#   with a rubric. Points are weighted by difficulty. The markup is nbgrader's: `make
#   grade-check` builds the nbgrader course and grades it (docs/instructor_guide.md).
# - **The book.** `make book` executes the notebooks and writes a read-only HTML edition
#   into `book/` (open `book/index.html`; no kernel, no network needed): for reading, or
#   for a class without Python.
# - **Sound.** Cells that synthesise sounds show a player (▶): listen with headphones;
#   players are normalised to the same peak unless a cell says otherwise.
#
# Here is the sound the course is about: a **chirplet** whose **carrier** glides up at
# 3 octaves per second (**FM**) while its loudness pulses 6 times a second (**AM**).

# %%
sr = 1024  # the classroom sample rate (Hz)
t = torch.arange(-2 * sr, 2 * sr) / sr  # 4 s centred on 0


def chirp(fm_oct_per_s: float, am_hz: float = 0.0, carrier_hz: float = 128.0) -> torch.Tensor:
    """An exponential chirp under a Gaussian window, optionally amplitude-modulated."""
    x = torch.cos(2 * torch.pi * exp_chirp_phase(t, carrier_hz, fm_oct_per_s))
    if am_hz:
        x = x * torch.sin(torch.pi * am_hz * t).abs()
    return x * gaussian_window(t, 0.6)


audio(chirp(3.0, am_hz=6.0), sr)

# %% [markdown]
# ## Glossary: signals and wavelets
#
# A word in **bold** in any notebook is a term of this glossary (*italics* are for
# emphasis). Symbols are the paper's.
#
# - **sample rate** / **sr**: samples per second (Hz). The classroom presets use 1024 Hz,
#   the paper 8192 Hz (Appendix E).
# - **octave**: a doubling of frequency; **oct/s** / **octaves per second** measure how fast a
#   frequency glides.
# - **wavelet** / **wavelets**: a short oscillation under an envelope, a band-pass filter
#   $\psi$. A **filterbank** $(\psi_\lambda)_\lambda$ dilates one mother wavelet by powers of
#   $2^{1/Q}$; the wavelet transform is $Wx = (x * \psi_\lambda)_\lambda$ (Eq. 1).
# - **filterbank**: the set of filters $(\psi_\lambda)_\lambda$ of one layer.
# - **Morlet wavelet** / **Morlet**: a complex sinusoid under a Gaussian envelope, shifted to
#   zero mean; the wavelet of every layer here (as in kymatio).
# - **constant-Q** / **Q**: each filter's bandwidth is proportional to its centre frequency;
#   $Q$ filters per octave ($Q_1$ in the first layer, $Q_2$ in the second, $Q_{fr}$ along
#   frequency).
# - **J**: the number of octaves the filterbank spans (its largest scale is $2^J$ samples).
# - **Littlewood–Paley sum**: $\sum_\lambda |\hat\psi_\lambda(\omega)|^2$. Where it is
#   close to 1 no frequency is lost, and the transform keeps the signal's energy.
# - **modulus**: the complex modulus $|x * \psi_\lambda|$, the envelope of each band.
# - **low-pass filter** / **averaging**: convolution with a Gaussian $\phi_T$ of width
#   $T$ samples (the **averaging scale** / **T**); it makes the result invariant to time
#   shifts up to about $T$ and removes fluctuations faster than $1/T$.
# - **scalogram** / **first order**: $S_1x = |x * \psi_\lambda| * \phi_T$, energy per band
#   and time frame: a constant-Q spectrogram.
# - **shift invariance** / **invariance**: a representation that does not change when the
#   sound is delayed; averaging over $T$ buys it up to shifts of about $T$.
# - **time shift** / **random shift**: the delay the synthesizer adds at random (±0.25 s in
#   the classroom presets, ±46 ms in the drum experiment of Section 4.4).
# - **chirp** / **chirplet**: a tone whose frequency glides exponentially at $\theta_{FM}$
#   octaves per second, under a Gaussian window; the **chirplet synth** of Section 4.3.
# - **carrier**: the chirplet's frequency at its centre, $f_0$ (128 Hz in the classroom).
# - **AM** / **amplitude modulation**: a periodic change of loudness, $|\sin(\pi\,
#   \theta_{AM}\, t)|$, with $\theta_{AM}$ in Hz (Section 4.3).
# - **FM** / **frequency modulation**: the glide of the carrier, $\theta_{FM}$ in oct/s.
# - **MSS** / **multi-scale spectral loss**: the distance between short-time Fourier spectra
#   at several window sizes (Engel et al., 2020): the usual DDSP loss; it compares the two
#   sounds frame by frame (Section 1; notebook 03 measures what a time shift does to it).

# %% [markdown]
# ## Glossary: the scattering transform
#
# - **scattering transform** / **ST**: $\Phi x(p, t, \lambda) = \rho\big(||Wx| \circledast
#   \Psi_p| \circledast \Psi_0\big)(t, \lambda)$ (Eq. 1): wavelets, modulus, wavelets again,
#   modulus, averaging.
# - **JTFS** / **joint time–frequency scattering**: the scattering transform whose second
#   layer $\Psi_p$ filters the scalogram along time *and* log-frequency (Section 4.1).
# - **second order**: the coefficients after the second wavelet layer, one image per path.
# - **temporal** / **temporal scattering**: the second layer's 1-D wavelets $\psi_2$ over
#   time, applied to each band of the scalogram; they measure amplitude modulation.
# - **frequential** / **frequential scattering**: the wavelets $\psi_{fr}$ along the
#   log-frequency axis of the scalogram; they measure patterns across bands.
# - **path** / **paths**: one second-order coefficient $p$ = (rate, scale), a pair of a
#   temporal and a frequential wavelet; $\phi_p(x)$ is its small image (rows × frames).
#   SCRAPL draws paths (Algorithm 1).
# - **P** / **number of paths**: $|\mathcal P|$; 63 in the classroom JTFS, 315 in the paper's.
# - **rate**: the centre frequency of the temporal wavelet $\psi_2$, in Hz: how fast the
#   envelope of a band changes. An AM at $\theta_{AM}$ Hz shows at rate ≈ $\theta_{AM}$.
# - **scale**: the centre frequency of the frequential wavelet $\psi_{fr}$, in cycles per
#   octave, signed by the spin (Section 4.1).
# - **cycles/octave** / **cycles per octave** / **c/o**: the unit of scale: oscillations
#   of the frequential wavelet per octave of the log-frequency axis.
# - **spin**: the sign of the frequential wavelet: +1 (up) or −1 (down), the direction of
#   the pattern across log-frequency it responds to; 0 for the frequential low-pass
#   (notebook 02 measures where a rising and a falling chirp put their energy).
# - **velocity** / **FM velocity**: rate / scale, in octaves per second: the glide speed a
#   path responds to; its sign is the spin's (the paper's Fig. 6 uses |rate / scale|).
# - **path grid**: the paths laid out by rate (Hz) and scale (c/o); notebooks 02 and 07 draw
#   it.
# - **F**: the frequential averaging scale (in bands), the frequential analogue of $T$.
# - **kymatio**: the reference scattering library; this course's JTFS is checked against it.

# %% [markdown]
# ## Glossary: SCRAPL
#
# - **JTFS distance** / **ST distance**: $d_\Phi(x, \tilde x) = \sum_{p,t,\lambda} |\Phi x(p, t,
#   \lambda) - \Phi\tilde x(p, t, \lambda)|^2$ (Eq. 2), how far apart two sounds are.
# - **ST loss** / **JTFS loss** / **full JTFS**: $\mathcal{L}^\Phi_x(\tilde x) =
#   \frac1P\sum_p \mathcal{L}^{\phi_p}_x(\tilde x)$ (Eq. 3), all paths at every step.
# - **per-path loss** / **path loss**: $\mathcal{L}^{\phi_p}_x(\tilde x) = P\,\|\phi_p(x) -
#   \phi_p(\tilde x)\|_2^2$ (Eq. 3); its mean over paths is the ST loss.
# - **SCRAPL**: Scattering transform with Random Paths for machine Learning: one path per step
#   (a stochastic approximation of the full gradient: cheaper, random, with the right mean),
#   with P-Adam, P-SAGA and θ-IS (Algorithm 1).
# - **unbiased** / **unbiased estimator**: an estimator whose expectation is the exact
#   quantity: $\mathbb E_{z\sim\mathcal U_P}\nabla(\mathcal L^{\phi_z}_x\circ F_x)(w) =
#   \nabla(\mathcal L^\Phi_x \circ F_x)(w)$ (Proposition 3.1, Eq. 5).
# - **variance**: the spread of a random gradient around its mean; the price of drawing one
#   path.
# - **Adam**: the optimizer that divides a running mean of gradients $m$ by the root of a
#   running mean of their squares $v$, with $\beta_1, \beta_2, \varepsilon$ (Kingma & Ba).
# - **P-Adam**: Adam with moments $m_p, v_p$ kept per path, decayed by
#   $\beta^{(k-\tau_p)/P}$ and bias-corrected with $1-\beta^{k/P}$ (Eq. 6-8); $\tau_p$ is the
#   step at which path $p$ was last drawn.
# - **SAGA**: stochastic average gradient with acceleration (Defazio et al., 2014).
# - **P-SAGA**: step along $g_{current} - \hat g_p + \frac{1}{\max(1, |\Gamma|)}\sum_{\gamma\in
#   \Gamma}\hat g_\gamma$ (Eq. 9), where $\hat g_p$ is the memory of path $p$'s last P-Adam
#   update and $\Gamma$ the paths visited so far; the memory costs $P\cdot|w|$ numbers.
# - **stale**: a memory entry computed at older weights; steering by it adds bias.
# - **θ-IS** / **θ-importance sampling**: draw path $p$ with probability $\pi_p$ built from
#   the curvature of each path's loss with respect to each synth parameter (Eq. 10-12).
# - **importance sampling**: drawing from a non-uniform distribution; reweighting each draw
#   by $1/(P\pi_p)$ keeps the estimate unbiased, not reweighting biases it towards the
#   favoured paths.
# - **π** / **path distribution**: the categorical distribution of Algorithm 1 over paths;
#   uniform is $\pi_p = 1/P$.
# - **Hessian-vector product** / **HVP**: $\nabla_w(\nabla_w f\cdot v)$, a curvature probe at
#   the cost of about one extra backward pass (Section 3.4).
# - **power iteration**: repeated HVPs that converge to the largest eigenvalue
#   $\lambda_{max}$ of a curvature matrix (Eq. 12).
# - **θ box**: the rectangle of a preset's parameter ranges, $\theta_{AM}$ (Hz) ×
#   $\theta_{FM}$ (oct/s), placed on the path grid by rate ≈ AM and velocity ≈ FM (± one
#   filter bandwidth); θ-IS should put more than the uniform share of $\pi$ inside it
#   (Section 4.3, Fig. 6).

# %% [markdown]
# ## Glossary: the lab
#
# - **DDSP** / **differentiable digital signal processing**: a neural network predicts the
#   parameters of a differentiable synthesizer, trained through the synthesizer's output
#   (Section 3.4).
# - **synthesizer** / **synth**: the decoder $D(\tilde\theta) = \tilde x$; here the chirplet
#   synth (Section 4.3) and the granular synth (Section 4.2).
# - **granular synth** / **granular**: textures of many chirplet grains at random times;
#   parameters density and slope (Section 4.2).
# - **drum synth** / **TR-808**: a differentiable model of the Roland TR-808 drum machine,
#   matched to recorded one-shots (Section 4.4).
# - **encoder**: the network $E_x(w) = \tilde\theta$ that reads a sound and predicts its
#   parameters; $w$ are its weights.
# - **θ** / **synth parameters**: the $U$ parameters of a synth, normalised to $[0, 1]$
#   (log-uniformly for the chirplet's Hz and oct/s).
# - **sound matching**: recovering a sound's synth parameters, here without labels, by
#   comparing the re-synthesised sound with the target.
# - **P-loss** / **parameter loss**: the supervised loss $\|\tilde\theta - \theta\|$ that sees
#   the true parameters: a best case for the encoder (Sections 3.4, 4.2).
# - **θ L1**: the mean $|\tilde\theta - \theta|$ over a test set, in ‰ of the parameter's range
#   (Tables 1-3).
# - **‰** / **per mille**: thousandths: 100 ‰ is an error of a tenth of the range.
# - **seed**: the number that fixes every random draw of a run; comparisons use the same
#   (paired) seeds for each method.
# - **fast mode** / **classroom mode**: `SCRAPL_EDU_FAST=1` shrinks every size so that the
#   tests run in seconds; classroom mode (the default) shows the real effects.
# - **preset**: a named experiment: synth ranges, JTFS settings, encoder and training sizes
#   (`scrapl_edu.presets`).

# %% [markdown]
# ## A short autograd primer
#
# The course differentiates with PyTorch's **autograd**: every tensor operation on a tensor
# that `requires_grad` is recorded, and the chain rule is applied backwards on demand. Three
# uses, in the order the course meets them:
#
# - `loss.backward()` adds $\partial\,\text{loss}/\partial w$ into `w.grad` for every leaf
#   `w` (what an optimizer reads; notebooks 05, 06, 08);
# - `torch.autograd.grad(loss, w)` returns the gradient instead of accumulating it
#   (the per-path gradients of notebook 04, the curvature of notebook 07);
# - a **Hessian-vector product** $Hv$ without forming $H$: take the gradient with
#   `create_graph=True`, so that the gradient is itself differentiable, then differentiate
#   $\nabla f(w)^\top v$ once more (notebook 07's power iteration, Eq. 12).

# %%
w = torch.tensor([1.0, -2.0], requires_grad=True)
f = (w**3).sum()  # f(w) = w1³ + w2³: ∇f = 3w², H = diag(6w)
f.backward()
print("backward():", w.grad)
(g,) = torch.autograd.grad((w**3).sum(), w, create_graph=True)
v = torch.tensor([1.0, 1.0])
(Hv,) = torch.autograd.grad(g @ v, w)
print("autograd.grad:", g.detach(), "| Hessian-vector product H v:", Hv)
assert torch.allclose(w.grad, 3 * w.detach() ** 2) and torch.allclose(Hv, 6 * w.detach() * v)

# %% [markdown]
# **Exercise 1.** Write `gradient(f, w)`: the gradient of the scalar function `f` at `w`
# (a 1-D tensor), with `torch.autograd.grad`, leaving `w` and its `.grad` untouched. The
# graded cell tries quadratic functions $f(w) = \tfrac12 w^\top A w + b^\top w$ of random
# sizes, whose gradient is $\tfrac12(A + A^\top)w + b$.


# %% nbgrader={"grade": false, "grade_id": "ex_00_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient(f, w):
    """∇f(w) for a scalar function f of a 1-D tensor w, by autograd."""
    ### BEGIN SOLUTION
    w = w.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(w), w)
    return g
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_00_1_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
gen = torch.Generator().manual_seed(0)
for n in (1, 3, 8):
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    b = torch.randn(n, generator=gen, dtype=torch.float64)
    w0 = torch.randn(n, generator=gen, dtype=torch.float64)
    got = gradient(lambda x, A=A, b=b: 0.5 * x @ A @ x + b @ x, w0)
    assert torch.allclose(got, 0.5 * (A + A.T) @ w0 + b) and w0.grad is None

# %% [markdown]
# **Exercise 2.** Write `hvp(f, w, v)`: the Hessian-vector product $\nabla^2 f(w)\,v$ by
# double backward (a gradient with `create_graph=True`, then the gradient of its dot product
# with `v`), never forming the Hessian. The graded cell compares with the Hessian that
# `torch.autograd.functional.hessian` forms, on a non-quadratic function.


# %% nbgrader={"grade": false, "grade_id": "ex_00_3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def hvp(f, w, v):
    """∇²f(w) v by double backward."""
    ### BEGIN SOLUTION
    w = w.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(w), w, create_graph=True)
    (Hv,) = torch.autograd.grad(g @ v, w)
    return Hv
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ex_00_3_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def soft(x):
    return torch.log(torch.exp(x).sum()) + (x**4).sum() / 4


for n in (2, 5):
    w0 = torch.randn(n, generator=gen, dtype=torch.float64)
    v0 = torch.randn(n, generator=gen, dtype=torch.float64)
    H = torch.autograd.functional.hessian(soft, w0)
    assert torch.allclose(hvp(soft, w0, v0), H @ v0)

# %% [markdown]
# ## Exercise 3: an error in ‰
#
# The lab reports the encoder's error as θ L1 in ‰ of each parameter's normalised range. The
# chirplet's parameters are normalised log-uniformly: a value $v$ in $[lo, hi]$ becomes
# $\theta = \log(v/lo) / \log(hi/lo)$. Write `theta01(value, low, high)` and
# `l1_permille(theta_hat, theta)` (the mean absolute error times 1000).


# %% nbgrader={"grade": false, "grade_id": "ex_00_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def theta01(value, low: float, high: float):
    """Log-uniform normalisation of ``value`` in [low, high] to [0, 1]."""
    ### BEGIN SOLUTION
    return np.log(np.asarray(value, dtype=float) / low) / np.log(high / low)
    ### END SOLUTION


def l1_permille(theta_hat, theta) -> float:
    """Mean |theta_hat - theta| in per mille."""
    ### BEGIN SOLUTION
    return float(np.mean(np.abs(np.asarray(theta_hat) - np.asarray(theta))) * 1000.0)
    ### END SOLUTION


# %% [markdown]
# The check uses the classroom AM range, 2.8-8.4 Hz: the ends map to 0 and 1, the geometric
# mean to ½, and a prediction off by a factor $(8.4/2.8)^{0.1}$ is off by exactly 100 ‰,
# whatever the true value.

# %% nbgrader={"grade": true, "grade_id": "ex_00_2_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
lo, hi = 2.8, 8.4
assert np.allclose(theta01([lo, hi, np.sqrt(lo * hi)], lo, hi), [0.0, 1.0, 0.5])
true_hz = np.array([3.0, 4.0, 5.0])
assert (
    abs(l1_permille(theta01(true_hz * (hi / lo) ** 0.1, lo, hi), theta01(true_hz, lo, hi)) - 100)
    < 1e-9
)
print(f"4 Hz predicted as 5 Hz: {l1_permille(theta01(5.0, lo, hi), theta01(4.0, lo, hi)):.0f} ‰")

# %% [markdown]
# ## Recap
#
# - Every notebook opens with objectives, prerequisites and a study time, checks its idea with
#   asserts, has exercises and ends with a recap; the course map is read from those headers.
# - Fast mode (`SCRAPL_EDU_FAST=1`) for quick runs, classroom mode for the real effects;
#   `make exercises` for the student edition, `make book` for the read-only edition.
# - Autograd gives gradients (`backward`, `autograd.grad`) and, by double backward,
#   Hessian-vector products without the Hessian: the tools of notebooks 04–07.
# - Errors are θ L1 in ‰ of the normalised parameter range.
#
# **Next**: [01 · Wavelets and the scalogram](01_wavelets_and_scalogram.ipynb)
#
# **References**: Section 1 (Eq. 1-4), Section 3 (Eq. 5-12, Algorithm 1), Section 4.1 (JTFS:
# rates in Hz, scales in cycles per octave), Section 4.3 (the chirplet synth), Appendix C
# (Fig. 6).
