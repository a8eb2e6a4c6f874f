"""Where θ-IS puts its probability: the paths inside a chirplet preset's θ box (App. C, Fig. 6).

A chirplet preset draws its AM rate and FM rate from a box (Section 4.3, Table 3). The JTFS
paths whose AM rate (Hz) and FM velocity (rate / scale, oct/s) fall in that box carry the
information; :func:`theta_is_presets` measures how much of θ-IS's π (Eq. 10-12) lands on
them, against their uniform share. The figures of these numbers are in :mod:`scrapl_edu.viz`
(``plot_path_grid``, ``plot_theta_is_box``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scrapl_edu.jtfs import JTFS, PathInfo
from scrapl_edu.lab.config import make_config
from scrapl_edu.lab.data import make_dataset
from scrapl_edu.lab.files import atomic_open, atomic_write_json, atomic_write_text, check_out_folder
from scrapl_edu.lab.train import build_encoder, build_jtfs
from scrapl_edu.losses import SCRAPLLoss
from scrapl_edu.theta_is import theta_importance_sampling

__all__ = ["path_intervals", "paths_in_theta_box", "theta_box_share", "theta_is_presets"]


def path_intervals(jtfs: JTFS, path: PathInfo) -> tuple[tuple[float, float], tuple[float, float]]:
    """AM-rate (Hz) and |FM velocity| (oct/s) intervals of a path: centre +- one bandwidth.

    Rate: ``(xi2 -+ sigma2) * sr``. Scale: ``(|xi_fr| -+ sigma_fr) * Q1`` cycles/octave
    (the low-pass spin-0 path has scale ``[0, sigma_fr Q1]``). Velocity = rate / scale, so
    its interval is ``[rate_lo / scale_hi, rate_hi / scale_lo]`` (inf when scale_lo <= 0).
    """
    sr = jtfs.sr or 1.0
    r_lo, r_hi = (path.xi2 - path.sigma2) * sr, (path.xi2 + path.sigma2) * sr
    c = abs(path.xi_fr) * jtfs.Q1
    bw = path.sigma_fr * jtfs.Q1
    s_lo, s_hi = (max(0.0, c - bw), c + bw) if path.spin != 0 else (0.0, bw)
    v_lo = r_lo / s_hi
    v_hi = r_hi / s_lo if s_lo > 0 else math.inf
    return (r_lo, r_hi), (v_lo, v_hi)


def paths_in_theta_box(
    jtfs: JTFS, am_hz: tuple[float, float], fm_oct_per_s: tuple[float, float]
) -> np.ndarray:
    """Boolean mask of the paths whose AM rate and FM velocity fall in a preset's theta box.

    A path is in when its rate interval overlaps ``am_hz`` and its velocity interval
    (rate / scale, either spin) overlaps ``fm_oct_per_s``, each interval being the path's
    centre +- one filter bandwidth (sigma) (Appendix C, Figure 6: the dashed rectangles).
    """
    mask = np.zeros(jtfs.n_paths, dtype=bool)
    for i, p in enumerate(jtfs.paths):
        (r_lo, r_hi), (v_lo, v_hi) = path_intervals(jtfs, p)
        in_rate = r_lo <= am_hz[1] and r_hi >= am_hz[0]
        in_vel = v_lo <= fm_oct_per_s[1] and v_hi >= fm_oct_per_s[0]
        mask[i] = in_rate and in_vel
    return mask


def theta_box_share(probs: Sequence[float], mask: np.ndarray) -> dict[str, float]:
    """Total theta-IS probability of the in-box paths vs their uniform share (ratio >= 1.5?)."""
    probs = np.asarray(probs, dtype=float)
    n_in = int(mask.sum())
    uniform = n_in / probs.size
    got = float(probs[mask].sum())
    return {
        "n_paths": int(probs.size),
        "n_in_box": n_in,
        "prob_in_box": got,
        "uniform_share": uniform,
        "ratio": got / uniform if uniform > 0 else float("nan"),
    }


def _one_preset(
    preset: str, seed: int, n_examples: int | None, n_iter: int | None, fast: bool, progress: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """theta-IS of one preset's untrained encoder and the share of pi in its theta box."""
    cfg = make_config(preset, fast=fast, loss="scrapl", seed=seed)
    if n_examples is not None:
        cfg.theta_is_examples = n_examples
    if n_iter is not None:
        cfg.theta_is_iters = n_iter
    cfg.validate()
    synth_cfg = cfg.synth_config()
    if synth_cfg.kind != "chirplet":
        raise ValueError(f"theta-IS box analysis needs a chirplet preset, got {preset!r}")
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    data = make_dataset(cfg)
    encoder = build_encoder(cfg, synth_cfg.n_params, data["x_train"][:128]).eval()
    jtfs = build_jtfs(cfg)
    res = theta_importance_sampling(
        encoder,
        synth_cfg.build(),
        SCRAPLLoss(jtfs).path_loss,
        data["x_train"][: cfg.theta_is_examples],
        n_iter=cfg.theta_is_iters,
        n_paths=jtfs.n_paths,
        synth_seed=cfg.seed,
        power_seed=cfg.seed,
        progress=progress,
    )
    mask = paths_in_theta_box(jtfs, synth_cfg.am_hz, synth_cfg.fm_oct_per_s)
    share = theta_box_share(res.probs.numpy(), mask)
    share.update(
        am_hz=list(synth_cfg.am_hz),
        fm_oct_per_s=list(synth_cfg.fm_oct_per_s),
        n_examples=cfg.theta_is_examples,
        n_iter=cfg.theta_is_iters,
        seconds=time.perf_counter() - t0,
    )
    arrays = {
        "probs": res.probs.numpy(),
        "C": res.C.numpy(),
        "in_box": mask,
        "rate_hz": np.array([p.rate_hz for p in jtfs.paths]),
        "scale_cpo": np.array([p.scale_cpo for p in jtfs.paths]),
    }
    return share, arrays


