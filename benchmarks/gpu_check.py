"""CUDA checks for the device machine: ours on CUDA equals ours on CPU and the kymatio-dev
fixtures, and a profile of one path (kernel count, time). Prints a short report."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.jtfs import JTFS  # noqa: E402


def main() -> None:
    dev = "cuda"
    ref = np.load(ROOT / "data/reference/jtfs_d_paper.npz", allow_pickle=False)
    cfg = dict(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8)
    j = JTFS(**cfg)
    x = torch.tensor(ref["x"]).reshape(-1, 32768)
    worst = 0.0
    for k, i in enumerate(ref["path_index"]):
        y = j.path(x.to(dev), int(i)).cpu()
        r = torch.tensor(ref["coef"][:, k])
        worst = max(worst, float((y - r).abs().max() / r.abs().max()))
    print(f"CUDA vs kymatio-dev fixtures (12 paper-config paths): worst rel err {worst:.2e}")
    # the full transform (paired spins, real low-pass) and its gradient: CUDA == CPU
    x1 = torch.randn(1, 32768, generator=torch.Generator().manual_seed(0))
    out = {}
    for d in ("cpu", dev):
        xd = x1.to(d).detach().requires_grad_(True)
        S = j(xd)
        S.pow(2).sum().backward()
        out[d] = (S.detach().cpu(), xd.grad.cpu())
    (Sc, gc), (Sg, gg) = out["cpu"], out[dev]
    err_s = float((Sg - Sc).abs().max() / Sc.abs().max())
    err_g = float((gg - gc).abs().max() / gc.abs().max())
    print(f"full transform CUDA vs CPU: values {err_s:.2e}, gradients {err_g:.2e} (relative)")
    xb = torch.randn(4, 32768, device=dev, requires_grad=True)
    for i in (0, 150, 314):
        j.path(xb, i).pow(2).sum().backward()
    torch.cuda.synchronize()
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        j.path(xb, 150).pow(2).sum().backward()
        torch.cuda.synchronize()
    ev = prof.key_averages()
    n_kernels = sum(e.count for e in ev if e.device_type.name == "CUDA")
    print(f"path 150 fwd+bwd: {n_kernels} CUDA kernel launches")
    print(ev.table(sort_by="cuda_time_total", row_limit=12))


if __name__ == "__main__":
    main()
