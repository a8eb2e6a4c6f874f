"""Training: the parts of a run, its state (the checkpoint), one step, validation, :func:`run`.

The experiment of Sections 4.2-4.3 (unsupervised DDSP sound matching, Appendix E)::

    x (B,1,N) --encoder--> theta_hat --synth (random shift)--> x_hat --loss(x_hat, x)--> step

* ``p_loss``: supervised L1 on theta (the paper's upper bound, Section 3.4 "P-loss");
* ``mss``: a multi-scale spectral loss (auraloss; Section 4.2 baselines);
* ``jtfs``: the full joint time-frequency scattering loss, all P paths every step (Eq. 3);
* ``scrapl``: one random path per step (Algorithm 1) with the P-Adam (Eq. 6-8), P-SAGA
  (Eq. 9) and theta-importance-sampling (Eq. 10-12) switches.

Each is a loss kind (:mod:`scrapl_edu.lab.loss_kinds`): the step asks the run's kind for its
loss and its optimizer step instead of testing the loss's name.

:func:`build_parts` makes what does not change (data, synth, loss, JTFS); :class:`TrainState`
holds what does (encoder, optimizer, generators, curves): its :meth:`TrainState.state_dict` is
the checkpoint. :func:`train_step` is one iteration of Algorithm 1, :func:`run` the outer loop.

``run(..., device="cuda")`` trains on a GPU (:mod:`scrapl_edu.lab.device`: what is on the device,
what stays on the CPU, and what is deterministic where); the default is the CPU.
"""

from __future__ import annotations

import resource
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from scrapl_edu.jtfs import JTFS
from scrapl_edu.lab.applied import PROBE_SEED_OFFSET, applied_step_stats, make_probe
from scrapl_edu.lab.config import LabConfig
from scrapl_edu.lab.data import make_dataset
from scrapl_edu.lab.device import device_label, resolve_device
from scrapl_edu.lab.drums import drum_test_metrics, path_grad_sq
from scrapl_edu.lab.files import (
    JOURNAL,
    RunLock,
    atomic_open,
    check_out_folder,
    drop_aside,
    fault_point,
    move_aside,
    read_json,
    recover_aside,
    restore_aside,
)
from scrapl_edu.lab.parts import (  # re-exported: the lab's public names of a run's parts
    GRAD_EMA,
    GradEMA,
    RunParts,
    TrainState,
    build_encoder,
    build_jtfs,
    build_parts,
    l1_permille,
    mss_kwargs,
    mss_sizes,
    predict,
)
from scrapl_edu.lab.results import (
    RESULTS_JSON,
    Results,
    Snapshot,
    config_differences,
    convergence_step,
    total_variation,
)
from scrapl_edu.lab.run_config import CONFIG_JSON, DEFAULTS, recorded_config, write_config
from scrapl_edu.losses import mss_loss, path_distance
from scrapl_edu.theta_is import ThetaISResult, load_probs, theta_importance_sampling

__all__ = [
    "CHECKPOINT",
    "OutPlan",
    "RunInterrupted",
    "load_checkpoint",
    "prepare_out",
    "GRAD_EMA",
    "GradEMA",
    "RunParts",
    "TrainState",
    "build_encoder",
    "build_jtfs",
    "build_parts",
    "l1_permille",
    "mss_sizes",
    "predict",
    "run",
    "train_step",
]

#: file name of the checkpoint inside a run folder
CHECKPOINT = "checkpoint.pt"


# -------------------------------------------------------------------------- the steps
def run_theta_is(parts: RunParts, state: TrainState, progress: bool) -> ThetaISResult:
    """θ-importance sampling once before training (Section 3.4, Eq. 10-12): sets π."""
    cfg = parts.config
    t0 = time.perf_counter()
    state.encoder.eval()
    res = theta_importance_sampling(
        state.encoder,
        parts.synth,
        state.loss_fn.path_loss,
        parts.data["x_train"][: cfg.theta_is_examples],
        n_iter=cfg.theta_is_iters,
        n_paths=parts.n_paths,
        synth_seed=cfg.seed,
        power_seed=cfg.seed,
        progress=progress,
    )
    state.encoder.train()
    state.loss_fn.sampler.set_probs(res.probs)
    state.theta_is_probs = [float(p) for p in res.probs]
    state.theta_is_s = time.perf_counter() - t0
    return res


