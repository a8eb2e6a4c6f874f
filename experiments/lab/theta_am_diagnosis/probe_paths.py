"""(a) Which paths carry the theta_AM information?  Per-path gradients wrt theta_hat on a fixed
probe batch, at the untrained encoder or at a checkpoint.

Usage (FINDINGS.md, "(a) Which paths carry θ_AM"; checkpoints from :mod:`ckpt_run`)::

    python -m experiments.lab.theta_am_diagnosis.probe_paths SEED [CKPT] [--B 16] [--draws 2] \\
        [--tis] [--out file.json]
    python -m experiments.lab.theta_am_diagnosis.probe_paths 0 --tis
    python -m experiments.lab.theta_am_diagnosis.probe_paths 0 \\
        data/results/lab/theta_am_diagnosis/out/scrapl_s0/ckpt_200.pt

For every path p, example b, shift draw r: s[p,b,r,u] = d(1e8 L_p)/d theta_hat[b,u] with
x_hat = synth(theta_hat, random shift).  Descent moves theta_hat by -s, so s is *helpful* for
parameter u when sign(s) = sign(theta_hat - theta).  Reported per path:
  help_u  = sum_{b,r} s * sign(theta_hat - theta)  (>0: the path pulls theta_hat toward theta)
  align_u = help_u / sum |s|  in [-1, 1]  (1: every example pulled the right way; 0: noise)
  mag_u   = rms of s
The full JTFS gradient wrt theta_hat is (1/P) sum_p s.  Also with x_hat at the data's own shift
('aligned', no shift noise) for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from experiments.lab.theta_am_diagnosis.common import (
    data_shifts,
    path_table,
    predict,
    setup,
    theta_grads,
)
from scrapl_edu import lab
from scrapl_edu.losses import SCRAPLLoss
from scrapl_edu.theta_is import theta_importance_sampling

NAMES = ["am", "fm"]


def stats(S, sgn):
    """Per path: help, align, rms magnitude; the full JTFS gradient's help and align."""
    help_ = (S * sgn).sum((1, 2))  # P,U
    absu = S.abs().sum((1, 2))
    align = help_ / absu.clamp_min(1e-30)
    mag = S.pow(2).mean((1, 2)).sqrt()
    full = S.mean(0)  # B,R,U : the full JTFS gradient per example / draw
    fhelp = (full * sgn[0]).sum((0, 1))
    falign = fhelp / full.abs().sum((0, 1))
    # per-example sign consistency of each path across shift draws and examples:
    # fraction of (b, r) where the path's s_am has the helpful sign
    frac_ok = ((S * sgn) > 0).double().mean((1, 2))
    return help_, align, mag, full, fhelp, falign, frac_ok


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("ckpt", nargs="?")
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--draws", type=int, default=2)
    ap.add_argument("--tis", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--preset", default="classroom")
    ap.add_argument("--over", default="{}")
    a = ap.parse_args(argv)
    cfg = lab.make_config(a.preset, seed=a.seed, **json.loads(a.over))
    ns = setup(cfg)
    if a.ckpt:
        ck = torch.load(a.ckpt, weights_only=False)
        ns.enc.load_state_dict(ck["encoder"])
    idx = list(range(a.B))
    x = ns.data["x_train"][idx]
    th = ns.data["theta_train"][idx]
    th_hat = predict(ns.enc, x)
    P = ns.jtfs.n_paths
    t0 = time.time()
    gen = torch.Generator().manual_seed(12345)
    S = []
    for _ in range(a.draws):
        sh = ns.synth.sample_shifts(a.B, generator=gen)
        S.append(theta_grads(ns, x, th_hat, sh))
    S = torch.stack(S, 2)  # P, B, R, U
    S_al = theta_grads(ns, x, th_hat, data_shifts(ns, idx)).unsqueeze(2)  # aligned: P,B,1,U
    err = (th_hat - th).double()  # B,U
    l1 = err.abs().mean(0) * 1000
    sgn = torch.sign(err)[None, :, None, :]
    res = {
        "seed": a.seed,
        "ckpt": a.ckpt,
        "l1_permille": l1.tolist(),
        "P": P,
        "paths": path_table(ns.jtfs),
    }
    for tag, SS in (("random_shift", S), ("aligned", S_al)):
        help_, align, mag, full, fhelp, falign, frac_ok = stats(SS, sgn)
        block = {"full_align": falign.tolist(), "full_help": fhelp.tolist()}
        for u, nm in enumerate(NAMES):
            h = help_[:, u]
            order = torch.argsort(h, descending=True)
            tot = float(h.sum())  # = P * full help (sum over paths)
            pos = float(h.clamp_min(0).sum())
            cum = torch.cumsum(h[order], 0) / tot
            block[nm] = {
                "help": h.tolist(),
                "align": align[:, u].tolist(),
                "mag": mag[:, u].tolist(),
                "frac_ok": frac_ok[:, u].tolist(),
                "order": order.tolist(),
                "share_topk": {k: float(cum[k - 1]) for k in (1, 3, 5, 10, 20)},
                "pos_over_total": pos / tot if tot else float("nan"),
                "n_helpful_paths": int((h > 0).sum()),
            }
        res[tag] = block
    res["probe_s"] = round(time.time() - t0, 1)

    if a.tis:
        ns.enc.eval()
        r = theta_importance_sampling(
            ns.enc,
            ns.synth,
            SCRAPLLoss(ns.jtfs).path_loss,
            ns.data["x_train"][: cfg.theta_is_examples],
            n_iter=cfg.theta_is_iters,
            n_paths=P,
            synth_seed=cfg.seed,
            power_seed=cfg.seed,
            progress=False,
        )
        res["pi_tis"] = r.probs.tolist()
        res["C_tis"] = r.C.tolist()

    if a.out:
        json.dump(res, open(a.out, "w"))
    # ---- print
    print(
        f"seed {a.seed} ckpt {a.ckpt}  probe theta L1 permille am {l1[0]:.0f} fm {l1[1]:.0f}  ({res['probe_s']} s)"
    )
    for tag in ("random_shift", "aligned"):
        b = res[tag]
        print(f"[{tag}] full-JTFS align am {b['full_align'][0]:+.2f} fm {b['full_align'][1]:+.2f}")
        for nm in NAMES:
            c = b[nm]
            print(
                f"  {nm}: share of full helpful grad in top-k paths {json.dumps({k: round(v, 2) for k, v in c['share_topk'].items()})};"
                f" helpful paths {c['n_helpful_paths']}/{P}; sum(pos)/total {c['pos_over_total']:.2f}"
            )
            for p in c["order"][:8]:
                q = res["paths"][p]
                pis = f" pi_tis {res['pi_tis'][p] * P:.2f}/P" if "pi_tis" in res else ""
                print(
                    f"    p{p:2d} rate {q['rate']:5.1f}Hz scale {q['scale']:+5.2f} j2 {q['j2']} jfr {q['j_fr']}"
                    f"  help {c['help'][p]:+.3g} align {c['align'][p]:+.2f} ok {c['frac_ok'][p]:.2f} mag {c['mag'][p]:.3g}{pis}"
                )


if __name__ == "__main__":
    main(sys.argv[1:])
