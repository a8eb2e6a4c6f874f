"""Shared set-up for the θ_AM diagnosis (issue 10 item 1; data/results/lab/theta_am_diagnosis/).

Rebuilds a lab run's parts exactly as :func:`scrapl_edu.lab.parts.build_parts` does (same seeds:
data set, synth, the encoder on its fitted front end, the JTFS), optionally loads a checkpoint,
and computes per-path gradients (of L_p, Eq. 3) on a fixed probe batch. Imported by the other
scripts of this folder; it makes no numbers of its own.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu import lab
from scrapl_edu.lab.parts import build_encoder
from scrapl_edu.losses import path_distance
from scrapl_edu.synths import sample_theta

#: where the diagnosis scripts write their small outputs (JSON lines, probes; not committed)
OUT = "data/results/lab/theta_am_diagnosis/out"


def setup(cfg: lab.LabConfig) -> SimpleNamespace:
    """The run's data, synth, encoder and JTFS, seeded as ``lab.run`` seeds them."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    random.seed(cfg.seed)
    data = lab.make_dataset(cfg)
    scfg = cfg.synth_config()
    synth = scfg.build()
    enc = build_encoder(cfg, synth.n_params, data["x_train"][:128])
    jtfs = lab.build_jtfs(cfg)
    return SimpleNamespace(cfg=cfg, data=data, synth=synth, scfg=scfg, enc=enc, jtfs=jtfs)


def data_shifts(ns: SimpleNamespace, idx: list[int]) -> Tensor:
    """The random shifts the data set used for examples idx (make_dataset's per-example seeds)."""
    seed = ns.cfg.seed if ns.cfg.data_seed is None else ns.cfg.data_seed
    gen = torch.Generator().manual_seed(10_000 + int(seed))
    sample_theta(ns.cfg.n_examples, generator=gen, n_params=ns.synth.n_params)
    seeds = [int(s) for s in torch.randint(0, 2**31 - 1, (ns.cfg.n_examples,), generator=gen)]
    return torch.cat([ns.synth.sample_shifts(1, seed=seeds[i]) for i in idx])


def path_table(jtfs: nn.Module) -> list[dict[str, Any]]:
    """Rate, scale, spin, j2, j_fr of every path (:class:`scrapl_edu.PathInfo`)."""
    return [
        dict(p=q.index, rate=q.rate_hz, scale=q.scale_cpo, spin=q.spin, j2=q.j2, j_fr=q.j_fr)
        for q in jtfs.paths
    ]


def theta_grads(
    ns: SimpleNamespace,
    x: Tensor,
    theta_hat: Tensor,
    shifts: Tensor,
    scale: float = 1e8,
    paths: list[int] | None = None,
) -> Tensor:
    """S[p, b, u] = d(scale * L_p)/d theta_hat[b, u] on the batch (L_p of Eq. 3, mean over b)."""
    P = ns.jtfs.n_paths
    out = torch.zeros(P, x.shape[0], theta_hat.shape[1], dtype=torch.float64)
    th = theta_hat.detach().clone().requires_grad_(True)
    for p in range(P) if paths is None else paths:
        x_hat = ns.synth(th, shifts=shifts)
        loss = path_distance(ns.jtfs, x_hat, x, p) * scale
        (g,) = torch.autograd.grad(loss, th)
        out[p] = g.double()
    return out


def encoder_jacobian(enc: nn.Module, x: Tensor) -> Tensor:
    """J[b, u, :] = d theta_hat[b, u] / d w (flat), encoder in eval mode."""
    was = enc.training
    enc.eval()
    params = [w for w in enc.parameters() if w.requires_grad]
    rows = []
    for b in range(x.shape[0]):
        th = enc(x[b : b + 1])
        per_u = []
        for u in range(th.shape[1]):
            gs = torch.autograd.grad(th[0, u], params, retain_graph=True, allow_unused=True)
            flat = [
                (g if g is not None else torch.zeros_like(w)).reshape(-1).double()
                for g, w in zip(gs, params, strict=True)
            ]
            per_u.append(torch.cat(flat))
        rows.append(torch.stack(per_u))
    enc.train(was)
    return torch.stack(rows)


def predict(enc: nn.Module, x: Tensor) -> Tensor:
    """theta_hat = enc(x) in eval mode, without a graph."""
    was = enc.training
    enc.eval()
    with torch.no_grad():
        out = enc(x)
    enc.train(was)
    return out