def use_pi_file(parts: RunParts, state: TrainState) -> None:
    """θ-IS's π read from ``config.pi_file`` instead of computed (checked against P).

    The authors compute π once, at seed 0's initialisation, and reuse the file for every
    seed; ``theta_is_s`` stays 0 (the cost was paid where the file was made).
    """
    probs = load_probs(parts.config.pi_file, parts.n_paths)
    state.loss_fn.sampler.set_probs(probs)
    state.theta_is_probs = [float(p) for p in probs]


def next_batch(state: TrainState, batch_size: int, n_train: int) -> Tensor:
    """Indices of the next batch: a new random order of the training set every epoch."""
    if state.perm is None or state.perm_pos + batch_size > n_train:
        state.perm = torch.randperm(n_train, generator=state.batch_gen)
        state.perm_pos = 0
    idx = state.perm[state.perm_pos : state.perm_pos + batch_size]
    state.perm_pos += batch_size
    return idx


def train_step(parts: RunParts, state: TrainState) -> None:
    """One iteration of Algorithm 1 (lines 4-10 for SCRAPL): batch, loss, backward, step.

    The run's loss kind (:mod:`scrapl_edu.lab.loss_kinds`) gives the loss and takes the
    optimizer's step: SCRAPL's loss draws a path p ~ π (Eq. 10-12's π, or uniform) and
    computes L_p (Eq. 3), and its optimizer is told which path the gradient came from (P-Adam
    Eq. 6-8, P-SAGA Eq. 9); the other losses take a plain AdamW step.
    """
    cfg, kind = parts.config, parts.kind
    t0 = time.perf_counter()
    x_train, th_train = parts.data["x_train"], parts.data["theta_train"]
    idx = next_batch(state, cfg.batch_size, len(x_train))
    x, theta = x_train[idx], th_train[idx]
    theta_hat = state.encoder(x)
    loss, scaled, path = kind.step_loss(parts, state, x, theta, theta_hat)
    state.optimizer.zero_grad(set_to_none=True)
    scaled.backward()
    grad_var = state.grad_ema.update(state.encoder)
    kind.optimizer_step(state, path)
    state.step += 1
    h = state.history
    h["loss"].append(float(loss.detach()))
    h["path"].append(path)
    h["step_s"].append(time.perf_counter() - t0)
    h["grad_var"].append(grad_var)


def applied_due(config: LabConfig, step: int) -> bool:
    """Whether the applied-step diagnostic runs at the validation of ``step``."""
    return (
        config.loss_kind.applied_diag_applies
        and config.applied_diag
        and (step % config.applied_every == 0 or step == config.steps)
    )


def measure_applied(parts: RunParts, state: TrainState) -> None:
    """The applied-step diagnostic now (:mod:`scrapl_edu.lab.applied`), appended to the run's."""
    cfg = parts.config
    if parts.probe is None:
        x = parts.data["x_train"][: cfg.probe_size()]
        seed = cfg.seed + PROBE_SEED_OFFSET
        parts.probe = make_probe(parts.jtfs, x, seed, cfg.rho, cfg.path_loss)
    stats = applied_step_stats(
        state.encoder,
        state.optimizer,
        parts.synth,
        parts.jtfs,
        parts.probe,
        state.loss_fn.sampler.probs,
        loss_scale=cfg.loss_scale,
        step=state.step,
    )
    state.applied.append(stats)


