"""Measurements behind the curriculum's demonstrations (notebooks 1-7), where tests reach them.

The centre piece is :func:`paired_runs`: several SCRAPL fits of the toy problem
(:mod:`scrapl_edu.toy`, w = logit θ) run side by side, one per optimizer *arm* (Adam or
P-Adam, with or without P-SAGA) and *seed*. Within a seed every arm sees the same target,
the same initial θ, the same path draws and the same random shifts, so arms can be compared
seed by seed (paired differences, as the paper's Table 6). Unlike a frozen gradient table,
the gradients here move as θ moves, which is where P-Adam and P-SAGA differ from Adam.

What a run records (Algorithm 1, batch of one sound):

* every step k: the applied direction d_k = (w_{k-1} − w_k) / α, the drawn path's gradient
  G_{p_k}(w_{k-1}) and the cosine between them;
* at probe steps: the full gradient g_k = ∇L^Φ(w_{k-1}) (Eq. 3, 13) on the same render,
  and cos(d_k, g_k);
* at table probes: the whole table G_p(w_{k-1}) for every path, and from it, without moving
  the run, the direction d_p the optimizer *would* apply for each path p, with its P-SAGA
  table and with the table switched off (:func:`scrapl_edu.diagnostics.optimizer_directions`):
  their variance over the path draw, their mean, and how far each table entry ĝ_p lags the
  path's current P-Adam direction;
* the full loss L^Φ at the start and at the end, averaged over a fixed set of shifts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from scrapl_edu import toy
from scrapl_edu.diagnostics import applied_directions, cosine_similarity, direction_variance
from scrapl_edu.lab.paired import paired_difference
from scrapl_edu.losses import JTFSLoss, path_distance
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler
from scrapl_edu.synths.common import exp_chirp_phase, gaussian_window, normalize_rms

__all__ = [
    "committed_results",
    "moving_model_numbers",
    "ARMS",
    "OUTCOMES",
    "PairedRuns",
    "PairedSummary",
    "am_excess_peak",
    "candidate_directions",
    "chirplet_without_am",
    "first_order_envelope",
    "frozen_table_step",
    "gradient_alignment",
    "paired_runs",
    "paired_summary",
    "paired_table",
    "plot_paired_runs",
    "plot_saga_runs",
    "saga_expected_shift",
]

#: optimizer arms: name -> SCRAPLOptimizer switches
ARMS: dict[str, dict[str, bool]] = {
    "Adam": {"p_adam": False, "p_saga": False},
    "P-Adam": {"p_adam": True, "p_saga": False},
    "Adam + P-SAGA": {"p_adam": False, "p_saga": True},
    "P-Adam + P-SAGA": {"p_adam": True, "p_saga": True},
}


def _data_root() -> Path:
    """``data/`` of the checkout, or the copy a wheel carries in ``scrapl_edu/_course/data``."""
    checkout = Path(__file__).resolve().parents[1] / "data"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "_course" / "data"


#: the committed results the notebooks read (``data/results/curriculum``: the moving-model
#: numbers of notebooks 05-06, ``tools/moving_model_numbers.py``; the predictions' answers)
CURRICULUM_RESULTS = _data_root() / "results" / "curriculum"


def committed_results(relative: str) -> dict:
    """A committed JSON result under ``data/results`` (e.g.
    ``"lab/theta_is_probs/theta_is_box.json"``), found from the package, not the working
    directory (nbgrader grades a copy of a notebook elsewhere)."""
    path = CURRICULUM_RESULTS.parent / relative
    if path.suffix != ".json" or not path.is_file():
        raise FileNotFoundError(f"no committed JSON result {path}")
    return json.loads(path.read_text())


def moving_model_numbers(mode: str = "classroom") -> dict:
    """The committed moving-model measurements of notebooks 05-06 for ``mode`` ("classroom"
    or "fast"): ``data/results/curriculum/moving_model_<mode>.json``. Fast mode is too short
    to show some effects; the notebooks read the classroom numbers there instead."""
    if mode not in ("classroom", "fast"):
        raise ValueError(f"mode must be 'classroom' or 'fast', got {mode!r}")
    return json.loads((CURRICULUM_RESULTS / f"moving_model_{mode}.json").read_text())


def frozen_table_step(G: Tensor, eps: float = 1e-8) -> Tensor:
    """P-Adam's step on a *frozen* table: G_p / (ε + |G_p|), elementwise (Eq. 6-8).

    If path p always returns the same gradient G_p, Eq. (6) after visits at steps
    τ_1 < ... < τ_n = k gives m_p = (1 − β1^{k/P}) G_p (by induction: β1^{(k−τ)/P}
    (1 − β1^{τ/P}) + 1 − β1^{(k−τ)/P} = 1 − β1^{k/P}); the bias correction of Eq. (8)
    divides by exactly that factor, so m̂_p = G_p, and likewise v̂_p = G_p ⊙ G_p. The
    decay and the correction cancel: the step does not depend on k, τ_p, β1 or β2.
    """
    G = torch.as_tensor(G, dtype=torch.float64)
    return G / (eps + G.abs())


# ------------------------------------------------------------------------- paired runs
@dataclass
class PairedRuns:
    """What :func:`paired_runs` measured. Arrays are indexed ``[arm, seed, ...]``.

    Attributes:
        arms: arm names (keys of :data:`ARMS` or the caller's).
        seeds: the seeds (one problem each: target, θ*, θ0, path draws, shifts).
        n_paths: P.
        n_weights: |w|.
        theta_star, theta0: per seed, shape (S, U).
        paths: drawn path of every step, shape (S, K) (the same for every arm).
        theta_error: mean |θ − θ*| after each step, shape (A, S, K + 1).
        cos_drawn: cos(d_k, G_{p_k}) at every step, shape (A, S, K).
        step_norm: ‖d_k‖ at every step, shape (A, S, K).
        grad_norm: ‖G_{p_k}‖ at every step, shape (A, S, K).
        probe_steps: steps k where the full gradient was measured, shape (n_probe,).
        cos_full: cos(d_k, g_k) at the probe steps, shape (A, S, n_probe).
        table_steps: steps k of the table probes, shape (n_table,).
        var_applied: variance over the path draw of the direction the run would apply,
            Σ_p π_p ‖d_p − E d‖², shape (A, S, n_table).
        var_no_table: the same with the P-SAGA table switched off (same state).
        mean_shift: ‖E_π d − E_π d^{no table}‖ / ‖E_π d^{no table}‖: how far the table moves
            the expected step, shape (A, S, n_table) (0 without P-SAGA).
        cos_mean_full: cos(E_π d, g_k), shape (A, S, n_table).
        cos_mean_full_no_table: cos(E_π d^{no table}, g_k), shape (A, S, n_table).
        table_lag: mean over visited paths of ‖ĝ_p − g_current,p(w)‖ / ‖g_current,p(w)‖
            (how stale the P-SAGA table is), shape (A, S, n_table) (nan without P-SAGA).
        table_mean_lag: ‖mean_{γ∈Γ} ĝ_γ − E_π d^{no table}‖ / ‖E_π d^{no table}‖: how far the
            table's average (the part of Eq. 9 every step shares) is from the current mean
            step, shape (A, S, n_table) (nan without P-SAGA).
        n_visited: card Γ at each table probe, shape (A, S, n_table).
        loss_start, loss_end: full loss L^Φ at θ0 and at the end, averaged over
            ``eval_shifts`` fixed shifts, shape (A, S).
        memory: ``optimizer.memory_report()`` of each arm at the end (seed 0's).
    """

    arms: list[str]
    seeds: list[int]
    n_paths: int
    n_weights: int
    theta_star: np.ndarray
    theta0: np.ndarray
    paths: np.ndarray
    theta_error: np.ndarray
    cos_drawn: np.ndarray
    step_norm: np.ndarray
    grad_norm: np.ndarray
    probe_steps: np.ndarray
    cos_full: np.ndarray
    table_steps: np.ndarray
    var_applied: np.ndarray
    var_no_table: np.ndarray
    mean_shift: np.ndarray
    cos_mean_full: np.ndarray
    cos_mean_full_no_table: np.ndarray
    table_lag: np.ndarray
    table_mean_lag: np.ndarray
    n_visited: np.ndarray
    loss_start: np.ndarray
    loss_end: np.ndarray
    memory: dict[str, dict] = field(default_factory=dict)

    def arm(self, name: str) -> int:
        """Index of arm ``name`` (ValueError listing the arms otherwise)."""
        if name not in self.arms:
            raise ValueError(f"unknown arm {name!r}; this run has {self.arms}")
        return self.arms.index(name)

    @property
    def steps(self) -> int:
        return self.paths.shape[1]

    @property
    def loss_ratio(self) -> np.ndarray:
        """L^Φ(end) / L^Φ(start), shape (A, S): below 1 means the full loss went down."""
        return self.loss_end / self.loss_start


def _draw_problem_thetas(seed: int, n_params: int) -> tuple[np.ndarray, np.ndarray]:
    """θ* and θ0 of a seed: uniform in [0.15, 0.85], at least 0.25 apart (mean |Δθ|)."""
    rng = np.random.default_rng(10_007 + seed)
    while True:
        star, start = rng.uniform(0.15, 0.85, (2, n_params))
        if np.abs(star - start).mean() >= 0.25:
            return star, start


def _flat(params: Sequence[Tensor]) -> Tensor:
    return torch.cat([w.detach().reshape(-1).to(torch.float64) for w in params])


def candidate_directions(
    model: torch.nn.Module,
    optimizer: SCRAPLOptimizer,
    G: Tensor,
    paths: Sequence[int] | None = None,
    p_saga: bool | None = None,
) -> Tensor:
    """The direction d_p = (w − w_after) / α the optimizer would apply if path p were drawn.

    :func:`scrapl_edu.diagnostics.applied_directions` for a model and its optimizer, with
    the weight decay's share kept in the direction (the step as applied) and the P-SAGA
    switch optionally overridden for the probe; the optimizer is left as it was.

    Args:
        model: the model (its weights w, flattened in ``parameters()`` order).
        optimizer: its :class:`~scrapl_edu.optim.SCRAPLOptimizer` (left as it was).
        G: gradient table, shape (P, |w|): G[p] = ∇_w L_p(w).
        paths: candidate paths (default: all).
        p_saga: override the optimizer's P-SAGA switch for the probe (None: keep it);
            ``False`` gives g_current of Eq. (8) (or shared Adam's), the step without
            the table.

    Returns:
        Shape (len(paths), |w|), float64.
    """
    params = [w for w in model.parameters() if w.requires_grad]
    in_optimizer = [w for g in optimizer.param_groups for w in g["params"]]
    if [id(w) for w in params] != [id(w) for w in in_optimizer]:
        raise ValueError("the optimizer must hold exactly the model's trainable parameters")
    overrides = None if p_saga is None else {"p_saga": bool(p_saga)}
    return applied_directions(optimizer, G, paths, exclude_weight_decay=False, overrides=overrides)


def _check_paired_args(
    arms: Sequence[str] | dict[str, dict[str, bool]],
    seeds: Sequence[int],
    steps: int,
    probe_every: int,
    table_every: int | None,
) -> tuple[dict[str, dict[str, bool]], list[int]]:
    """:func:`paired_runs`' arguments checked: the arms' switches and the seeds as ints."""
    if isinstance(arms, dict):
        arm_cfg = dict(arms)
    else:
        unknown = [a for a in arms if a not in ARMS]
        if unknown:
            raise ValueError(f"unknown arm(s) {unknown}; choose from {list(ARMS)} or pass a dict")
        arm_cfg = {a: ARMS[a] for a in arms}
    if not arm_cfg:
        raise ValueError("arms is empty: pass at least one optimizer arm")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: pass at least one seed")
    if steps < 1:
        raise ValueError(f"steps must be a positive number of optimisation steps, got {steps}")
    if probe_every < 1:
        raise ValueError(f"probe_every must be >= 1, got {probe_every}")
    if table_every is not None and table_every < 1:
        raise ValueError(f"table_every must be None or >= 1, got {table_every}")

    return arm_cfg, seeds


def _probe_table(
    m: toy.ThetaModel,
    opt: SCRAPLOptimizer,
    G: Tensor,
    pi: Tensor | None,
    out: dict[str, np.ndarray],
    at: tuple[int, int, int],
) -> None:
    """What P-SAGA's table does to one run's step at this state, written to ``out[...][at]``.

    ``G`` is the run's gradient table (P, |w|). Measured: the variance over p ~ π of the
    applied direction with and without the table, the shift of the expected step and its
    cosine with the full gradient, the visited paths, and how far the table's entries lag
    the paths' current directions.
    """
    P = G.shape[0]
    g = G.mean(dim=0)  # Eq. (13): the full gradient is the mean path gradient
    D_off = candidate_directions(m, opt, G, p_saga=False)
    D_on = candidate_directions(m, opt, G) if opt.p_saga else D_off
    out["var_applied"][at] = direction_variance(D_on, pi)
    out["var_no_table"][at] = direction_variance(D_off, pi)
    w_ = torch.full((P,), 1.0 / P, dtype=torch.float64) if pi is None else pi
    e_on = (w_[:, None] * D_on).sum(0)
    e_off = (w_[:, None] * D_off).sum(0)
    out["mean_shift"][at] = float((e_on - e_off).norm() / e_off.norm())
    out["cos_mean_full"][at] = cosine_similarity(e_on, g)
    out["cos_mean_no"][at] = cosine_similarity(e_off, g)
    out["n_visited"][at] = len(opt.visited_paths)
    if opt.p_saga:
        table = _saga_table(opt, m)
        lags = [
            float((table[p] - D_off[p]).norm() / D_off[p].norm())
            for p in table
            if float(D_off[p].norm()) > 0
        ]
        out["table_lag"][at] = float(np.mean(lags)) if lags else np.nan
        if table:
            avg = torch.stack(list(table.values())).mean(0)
            out["mean_lag"][at] = float((avg - e_off).norm() / e_off.norm())


@dataclass
class _PairedFits:
    """The S × A fits of :func:`paired_runs`, seed-major (``models[i][a]``: seed i, arm a).

    Within seed i every arm has its own model and optimizer, and shares the seed's problem
    (target, θ*, θ0), its path sampler and its shifts. The JTFS, the loss scale and the
    synth are the same for every seed (one preset), so batched renders use seed 0's.
    """

    names: list[str]
    seeds: list[int]
    lr: float
    problems: list[toy.ToyProblem]
    stars: list[np.ndarray]
    starts: list[np.ndarray]
    models: list[list[toy.ThetaModel]]
    opts: list[list[SCRAPLOptimizer]]
    samplers: list[PathSampler]

    @classmethod
    def build(
        cls,
        arm_cfg: dict[str, dict[str, bool]],
        seeds: list[int],
        *,
        preset: str,
        lr: float,
        probs: Tensor | None,
        fast: bool,
    ) -> _PairedFits:
        """One problem per seed (θ*, θ0 from :func:`_draw_problem_thetas`) and, for every
        arm, a model at θ0 with its :class:`~scrapl_edu.optim.SCRAPLOptimizer`."""
        fits = cls(
            names=list(arm_cfg),
            seeds=seeds,
            lr=lr,
            problems=[],
            stars=[],
            starts=[],
            models=[],
            opts=[],
            samplers=[],
        )
        for s in seeds:
            star, start = _draw_problem_thetas(s, n_params=2)  # the chirplet's (θ_AM, θ_FM)
            problem = toy.make_problem(preset, theta_star=tuple(star), seed=s, fast=fast)
            fits.problems.append(problem)
            fits.stars.append(star)
            fits.starts.append(start)
            models = [toy.ThetaModel(start) for _ in fits.names]
            fits.models.append(models)
            fits.opts.append(
                [
                    SCRAPLOptimizer(
                        m.parameters(),
                        n_paths=problem.n_paths,
                        lr=lr,
                        p_adam=arm_cfg[name]["p_adam"],
                        p_saga=arm_cfg[name]["p_saga"],
                    )
                    for m, name in zip(models, fits.names, strict=True)
                ]
            )
            fits.samplers.append(PathSampler(problem.n_paths, probs, seed=s))
        return fits

    @property
    def n_arms(self) -> int:
        return len(self.names)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def n_paths(self) -> int:
        return self.problems[0].n_paths

    @property
    def n_weights(self) -> int:
        return sum(w.numel() for w in self.models[0][0].parameters())

    @property
    def jtfs(self) -> torch.nn.Module:
        return self.problems[0].jtfs

    @property
    def scale(self) -> float:
        return self.problems[0].loss_scale

    def theta(self) -> Tensor:
        """θ of every run in one batch, shape (S * A, U), seed-major."""
        return torch.cat([m() for row in self.models for m in row])

    def targets(self) -> Tensor:
        """Each run's target, in the order of :meth:`theta`."""
        return torch.cat([pr.target.expand(self.n_arms, -1, -1) for pr in self.problems])

    def weights(self) -> list[Tensor]:
        """Every run's weights w, in the order of :meth:`theta`."""
        return [w for row in self.models for m in row for w in m.parameters()]

    def theta_error(self, i: int, a: int) -> float:
        """Mean |θ − θ*| of seed i's arm a."""
        return np.abs(self.models[i][a].theta.numpy() - self.stars[i]).mean()

    def full_loss(self, eval_shifts: int) -> np.ndarray:
        """L^Φ of every run averaged over ``eval_shifts`` fixed shifts, shape (A, S)."""
        S, A = self.n_seeds, self.n_arms
        out = torch.zeros(S * A, dtype=torch.float64)
        with torch.no_grad():
            th = self.theta()
            phi_x = self.jtfs(self.targets())
            for j in range(eval_shifts):
                x_hat = self.problems[0].synth(th, seed=[900_001 + j] * th.shape[0])
                # per-run L^Φ (Eq. 3; JTFSLoss with ρ = identity, without the batch mean)
                sq = (self.jtfs(x_hat) - phi_x).pow(2).reshape(th.shape[0], -1).sum(dim=1)
                out += self.scale * sq.to(torch.float64) / eval_shifts
        return out.numpy().reshape(S, A).T

    def _render_all(self, shift_seeds: list[int]) -> tuple[Tensor, Tensor]:
        """θ and x̂ = D(θ) of every run in one batch, each seed's runs at its step shift."""
        th = self.theta()
        x_hat = self.problems[0].synth(th, seed=[ss for ss in shift_seeds for _ in self.names])
        return th, x_hat

    def _per_run(self, grads: Sequence[Tensor]) -> Tensor:
        """Gradients w.r.t. :meth:`weights` as float64 vectors, shape (S, A, |w|)."""
        flat = torch.stack([g.reshape(-1).to(torch.float64) for g in grads])
        return flat.reshape(self.n_seeds, self.n_arms, self.n_weights)

    def full_gradient(self, shift_seeds: list[int]) -> Tensor:
        """g_k = ∇L^Φ(w_{k-1}) of every run (Eq. 3, 13) on the step's render, (S, A, |w|)."""
        th, x_hat = self._render_all(shift_seeds)
        L = self.scale * th.shape[0] * JTFSLoss(self.jtfs)(x_hat, self.targets())
        return self._per_run(torch.autograd.grad(L, self.weights()))

    def gradient_table(self, shift_seeds: list[int]) -> Tensor:
        """G_p(w_{k-1}) for every path p and run on the step's render, (S, A, P, |w|)."""
        th, x_hat = self._render_all(shift_seeds)
        tg, flat, P = self.targets(), self.weights(), self.n_paths
        G = torch.zeros(self.n_seeds, self.n_arms, P, self.n_weights, dtype=torch.float64)
        for p in range(P):
            Lp = self.scale * th.shape[0] * path_distance(self.jtfs, x_hat, tg, p)
            G[:, :, p] = self._per_run(torch.autograd.grad(Lp, flat, retain_graph=p < P - 1))
        return G

    def scrapl_step(self, i: int, p: int, shift_seed: int) -> list[tuple[Tensor, Tensor]]:
        """One step of Algorithm 1 for seed i's arms on path p (one render, one backward).

        Returns, per arm, the applied direction d_k = (w_{k-1} − w_k) / α and the drawn
        path's gradient G_{p_k}(w_{k-1}), as float64 vectors.
        """
        row, opts = self.models[i], self.opts[i]
        th = torch.cat([m() for m in row])
        x_hat = self.problems[i].synth(th, seed=[shift_seed] * self.n_arms)
        target = self.problems[i].target.expand(self.n_arms, -1, -1)
        Lp = self.scale * self.n_arms * path_distance(self.jtfs, x_hat, target, p)
        for o in opts:
            o.zero_grad()
        Lp.backward()
        out = []
        for m, o in zip(row, opts, strict=True):
            gp = _flat([w.grad for w in m.parameters()])
            before = _flat(list(m.parameters()))
            o.step(path=p)
            out.append(((before - _flat(list(m.parameters()))) / self.lr, gp))
        return out


def _probe_schedule(
    steps: int, probe_every: int, table_every: int | None
) -> tuple[list[int], list[int]]:
    """The steps k of the full-gradient probes (k = 1 and every ``probe_every``) and of the
    table probes (every ``table_every``; none for None)."""
    probe_steps = [k for k in range(1, steps + 1) if k == 1 or k % probe_every == 0]
    table_steps = (
        [] if table_every is None else [k for k in range(1, steps + 1) if k % table_every == 0]
    )
    return probe_steps, table_steps


@dataclass
class _PairedRecord:
    """:func:`paired_runs`' measurements as they fill in, indexed ``[arm, seed, ...]``.

    ``probes`` holds the table probes under :func:`_probe_table`'s keys.
    """

    probe_steps: list[int]
    table_steps: list[int]
    paths: np.ndarray
    theta_error: np.ndarray
    cos_drawn: np.ndarray
    step_norm: np.ndarray
    grad_norm: np.ndarray
    cos_full: np.ndarray
    probes: dict[str, np.ndarray]

    @classmethod
    def empty(
        cls, fits: _PairedFits, steps: int, probe_steps: list[int], table_steps: list[int]
    ) -> _PairedRecord:
        """Arrays for ``steps`` steps of ``fits`` (nan where a probe has not run), with
        θ's error at the start (step 0) filled in."""
        A, S, K, n_t = fits.n_arms, fits.n_seeds, steps, len(table_steps)
        probes = {
            key: np.full((A, S, n_t), np.nan)
            for key in (
                "var_applied",
                "var_no_table",
                "mean_shift",
                "cos_mean_full",
                "cos_mean_no",
                "table_lag",
                "mean_lag",
            )
        }
        probes["n_visited"] = np.zeros((A, S, n_t), dtype=int)
        rec = cls(
            probe_steps=probe_steps,
            table_steps=table_steps,
            paths=np.zeros((S, K), dtype=int),
            theta_error=np.zeros((A, S, K + 1)),
            cos_drawn=np.zeros((A, S, K)),
            step_norm=np.zeros((A, S, K)),
            grad_norm=np.zeros((A, S, K)),
            cos_full=np.full((A, S, len(probe_steps)), np.nan),
            probes=probes,
        )
        for i in range(S):
            for a in range(A):
                rec.theta_error[a, i, 0] = fits.theta_error(i, a)
        return rec

    def record_step(
        self, a: int, i: int, k: int, d: Tensor, gp: Tensor, theta_error: float, g: Tensor | None
    ) -> None:
        """Step k of seed i's arm a: direction d, drawn gradient gp, full gradient g if probed."""
        self.cos_drawn[a, i, k - 1] = cosine_similarity(d, gp)
        self.step_norm[a, i, k - 1] = float(d.norm())
        self.grad_norm[a, i, k - 1] = float(gp.norm())
        self.theta_error[a, i, k] = theta_error
        if g is not None:
            self.cos_full[a, i, self.probe_steps.index(k)] = cosine_similarity(d, g)

    def result(self, fits: _PairedFits, loss_start: np.ndarray, loss_end: np.ndarray) -> PairedRuns:
        """The finished record as :class:`PairedRuns` (memory: seed 0's optimizers)."""
        pr = self.probes
        return PairedRuns(
            arms=fits.names,
            seeds=fits.seeds,
            n_paths=fits.n_paths,
            n_weights=fits.n_weights,
            theta_star=np.asarray(fits.stars),
            theta0=np.asarray(fits.starts),
            paths=self.paths,
            theta_error=self.theta_error,
            cos_drawn=self.cos_drawn,
            step_norm=self.step_norm,
            grad_norm=self.grad_norm,
            probe_steps=np.asarray(self.probe_steps),
            cos_full=self.cos_full,
            table_steps=np.asarray(self.table_steps, dtype=int),
            var_applied=pr["var_applied"],
            var_no_table=pr["var_no_table"],
            mean_shift=pr["mean_shift"],
            cos_mean_full=pr["cos_mean_full"],
            cos_mean_full_no_table=pr["cos_mean_no"],
            table_lag=pr["table_lag"],
            table_mean_lag=pr["mean_lag"],
            n_visited=pr["n_visited"],
            loss_start=loss_start,
            loss_end=loss_end,
            memory={name: fits.opts[0][a].memory_report() for a, name in enumerate(fits.names)},
        )


def _lockstep_step(fits: _PairedFits, rec: _PairedRecord, k: int, pi: Tensor | None) -> None:
    """Step k of every run: the probes due at w_{k-1}, then one SCRAPL step per run.

    The probes: the full gradient at probe steps, the gradient table (and what P-SAGA's
    table does with it, :func:`_probe_table`) at table steps. Per seed, its arms share the
    drawn path and the render's shift; the probes use the same renders as the step.
    """
    shift_seeds = [s * 1_000_003 + k for s in fits.seeds]
    g_full = fits.full_gradient(shift_seeds) if k in rec.probe_steps else None
    if k in rec.table_steps:
        G_all = fits.gradient_table(shift_seeds)
        t = rec.table_steps.index(k)
        for i in range(fits.n_seeds):
            for a in range(fits.n_arms):
                m, opt = fits.models[i][a], fits.opts[i][a]
                _probe_table(m, opt, G_all[i, a], pi, rec.probes, (a, i, t))
    for i in range(fits.n_seeds):
        p = fits.samplers[i].sample()
        rec.paths[i, k - 1] = p
        for a, (d, gp) in enumerate(fits.scrapl_step(i, p, shift_seeds[i])):
            g = None if g_full is None else g_full[i, a]
            rec.record_step(a, i, k, d, gp, fits.theta_error(i, a), g)


def paired_runs(
    arms: Sequence[str] | dict[str, dict[str, bool]] = ("Adam", "P-Adam"),
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 60,
    *,
    preset: str = "classroom",
    lr: float = 0.05,
    probe_every: int = 3,
    table_every: int | None = None,
    probs: Tensor | None = None,
    eval_shifts: int = 4,
    progress: bool = True,
    fast: bool,
) -> PairedRuns:
    """Fit the toy problem with several optimizer arms in lockstep, paired by seed.

    The runs are built by :class:`_PairedFits`, stepped by :func:`_lockstep_step` and
    measured into a :class:`_PairedRecord`.

    Args:
        arms: names from :data:`ARMS`, or a dict name -> ``{"p_adam": .., "p_saga": ..}``.
        seeds: one problem per seed: θ* and θ0 drawn from the seed
            (:func:`_draw_problem_thetas`), the target's random shift, the path draws
            (``PathSampler(seed=seed)``) and the renders' shifts; identical across arms.
        steps: K, steps of Algorithm 1 per run.
        preset: the chirplet lab preset of :func:`scrapl_edu.toy.make_problem`.
        lr: learning rate α.
        probe_every: measure the full gradient every ``probe_every`` steps (and at step 1).
        table_every: measure the whole gradient table every ``table_every`` steps (costs
            P path evaluations); None: never.
        probs: π for the path draw (None: uniform).
        eval_shifts: number of fixed shifts over which the start/end full loss is averaged.
        progress: show a tqdm bar.
        fast: the preset's fast-mode version (required: the notebook, an entry point, passes
            ``scrapl_edu.config.fast_mode()``).
    """
    arm_cfg, seeds = _check_paired_args(arms, seeds, steps, probe_every, table_every)
    fits = _PairedFits.build(arm_cfg, seeds, preset=preset, lr=lr, probs=probs, fast=fast)
    pi = None if probs is None else torch.as_tensor(fits.samplers[0].probs, dtype=torch.float64)
    K = int(steps)
    rec = _PairedRecord.empty(fits, K, *_probe_schedule(K, probe_every, table_every))
    loss_start = fits.full_loss(eval_shifts)
    desc = f"{fits.n_arms} arms x {fits.n_seeds} seeds"
    for k in tqdm(range(1, K + 1), desc=desc, leave=False, disable=not progress):
        _lockstep_step(fits, rec, k, pi)
    return rec.result(fits, loss_start, fits.full_loss(eval_shifts))


def _saga_table(opt: SCRAPLOptimizer, model: toy.ThetaModel) -> dict[int, Tensor]:
    """The P-SAGA table ĝ_p (Eq. 9) of a one-parameter-tensor model, as float64 vectors."""
    (w,) = list(model.parameters())
    return {p: t.reshape(-1).to(torch.float64) for p, t in opt.state[w]["g_hat"].items()}


# ------------------------------------------------------------------------ paired stats
@dataclass
class PairedSummary:
    """Paired comparison of two arms over seeds (as the paper's Table 6).

    Attributes:
        diff: per-seed differences b − a.
        mean: mean difference.
        ci95: half-width of the 95% t-interval of the mean (nan for one seed).
        p_value: two-sided paired t-test (scipy.stats.ttest_rel; nan for one seed or
            identical samples).
        n_improved: seeds where b is better than a (per ``better``).
        n: number of seeds.
    """

    diff: np.ndarray
    mean: float
    ci95: float
    p_value: float
    n_improved: int
    n: int

    def __str__(self) -> str:
        return (
            f"{self.mean:+.3g} ± {self.ci95:.2g} (95% CI), p = {self.p_value:.2g}, "
            f"better on {self.n_improved}/{self.n} seeds"
        )


def paired_summary(a: Sequence[float], b: Sequence[float], better: str = "higher") -> PairedSummary:
    """Paired difference b − a over seeds: mean, 95% CI, paired t-test, seeds improved.

    ``better`` ("higher" or "lower") says which direction counts as an improvement of b
    over a.
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    a, b = np.asarray(a, dtype=float).reshape(-1), np.asarray(b, dtype=float).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"a and b must be paired samples of one size, got {a.size} and {b.size}")
    # the lab's paired statistics count a lower value as better: flip the sign for "higher"
    sign = 1.0 if better == "lower" else -1.0
    st = paired_difference(sign * a, sign * b)
    p_value = st["p_t"] if a.size > 1 and np.std(b - a) > 0 else float("nan")
    return PairedSummary(
        diff=b - a,
        mean=float((b - a).mean()),
        ci95=st["ci"],
        p_value=p_value,
        n_improved=st["improved"],
        n=st["n"],
    )


#: the per-seed outcomes of :func:`paired_table`: label -> (function of (runs, arm), better)
OUTCOMES = {
    "θ error at the end, mean abs(θ − θ*)": (lambda r, a: r.theta_error[a, :, -1], "lower"),
    "full loss L^Φ, end / start": (lambda r, a: r.loss_ratio[a], "lower"),
    "cos(applied step, full gradient)": (lambda r, a: np.nanmean(r.cos_full[a], axis=1), "higher"),
    "cos(applied step, drawn path's gradient)": (
        lambda r, a: r.cos_drawn[a].mean(axis=1),
        "higher",
    ),
}


def paired_table(runs: PairedRuns, base: str, other: str, rows: Sequence[str] | None = None) -> str:
    """A markdown table of paired differences ``other − base`` over seeds (Table 6 style).

    ``rows``: labels of :data:`OUTCOMES` (default: all).
    """
    a, b = runs.arm(base), runs.arm(other)
    rows = list(OUTCOMES) if rows is None else list(rows)
    unknown = [r for r in rows if r not in OUTCOMES]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; choose from {list(OUTCOMES)}")
    lines = [
        f"| per seed ({len(runs.seeds)} seeds) | {base} | {other} | Δ = {other} − {base} "
        "(95% CI) | p (paired t) | seeds better |",
        "|---|---|---|---|---|---|",
    ]
    for label in rows:
        fn, better = OUTCOMES[label]
        va, vb = fn(runs, a), fn(runs, b)
        s = paired_summary(va, vb, better=better)
        lines.append(
            f"| {label} ({better} is better) | {va.mean():.3f} | {vb.mean():.3f} | "
            f"{s.mean:+.3f} ± {s.ci95:.3f} | {s.p_value:.2g} | {s.n_improved}/{s.n} |"
        )
    return "\n".join(lines)


def plot_paired_runs(runs: PairedRuns, arms: Sequence[str] | None = None):
    """Three panels: θ error over steps (mean over seeds, thin: each seed); per seed, the
    cosine of the applied step with the drawn path's gradient (●) and with the full gradient
    (▲); the size of the applied step against the size of the drawn path's gradient."""
    import matplotlib.pyplot as plt  # deferred: plotting is optional

    arms = runs.arms if arms is None else list(arms)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    steps = np.arange(runs.steps + 1)
    S = len(runs.seeds)
    for j, name in enumerate(arms):
        a, color = runs.arm(name), f"C{j}"
        axes[0].plot(steps, runs.theta_error[a].mean(0), color=color, lw=2, label=name)
        axes[0].plot(steps, runs.theta_error[a].T, color=color, lw=0.5, alpha=0.5)
        x = np.arange(S) + (j - (len(arms) - 1) / 2) * 0.15
        axes[1].plot(x, runs.cos_drawn[a].mean(1), "o", color=color, label=f"{name}: drawn path")
        axes[1].plot(
            x, np.nanmean(runs.cos_full[a], 1), "^", color=color, label=f"{name}: full gradient"
        )
        ok = runs.grad_norm[a] > 0
        axes[2].loglog(
            runs.grad_norm[a][ok], runs.step_norm[a][ok], ".", ms=3, color=color, label=name
        )
    axes[0].set(xlabel="step", ylabel="mean |θ − θ*|", title=f"θ error ({S} paired seeds)")
    axes[1].set(
        xlabel="seed",
        ylabel="mean cosine over steps",
        xticks=range(S),
        xticklabels=[str(s) for s in runs.seeds],
        title="what the applied step follows",
    )
    axes[2].set(xlabel="‖∇L_p‖ of the drawn path", ylabel="‖applied step‖ / lr", title="step size")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def saga_expected_shift(table: dict[int, Tensor], n_paths: int) -> Tensor:
    """E_p[d_p] − E_p[g_current,p] for P-SAGA under a uniform draw (Eq. 9).

    With Γ the visited paths and ĝ their table entries, E_p[−ĝ_p] = −(1/P) Σ_Γ ĝ (an
    unvisited path has ĝ_p = 0) while every step adds (1/|Γ|) Σ_Γ ĝ, so the expected step
    is moved by (1 − |Γ|/P) · mean_Γ ĝ: zero once every path has been visited.
    """
    if not table:
        raise ValueError("table is empty: no path visited yet")
    if n_paths < len(table):
        raise ValueError(f"n_paths ({n_paths}) is smaller than the table ({len(table)} paths)")
    avg = torch.stack([torch.as_tensor(t, dtype=torch.float64) for t in table.values()]).mean(0)
    return (1 - len(table) / n_paths) * avg


def plot_saga_runs(runs: PairedRuns, without: str, with_table: str):
    """P-SAGA on a moving model, three panels over the table probes (mean over seeds, thin
    lines: each seed): the variance over the path draw of the applied step (the run without
    the table, the run with it, and the latter's state with the table switched off); how far
    the table lags the paths' current steps; how far the table moves the expected step."""
    import matplotlib.pyplot as plt  # deferred: plotting is optional

    a, b = runs.arm(without), runs.arm(with_table)
    k = runs.table_steps
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    series = [
        (axes[0], runs.var_applied[a], f"{without} run", "C0"),
        (axes[0], runs.var_applied[b], f"{with_table} run", "C1"),
        (axes[0], runs.var_no_table[b], f"{with_table} run, table off", "C2"),
        (axes[1], runs.table_lag[b], "entries: mean ‖ĝ_p − g_current,p‖ / ‖g_current,p‖", "C1"),
        (axes[1], runs.table_mean_lag[b], "table mean vs mean current step", "C3"),
        (axes[2], runs.mean_shift[b], "‖E d − E g_current‖ / ‖E g_current‖", "C1"),
    ]
    for ax, y, label, color in series:
        ax.plot(k, np.nanmean(y, axis=0), "o-", color=color, label=label)
        ax.plot(k, y.T, color=color, lw=0.5, alpha=0.5)
    axes[2].plot(k, 1 - runs.n_visited[b].mean(0) / runs.n_paths, "k--", label="1 − |Γ| / P (mean)")
    axes[0].set(ylabel="E_p ‖d_p − E d‖²", title="variance of the step over the path draw")
    axes[1].set(ylabel="relative lag", title="how stale the table is")
    axes[2].set(ylabel="relative shift", title="the table's shift of the expected step")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------- loss vs time shift
def gradient_alignment(
    loss: torch.nn.Module,
    synth: torch.nn.Module,
    target: Tensor,
    theta_star: Sequence[float],
    shifts: Sequence[int],
    radius: float = 0.2,
    n_directions: int = 4,
) -> np.ndarray:
    """How well −∇_θ L points to θ* when the render is shifted in time (notebook 03).

    For θ on a circle of ``radius`` around θ* (``n_directions`` points) and each shift s,
    renders x̂ = D(θ) shifted by s samples and returns cos(−∇_θ L(x̂, x), θ* − θ): 1 when the
    gradient points straight to θ*, 0 when it carries no information about where θ* is
    ("blind"), negative when it points away. Shape (len(shifts), n_directions).
    """
    star = torch.as_tensor(theta_star, dtype=torch.float32).reshape(1, -1)
    if star.shape[1] != 2:
        raise ValueError(f"theta_star must hold 2 parameters (θ_AM, θ_FM), got {star.shape[1]}")
    if n_directions < 1 or not radius > 0:
        raise ValueError("n_directions must be >= 1 and radius > 0")
    angles = 2 * math.pi * (np.arange(n_directions) + 0.5) / n_directions
    out = np.zeros((len(shifts), n_directions))
    for i, s in enumerate(shifts):
        for j, ang in enumerate(angles):
            offset = torch.tensor([[math.cos(ang), math.sin(ang)]]) * radius
            theta = (star + offset).clamp(0.0, 1.0).requires_grad_(True)
            (g,) = torch.autograd.grad(loss(synth(theta, shifts=int(s)), target), theta)
            out[i, j] = cosine_similarity(-g.detach(), (star - theta).detach())
    return out


# ------------------------------------------------------------------ AM in the scattering
def chirplet_without_am(config, theta: Tensor, shifts: int = 0) -> Tensor:
    """The synth's chirplet with its amplitude modulation removed: the control for the AM.

    Same carrier, FM sweep, Gaussian window, shift and RMS level as
    ``config.build()(theta, shifts=shifts)`` (Section 4.3), with the modulator
    sin(π θ_AM t) replaced by 1. Shape (B, 1, N).
    """
    theta = torch.as_tensor(theta, dtype=torch.float32).reshape(-1, 2)
    _, fm = config.theta_to_params(theta)
    n = torch.arange(config.n_samples, dtype=theta.dtype)
    t = (n - config.n_samples // 2 - float(shifts)) / config.sr
    sigma = config.sigma0 * config.bandwidth_oct / fm[:, None]
    phase = exp_chirp_phase(t.clamp(-40 * sigma, 40 * sigma), config.carrier_hz, fm[:, None])
    x = torch.sin(2 * math.pi * phase) * gaussian_window(t, sigma)
    if config.normalize == "rms":
        x = normalize_rms(x, config.target_rms)
    return x.unsqueeze(1)


def first_order_envelope(x: Tensor, jtfs, band_hz: float, averaged: bool = False) -> np.ndarray:
    """|x * ψ_λ|(t) for the first-order wavelet λ nearest ``band_hz`` (notebook 01).

    With ``averaged`` the envelope is low-passed by the JTFS's φ_T, as in the scalogram
    S1 x = |x * ψ_λ| * φ_T. Computed in the Fourier domain with ``jtfs.filters`` (circular
    convolutions over the padded length), returned for the N samples of ``x`` (1-D array).
    """
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1)
    psi = jtfs.filters("psi1")
    xi = jtfs.filter_table("psi1")["xi"] * (jtfs.sr or 1.0)
    k = int(np.argmin(np.abs(np.log2(xi / band_hz))))
    n_pad = psi.shape[1]
    if x.numel() > n_pad:
        raise ValueError(f"x has {x.numel()} samples, more than the JTFS's padded {n_pad}")
    X = np.fft.fft(x.numpy(), n_pad)
    U = np.abs(np.fft.ifft(X * psi[k]))
    if averaged:
        U = np.real(np.fft.ifft(np.fft.fft(U) * jtfs.filters("phi")[0]))
    return U[: x.numel()]


def am_excess_peak(config, jtfs, theta: Sequence[float]) -> tuple[float, float, np.ndarray]:
    """Where the chirplet's AM shows on the path grid (notebook 02).

    Energy of each path for the chirplet ``config.build()(theta)`` minus the energy for the
    same chirplet without AM (:func:`chirplet_without_am`), over the spin-0 paths (the
    frequential low-pass: log-frequency integrated, so the FM sweep does not matter).
    Returns ``(θ_AM in Hz, the rate in Hz where that excess peaks, excess of every path)``.
    """
    th = torch.as_tensor(theta, dtype=torch.float32).reshape(1, 2)
    am, _ = config.theta_to_params(th)
    synth = config.build()
    with torch.no_grad():
        e = jtfs(synth(th, shifts=0))[0].pow(2).sum(dim=(1, 2))
        e0 = jtfs(chirplet_without_am(config, th))[0].pow(2).sum(dim=(1, 2))
    excess = (e - e0).double().numpy()
    low = [k for k, p in enumerate(jtfs.paths) if p.spin == 0]
    peak = jtfs.paths[low[int(np.argmax(excess[low]))]].rate_hz
    return float(am), float(peak), excess
