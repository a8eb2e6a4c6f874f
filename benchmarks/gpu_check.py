"""CUDA checks for the device machine: ours on CUDA equals ours on CPU and the kymatio-dev
fixtures, a profile of one path (kernel count, time), and one path's loss replayed from a CUDA
graph (scrapl_edu.cuda_graphs) against the eager loss: values, gradients and time. Prints a
short report; ``--out FILE`` also writes the graph comparison as JSON. Exits 1 when a graphed
loss differs from the eager one by more than eager differs from itself (plus float32 slack)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.cuda_graphs import CUDAGraphPathLoss  # noqa: E402
from scrapl_edu.jtfs import JTFS  # noqa: E402
from scrapl_edu.losses import path_distance  # noqa: E402


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def graphed_vs_eager(j: JTFS, paths=(0, 150, 314), batch: int = 4, repeats: int = 20) -> dict:
    """One path's loss L_p (forward + backward, batch 4) eager and from a CUDA graph."""
    dev = "cuda"
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 1, j.N, generator=g).to(dev)
    x_hat = torch.randn(batch, 1, j.N, generator=g).to(dev)
    graphs = CUDAGraphPathLoss(j)

    def once(loss_fn, p):
        a = x_hat.clone().requires_grad_(True)
        value = loss_fn(a, x, p)
        value.backward()
        return value.detach().clone(), a.grad.clone()

    def timed(loss_fn, p):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        once(loss_fn, p)
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1000.0

    def eager(a, b, p):
        return path_distance(j, a, b, p)

    report = {}
    for p in paths:
        e1, e2 = once(eager, p), once(eager, p)
        g1 = once(graphs, p)  # the first call captures
        g2 = once(graphs, p)
        t = {"eager": [], "graph": []}
        for r in range(repeats):  # interleaved
            for name in ["eager", "graph"] if r % 2 == 0 else ["graph", "eager"]:
                t[name].append(timed(eager if name == "eager" else graphs, p))
        report[int(p)] = {
            "eager_vs_eager": {"value": _rel(e2[0], e1[0]), "grad": _rel(e2[1], e1[1])},
            "graph_vs_eager": {"value": _rel(g1[0], e1[0]), "grad": _rel(g1[1], e1[1])},
            "graph_replay_vs_eager": {"value": _rel(g2[0], e1[0]), "grad": _rel(g2[1], e1[1])},
            "bit_equal_value": bool(torch.equal(g2[0], e1[0])),
            "bit_equal_grad": bool(torch.equal(g2[1], e1[1])),
            "eager_ms": statistics.median(t["eager"]),
            "graph_ms": statistics.median(t["graph"]),
        }
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the CUDA-graph comparison as JSON")
    args = ap.parse_args()
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
    # one path's loss from a CUDA graph (scrapl_edu.cuda_graphs) against the eager loss
    report = graphed_vs_eager(j)
    ok = True
    print("path | graph vs eager (value, grad) | eager vs eager | bit-equal | eager ms | graph ms")
    for p, r in report.items():
        ge, ee = r["graph_replay_vs_eager"], r["eager_vs_eager"]
        print(
            f"{p} | {ge['value']:.1e}, {ge['grad']:.1e} | {ee['value']:.1e}, {ee['grad']:.1e} | "
            f"{r['bit_equal_value']}, {r['bit_equal_grad']} | {r['eager_ms']:.2f} | "
            f"{r['graph_ms']:.2f} (x{r['eager_ms'] / r['graph_ms']:.2f})"
        )
        for k in ("value", "grad"):  # float32 slack on top of eager's own spread
            ok &= max(ge[k], r["graph_vs_eager"][k]) <= 10 * ee[k] + 1e-5
    if args.out:
        info = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
        args.out.write_text(json.dumps({"machine": info, "cuda_graph_path_loss": report}, indent=1))
        print(f"-> {args.out}")
    if not ok:
        print("FAIL: a graphed loss differs from the eager one beyond eager's own spread")
        sys.exit(1)


if __name__ == "__main__":
    main()