def validate(parts: RunParts, state: TrainState) -> Snapshot:
    """Theta L1 on the validation set, appended to the curve; returns the run's snapshot."""
    if applied_due(parts.config, state.step):
        measure_applied(parts, state)
    pp = l1_permille(predict(state.encoder, parts.data["x_val"]), parts.data["theta_val"])
    state.val_steps.append(state.step)
    state.val.append(float(pp.mean()))
    state.val_pp.append([float(v) for v in pp])
    h, probs = state.history, state.theta_is_probs
    return Snapshot(
        step=state.step,
        steps=parts.config.steps,
        val_steps=list(state.val_steps),
        val_theta_l1=list(state.val),
        path_counts=parts.kind.path_counts(state),
        probs=None if probs is None else list(probs),
        losses=list(h["loss"]),
        grad_var=list(h["grad_var"]),
        applied=[dict(a) for a in state.applied],
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0**2 if sys.platform == "darwin" else 1024.0)


#: examples of the per-path gradient tables of a drum run (each costs P backward passes)
DRUM_GRAD_EXAMPLES = 2


def _drum_path_loss(parts: RunParts, jtfs: JTFS) -> Callable[[Tensor, Tensor, int], Tensor]:
    def loss(x_hat: Tensor, x: Tensor, p: int) -> Tensor:
        return path_distance(jtfs, x_hat, x, p, parts.config.rho, path_loss=parts.config.path_loss)

    return loss


def drum_path_grads(parts: RunParts, state: TrainState, split: str, n: int) -> list[list[float]]:
    """Per-path gradient energy per parameter at the encoder's predictions on ``n`` examples.

    The predictions are rendered at their targets' shifts (aligned): what each path says about
    each parameter, without the shift's noise (:func:`scrapl_edu.lab.drums.path_grad_sq`).
    """
    jtfs = parts.jtfs if parts.jtfs is not None else build_jtfs(parts.config)
    x = parts.data[f"x_{split}"][:n]
    theta_hat = predict(state.encoder, x)
    G = path_grad_sq(
        parts.synth,
        _drum_path_loss(parts, jtfs),
        theta_hat,
        x,
        jtfs.n_paths,
        shifts=parts.data[f"shift_{split}"][:n],
    )
    return G.tolist()


def drum_baseline(config: LabConfig, value: float = 0.5) -> dict[str, float]:
    """The drum metrics of a constant prediction (every test theta = ``value``), no training.

    The reference a trained row must beat: the same test set, shifts, JTFS and MSS as a run
    of ``config`` (Tables 4, 8-9; :func:`scrapl_edu.lab.drums.drum_test_metrics`).
    """
    config.validate()
    data = make_dataset(config)
    synth_cfg = config.synth_config()
    parts = RunParts(config, data, synth_cfg, synth_cfg.build(), build_jtfs(config))
    if not parts.drums:
        raise ValueError(f"preset {config.preset!r} is not a drum preset")
    theta = torch.full_like(data["theta_test"], float(value))
    return drum_test_metrics(
        parts.synth,
        theta,
        data["x_test"],
        data["shift_test"],
        jtfs=parts.jtfs,
        rho=config.rho,
        mss=mss_loss("log_linear", **mss_kwargs(parts, "log_linear")),
    )


def _drum_results(parts: RunParts, state: TrainState, theta_hat: Tensor) -> dict[str, Any]:
    """Drum runs: the test metrics of Tables 4, 8-9 and the final per-path gradient table."""
    cfg = parts.config
    jtfs = parts.jtfs if parts.jtfs is not None else build_jtfs(cfg)
    metrics = drum_test_metrics(
        parts.synth,
        theta_hat,
        parts.data["x_test"],
        parts.data["shift_test"],
        jtfs=jtfs,
        rho=cfg.rho,
        mss=mss_loss("log_linear", **mss_kwargs(parts, "log_linear")),
    )
    n = 1 if cfg.fast else min(DRUM_GRAD_EXAMPLES, len(parts.data["x_test"]))
    grads = {"final": drum_path_grads(parts, state, "test", n)}
    if state.path_grad_init is not None:
        grads["init"] = state.path_grad_init
    return {"drum_metrics": metrics, "path_grad_sq": grads}