def _table(report: dict[str, Any]) -> str:
    lines = [
        "| Preset | θ_AM (Hz) | θ_FM (oct/s) | paths in box | uniform share | θ-IS share | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for preset, r in report["presets"].items():
        lines.append(
            f"| {preset} | {r['am_hz'][0]:g}–{r['am_hz'][1]:g} | "
            f"{r['fm_oct_per_s'][0]:g}–{r['fm_oct_per_s'][1]:g} | {r['n_in_box']} / {r['n_paths']} | "
            f"{r['uniform_share']:.3f} | {r['prob_in_box']:.3f} | {r['ratio']:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def theta_is_presets(
    presets: Sequence[str],
    out: str | Path,
    *,
    seed: int = 0,
    n_examples: int | None = None,
    n_iter: int | None = None,
    fast: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """theta-IS path probabilities of several chirplet presets (Appendix C, Figure 6).

    For each preset: the untrained encoder of ``seed``, ``n_examples`` training signals and
    ``n_iter`` power iterations (preset defaults) give pi (Eq. 10-12); the share of pi on
    the paths inside the preset's theta box (:func:`paths_in_theta_box`) is compared with
    their uniform share. ``fast`` shrinks the presets (:func:`scrapl_edu.presets.shrink`).

    Writes ``theta_is_probs.npz`` (``<preset>/probs``, ``/C``, ``/in_box``, path
    ``rate_hz`` / ``scale_cpo``), ``theta_is_box.json`` and ``theta_is_box.md``; the command
    line adds the figures (:func:`scrapl_edu.viz.save_theta_is_figures`). Returns the JSON:
    ``seed`` and, per preset, the :func:`theta_box_share` numbers with the box, N_IS, power
    iterations and seconds.
    """
    out = Path(out)
    if (out / "theta_is_box.json").exists() and not overwrite:
        raise FileExistsError(f"{out / 'theta_is_box.json'} exists; pass --overwrite to replace it")
    check_out_folder(out)  # a file, a device or a read-only folder: before any work
    report: dict[str, Any] = {"seed": seed, "presets": {}}
    arrays: dict[str, np.ndarray] = {}
    for preset in presets:
        share, found = _one_preset(preset, seed, n_examples, n_iter, fast, progress)
        report["presets"][preset] = share
        arrays.update({f"{preset}/{k}": v for k, v in found.items()})
    with atomic_open(out / "theta_is_probs.npz", "wb") as f:
        np.savez(f, **arrays)
    atomic_write_text(out / "theta_is_box.md", _table(report))
    atomic_write_json(out / "theta_is_box.json", report)  # last: it marks the folder done
    return report
