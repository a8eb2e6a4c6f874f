"""Demo: the JTFS of a synthetic chirp, its scalogram and its energy on the path grid.

    python -m scrapl_edu.demo --out out/demo

Writes ``jtfs_demo.png`` (scalogram + path grid) and ``jtfs_demo.json`` (path energies
and timings). The JTFS is the paper's (:func:`scrapl_edu.presets.paper_jtfs_kwargs`);
``SCRAPL_EDU_FAST=1`` shrinks it (:func:`scrapl_edu.presets.shrink`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from scrapl_edu import viz
from scrapl_edu.config import fast_mode
from scrapl_edu.jtfs import JTFS
from scrapl_edu.presets import get_preset, shrink

#: the preset whose JTFS the demo shows: a paper set-up (32768 samples at 8192 Hz, Table 11)
DEMO_PRESET = "chirplet_am2.8-8.4_fm2-4"


def demo_jtfs_kwargs(fast: bool = False) -> dict:
    """The demo's JTFS: the paper's, or its fast-mode shrink."""
    preset = get_preset(DEMO_PRESET)
    return (shrink(preset) if fast else preset).jtfs_kwargs()


def chirp(n: int, sr: float, f0: float, octaves_per_s: float, am_hz: float) -> torch.Tensor:
    """Exponential chirp from ``f0`` rising ``octaves_per_s``, amplitude-modulated at ``am_hz``."""
    t = np.arange(n) / sr
    rate = octaves_per_s * math.log(2)
    phase = 2 * math.pi * f0 * (np.exp(rate * t) - 1) / rate
    env = np.exp(-0.5 * ((t - t.mean()) / (0.25 * t[-1])) ** 2)
    x = env * (1 + 0.8 * np.sin(2 * math.pi * am_hz * t)) * np.sin(phase)
    return torch.tensor(x / np.abs(x).max(), dtype=torch.float32)[None]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default="out/demo", help="output folder (created)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import matplotlib  # deferred: heavy, and only this entry point draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = demo_jtfs_kwargs(fast=fast_mode())  # fast mode is read here, at the entry point
    jtfs = JTFS(**cfg)
    sr = cfg["sr"]
    x = chirp(cfg["shape"], sr, f0=sr / 32, octaves_per_s=2 * sr / cfg["shape"], am_hz=4.0)
    print(f"JTFS {jtfs.extra_repr()}")
    with torch.no_grad():
        t0 = time.perf_counter()
        S1 = jtfs.scalogram(x)[0]
        t1 = time.perf_counter()
        full = jtfs(x)[0]
        t2 = time.perf_counter()
        one = jtfs.path(x, jtfs.n_paths // 2)
        t3 = time.perf_counter()
    energy = full.pow(2).sum(dim=(-1, -2)).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    viz.plot_scalogram(S1.numpy(), jtfs, ax=axes[0], title="first order: scalogram of an AM chirp")
    viz.plot_path_grid(
        jtfs,
        np.log10(energy + 1e-30),
        ax=axes[1],
        title=f"second order: energy of the {jtfs.n_paths} SCRAPL paths",
        label="log10 energy",
    )
    fig.tight_layout()
    fig.savefig(out / "jtfs_demo.png", dpi=110)
    top = int(np.argmax(energy))
    p = jtfs.paths[top]
    summary = {
        "config": cfg,
        "n_paths": jtfs.n_paths,
        "path_shape": list(one.shape[1:]),
        "seconds": {"scalogram": t1 - t0, "all_paths": t2 - t1, "one_path": t3 - t2},
        "strongest_path": {"index": top, "rate_hz": p.rate_hz, "scale_cpo": p.scale_cpo},
    }
    (out / "jtfs_demo.json").write_text(json.dumps(summary, indent=2))
    print(
        f"{jtfs.n_paths} paths of shape {tuple(one.shape[1:])}; all paths {t2 - t1:.2f} s, "
        f"one path {t3 - t2:.3f} s; strongest path {top}: rate {p.rate_hz:.3g} Hz, "
        f"scale {p.scale_cpo:+.2g} c/o"
    )
    print(f"wrote {out / 'jtfs_demo.png'} and {out / 'jtfs_demo.json'}")
    return summary


if __name__ == "__main__":
    main()