def finish(parts: RunParts, state: TrainState, wall_s: float, stopped_early: bool) -> Results:
    """Test theta L1 of the final encoder and the run's :class:`Results` (+ drum metrics)."""
    names = parts.param_names
    dev = next(state.encoder.parameters()).device
    theta_hat = predict(state.encoder, parts.data["x_test"])
    test_pp = l1_permille(theta_hat, parts.data["theta_test"])
    step_s = np.asarray(state.history["step_s"], dtype=float)
    # the first steps warm up caches (FFT plans, filter windows): leave them out of ms/step
    warm = step_s[min(2, max(0, len(step_s) - 1)) :]
    return Results(
        config=asdict(parts.config),
        param_names=names,
        test_theta_l1_permille=float(test_pp.mean()),
        test_theta_l1_permille_per_param={n: float(v) for n, v in zip(names, test_pp)},
        val_steps=list(state.val_steps),
        val_theta_l1_permille=list(state.val),
        val_theta_l1_permille_per_param=list(state.val_pp),
        steps_to_convergence=convergence_step(state.val_steps, state.val),
        val_total_variation=total_variation(np.asarray(state.val) / 1000.0),
        steps=int(state.step),
        ms_per_step=float(warm.mean() * 1000.0) if warm.size else float("nan"),
        wall_s=float(wall_s),
        theta_is_s=float(state.theta_is_s),
        peak_rss_mb=peak_rss_mb(),
        history=state.history,
        theta_is_probs=state.theta_is_probs,
        path_counts=parts.kind.path_counts(state),
        n_paths=parts.n_paths,
        stopped_early=stopped_early,
        applied_diag=[dict(a) for a in state.applied] if state.applied else None,
        applied_s=float(sum(a["seconds"] for a in state.applied)),
        device=device_label(dev),
        peak_device_mb=_peak_device_mb(dev),
        final_probs=parts.kind.final_probs(state),
        **(_drum_results(parts, state, theta_hat) if parts.drums else {}),
    )


def _peak_device_mb(device: torch.device) -> float | None:
    """Peak GPU memory allocated by torch during the run, in MiB (None on the CPU)."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2.0**20


def _use_device(device: torch.device) -> None:
    """On CUDA: count peak memory from now and compute in float32 (no TF32), as the paper.

    TF32 (on by default for cuDNN convolutions on Ampere and newer) keeps 10 mantissa bits;
    it is switched off for the process so that a CUDA run is the CPU's computation up to
    float32 rounding. Nothing changes on the CPU.
    """
    if device.type != "cuda":
        return
    torch.cuda.reset_peak_memory_stats(device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def set_sampling(parts: RunParts, state: TrainState, out_path: Path | None, progress: bool) -> None:
    """Before the first step of a fresh run: θ-IS's π (Eq. 10-12), where the kind samples
    paths and ``theta_is`` is on; read from ``pi_file``, or computed and saved to
    ``theta_is.npz``. On a drum preset, also the per-path gradient table at the initial
    encoder (which paths carry which parameter, where θ-IS measured π)."""
    config = parts.config
    if not (parts.kind.theta_is_applies and config.theta_is):
        return
    if config.pi_file is not None:
        use_pi_file(parts, state)
        return
    res = run_theta_is(parts, state, progress)
    if out_path is not None:
        with atomic_open(out_path / "theta_is.npz", "wb") as f:
            np.savez(f, probs=res.probs.numpy(), C=res.C.numpy())
    if parts.drums:
        n = 1 if config.fast else min(DRUM_GRAD_EXAMPLES, config.theta_is_examples)
        state.path_grad_init = drum_path_grads(parts, state, "train", n)


def _resume_state(state: TrainState, checkpoint: dict[str, Any], ckpt_file: Path | None) -> None:
    """Load ``checkpoint`` into ``state``; one that does not fit is refused by name."""
    try:
        state.load_state_dict(checkpoint)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
        raise ValueError(
            f"checkpoint {ckpt_file} does not fit this run ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); pass --overwrite to start "
            "afresh"
        ) from None


# ------------------------------------------------------------------ folders, Ctrl-C
#: the parts of a checkpoint (:meth:`TrainState.state_dict` plus the configuration)
CHECKPOINT_KEYS = (
    "config",
    "encoder",
    "optimizer",
    "loss",
    "batch_gen",
    "shift_gen",
    "rng",
    "state",
)


def load_checkpoint(ckpt_file: Path) -> dict[str, Any]:
    """A checkpoint, read safely: tensors and plain data only (``weights_only=True``).

    A file holding anything else (a pickled function or class: a file someone crafted) is
    refused before any of it runs; a cut-short, empty or foreign file is refused by name.

    Raises:
        ValueError: naming the file and what to do.
    """
    try:
        ck = torch.load(ckpt_file, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a bad file
        text = str(err)
        if "Weights only load failed" in text or "Unsupported global" in text:
            raise ValueError(
                f"checkpoint {ckpt_file} was not written by this lab: it holds something other "
                "than tensors and plain data (or is no checkpoint at all), so it was refused "
                "unread (nothing in it ran). Delete it, or pass --overwrite to start afresh"
            ) from None
        first = text.strip().splitlines()[0].split(". ")[0] if text.strip() else ""
        first = first or type(err).__name__
        raise ValueError(
            f"checkpoint {ckpt_file} cannot be read ({first}): it is empty, cut short or "
            "damaged; pass --overwrite to start afresh"
        ) from None
    if not isinstance(ck, dict) or not isinstance(ck.get("config"), dict):
        raise ValueError(
            f"checkpoint {ckpt_file} is not a lab checkpoint (no configuration); "
            "pass --overwrite to start afresh"
        )
    missing = [k for k in CHECKPOINT_KEYS if k not in ck]
    if missing:
        raise ValueError(
            f"checkpoint {ckpt_file} is not a lab checkpoint (it lacks {', '.join(missing)}); "
            "pass --overwrite to start afresh"
        )
    return ck


def _has_saved(out: Path) -> bool:
    """Whether a run folder holds what a run saved: its checkpoint or its results."""
    return (out / CHECKPOINT).exists() or (out / RESULTS_JSON).exists()


@dataclass
class OutPlan:
    """What :func:`prepare_out` decided for a run folder.

    ``action``: ``"fresh"`` (train from step 0), ``"resume"`` (from ``checkpoint``) or
    ``"keep"`` (``--resume --overwrite`` on this configuration's finished run: nothing to do).
    ``replaced``: the folder's previous content was moved aside (``--overwrite``).
    ``notes``: what was done, for the user.
    """

    action: str = "fresh"
    checkpoint: dict[str, Any] | None = None
    replaced: bool = False
    notes: list[str] = field(default_factory=list)


def _remove_stale_temps(out: Path) -> None:
    """Drop the temporary files of writes that a kill interrupted (never a finished file)."""
    for item in out.glob(".*.tmp"):
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def prepare_out(
    out: Path | None, overwrite: bool, resume: bool, config: LabConfig | None = None
) -> OutPlan:
    """Decide what to do with the results folder ``out``; call with its :class:`RunLock` held.

    ================================  ==========  ============  ==============  =================
    ``out`` holds                      (neither)   ``resume``    ``overwrite``   both
    ================================  ==========  ============  ==============  =================
    nothing but ``log.txt`` [2]        train       train         train           train
    a checkpoint of this config        refused     continue      replace         continue
    a checkpoint of another config     refused     refused [1]   replace         replace
    an unreadable checkpoint           refused     refused [1]   replace         replace
    this config's finished run         refused     refused       replace         keep (no work)
    another config's finished run      refused     refused       replace         replace
    other files                        refused     train there   replace         replace
    ================================  ==========  ============  ==============  =================

    [1] naming the fields that differ, or what is wrong with the file. [2] and
    ``config.json``: a run that failed before its first save left nothing to keep. "This
    config" is judged by the folder's ``config.json`` (:mod:`scrapl_edu.lab.run_config`; the
    checkpoint's or ``results.json``'s copy in folders older than it, which must agree).
    "Replace" moves the old folder aside (:func:`~scrapl_edu.lab.files.move_aside`); it is
    put back if the new run fails before its first checkpoint, and deleted once that exists.
    A replacement that a kill interrupted is finished or undone first
    (:func:`~scrapl_edu.lab.files.recover_aside`).
    """
    plan = OutPlan()
    if out is None:
        return plan
    recovered = recover_aside(out, _has_saved)
    if recovered == "restored":
        plan.notes.append(
            f"an interrupted --overwrite of {out} was undone (its old content is back)"
        )
    _remove_stale_temps(out)
    content = [e for e in out.iterdir() if e.name not in (JOURNAL, CONFIG_JSON)]
    if not content:
        return plan
    results, ckpt = out / RESULTS_JSON, out / CHECKPOINT
    done = results.exists()
    want = asdict(config) if config is not None else None
    why = "holds a finished run" if done else "is not empty"
    if resume and not done and ckpt.exists():
        try:
            ck = load_checkpoint(ckpt)
            recorded = recorded_config(out, ck["config"], CHECKPOINT)  # config.json first
        except ValueError as err:
            if not overwrite:
                raise
            why = f"holds an unreadable checkpoint ({err})"
        else:
            diff = [] if want is None else config_differences(recorded, want, DEFAULTS)
            if not diff:
                plan.action, plan.checkpoint = "resume", ck
                plan.notes.append(f"resuming from {ckpt}")
                return plan
            if not overwrite:
                raise ValueError(
                    f"checkpoint {ckpt} was written by a different configuration "
                    f"({'; '.join(diff)}); resume with the same arguments or pass --overwrite"
                )
            why = f"holds a checkpoint of another configuration ({'; '.join(diff)})"
    elif resume and done and overwrite and want is not None:
        try:
            recorded = Results.from_dict(read_json(results), source=results).config
            recorded = recorded_config(out, recorded, RESULTS_JSON)  # config.json first
            diff = config_differences(recorded, want, DEFAULTS)
        except ValueError as err:
            diff, why = ["unreadable"], f"holds an unreadable {RESULTS_JSON} ({err})"
        else:
            why = f"holds a finished run of another configuration ({'; '.join(diff)})"
        if not diff:
            plan.action = "keep"
            plan.notes.append(f"{out} holds this configuration's finished run: kept, nothing rerun")
            return plan
    if overwrite:
        move_aside(out)
        plan.replaced = True
        plan.notes.append(
            f"replacing {out}: it {why}; the old content is kept aside until the new run's "
            "first checkpoint"
        )
        return plan
    if resume and not done:
        return plan  # no checkpoint: start from scratch in this folder
    raise FileExistsError(
        f"results folder {out} {why}; pass --overwrite to replace it"
        + ("" if done else " or --resume to continue from its checkpoint")
    )


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by the first Ctrl-C (SIGINT) or a SIGTERM, after saving its checkpoint."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Turn the first Ctrl-C (SIGINT) or SIGTERM into a request, honoured at a step boundary.

    A checkpoint taken in the middle of a step would hold a half-advanced batch order,
    shift generator and path sampler, so the resumed run would differ. The training loop
    checks the event at each step boundary, saves, and raises :class:`RunInterrupted`; a
    second Ctrl-C (or SIGTERM) interrupts at once (no checkpoint). SIGTERM (what a batch
    system or ``kill`` sends) is handled like the first Ctrl-C. The event's ``signum``
    attribute says which signal asked. Only the main thread can take signals; elsewhere the
    event is never set and Ctrl-C behaves as usual.
    """
    requested = threading.Event()
    requested.signum = signal.SIGINT  # type: ignore[attr-defined]
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handler(signum, frame):  # noqa: ARG001 - the signal module's signature
        if requested.is_set():
            raise RunInterrupted(signum)
        requested.signum = signum  # type: ignore[attr-defined]
        requested.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _check_hooks(callback: Any, on_step: Any) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback must be a function of one Snapshot, or None; got {type(callback).__name__}"
        )
    if on_step is not None and not callable(on_step):
        raise TypeError(
            f"on_step must be a function of (step, steps), or None; got {type(on_step).__name__}"
        )


def _check_counts(stop_after: Any, ckpt_every: Any) -> None:
    for name, value in (("stop_after", stop_after), ("ckpt_every", ckpt_every)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"{name} must be a positive number of steps (>= 1) or None, got {value!r}"
            )


# --------------------------------------------------------------------------------- run
def run(
    config: LabConfig,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    ckpt_every: int | None = None,
    callback: Callable[[Snapshot], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_finish: Callable[[RunParts, TrainState], None] | None = None,
    device: str | torch.device = "cpu",
) -> Results | None:
    """Train and evaluate one configuration (Sections 4.2-4.3; Algorithm 1 for ``scrapl``).

    Args:
        config: the run (see :func:`~scrapl_edu.lab.config.make_config`); validated first.
        out: results folder (None: nothing written, no checkpoint); its ``config.json``
            is written before the first step (:mod:`scrapl_edu.lab.run_config`). One run at a
            time writes into it (:class:`~scrapl_edu.lab.files.RunLock`: a second gets a
            :class:`~scrapl_edu.lab.files.RunFolderBusyError` naming the holder's pid); every
            file is written atomically.
        overwrite: replace a finished or non-empty ``out`` (the old content is moved aside,
            put back if this run fails before its first checkpoint, deleted after it).
        resume: continue from ``out/checkpoint.pt`` if present (it must be this
            configuration's). With ``overwrite`` too: continue from a checkpoint of this
            configuration, keep this configuration's finished run, replace anything else
            (the table of :func:`prepare_out`).
        progress: tqdm progress bar.
        stop_after: simulate an interruption: checkpoint after this many steps (>= 1) and
            return None (used by the tests).
        ckpt_every: checkpoint every this many steps (default: ``val_every``); a checkpoint
            is also written at step 0, after theta-IS and the first validation.
        callback: called with a :class:`~scrapl_edu.lab.results.Snapshot` after every
            validation (step 0, every ``val_every`` steps and the last step). Live figures
            (the dashboard) draw from it.
        on_step: called after every training step with ``(step, steps)``: a cheap hook
            for progress bars (the dashboard's).
        on_finish: called once at the end with the run's parts and final state (the trained
            encoder), e.g. to render its reconstructions (:mod:`scrapl_edu.lab.listen`).
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when
            present); resolved before any work (:func:`scrapl_edu.lab.device.resolve_device`:
            ``"cuda"`` without a GPU raises a ValueError saying what to do). Not part of the
            configuration: the same config gives the same ``results.json["config"]`` and
            checkpoints on every device, and a checkpoint resumes on either (the CPU is
            bit-identical to an uninterrupted run; CUDA up to float32 rounding, see
            :mod:`scrapl_edu.lab.device`). ``results.json["device"]`` says where it ran.

    Returns:
        :class:`~scrapl_edu.lab.results.Results` (also saved to ``out``), or None if stopped
        by ``stop_after``.

    Raises:
        RunInterrupted: (a KeyboardInterrupt) the first Ctrl-C or a SIGTERM, after the
            checkpoint of the step it arrived in.
    """
    config.validate()
    _check_hooks(callback, on_step)
    _check_counts(stop_after, ckpt_every)
    dev = resolve_device(device)  # before any work: a missing GPU fails here
    hooks = (progress, stop_after, ckpt_every, callback, on_step, on_finish)
    if out is None:
        with deferred_interrupt() as interrupt:
            return _train(config, None, OutPlan(), dev, interrupt, *hooks)
    out_path = Path(out)
    check_out_folder(out_path)  # a file, /dev/null or a read-only folder: before any work
    with RunLock(out_path), deferred_interrupt() as interrupt:
        plan = prepare_out(out_path, overwrite, resume, config)
        for note in plan.notes:
            print(note, flush=True)
        if plan.action == "keep":
            return Results.load(out_path)
        try:
            write_config(out_path, config)  # before any step: what compare and --resume read
            return _train(config, out_path, plan, dev, interrupt, *hooks)
        except BaseException:
            if plan.replaced and not _has_saved(out_path):
                restore_aside(out_path)  # failed before its first save: the old run is back
                print(
                    f"{out_path}: the run failed before its first save; its old content is back",
                    file=sys.stderr,
                    flush=True,
                )
            raise


def _train(
    config: LabConfig,
    out_path: Path | None,
    plan: OutPlan,
    dev: torch.device,
    interrupt: threading.Event,
    progress: bool,
    stop_after: int | None,
    ckpt_every: int | None,
    callback: Callable[[Snapshot], None] | None,
    on_step: Callable[[int, int], None] | None,
    on_finish: Callable[[RunParts, TrainState], None] | None,
) -> Results | None:
    """The body of :func:`run` (its folder prepared and locked)."""
    ckpt_file = None if out_path is None else out_path / CHECKPOINT
    t_start = time.perf_counter()

    def elapsed() -> float:
        return state.elapsed_before + time.perf_counter() - t_start

    def save_checkpoint() -> None:
        if ckpt_file is None:
            return
        ck = {"config": asdict(config), **state.state_dict(time.perf_counter() - t_start)}
        fault_point("save")
        with atomic_open(ckpt_file, "wb") as f:
            torch.save(ck, f)
        fault_point("saved")
        if plan.replaced:
            drop_aside(out_path)  # the new run has its first save: the old one can go
            plan.replaced = False

    def check_validation() -> None:
        snap = validate(parts, state)
        if callback is not None:
            callback(snap)

    def honour_interrupt() -> None:
        if interrupt.is_set():  # Ctrl-C or SIGTERM: save now, at a step boundary
            save_checkpoint()
            raise RunInterrupted(getattr(interrupt, "signum", signal.SIGINT))

    _use_device(dev)
    parts, state = build_parts(config, dev)
    resumed = plan.action == "resume"
    if resumed:
        _resume_state(state, plan.checkpoint, ckpt_file)
    else:
        set_sampling(parts, state, out_path, progress)

    if not state.val_steps:
        check_validation()  # the curve starts at step 0
    if not resumed and state.step < config.steps:
        save_checkpoint()  # step 0: theta-IS and the first validation are never redone
    ckpt_every = ckpt_every or config.val_every
    desc = config.loss + parts.kind.run_tag(config)
    bar = tqdm(total=config.steps, initial=state.step, desc=desc, disable=not progress)
    stopped_early, in_step = False, False  # in_step: generators advanced, step not counted
    with bar:
        try:
            while state.step < config.steps:
                honour_interrupt()
                if config.max_wall_s is not None and elapsed() > config.max_wall_s:
                    stopped_early = True
                    break
                in_step = True
                train_step(parts, state)
                bar.update(1)
                if on_step is not None:
                    on_step(state.step, config.steps)
                if state.step % config.val_every == 0 or state.step == config.steps:
                    check_validation()
                    bar.set_postfix(val_l1=f"{state.val[-1]:.0f}‰")
                if state.step % ckpt_every == 0 and state.step < config.steps:
                    save_checkpoint()
                if stop_after is not None and stop_after <= state.step < config.steps:
                    save_checkpoint()
                    return None
                in_step = False
        except KeyboardInterrupt as err:
            if not in_step and not isinstance(err, RunInterrupted):
                save_checkpoint()  # a Ctrl-C between steps (off the main thread)
            raise  # a second Ctrl-C mid-step: the last periodic checkpoint stays valid
    if state.val_steps[-1] != state.step:
        check_validation()
    results = finish(parts, state, elapsed(), stopped_early)
    if on_finish is not None:
        on_finish(parts, state)
    if out_path is not None:
        results.save(out_path)
        fault_point("finished")
        ckpt_file.unlink(missing_ok=True)
        drop_aside(out_path)
    return results
