"""(b) How much of the full gradient's theta_AM component survives in the step the optimizer
applies?  At a checkpoint (encoder + SCRAPLOptimizer state + sampler pi), on a fixed probe batch
(16 training signals, one fixed shift draw, encoder in eval mode):

  G_p    raw per-path gradient dw of 1e8 L_p;  g = mean_p G_p  (the full JTFS gradient)
  D_p    the direction the optimizer would apply if path p were drawn (optimizer_directions)
  J_b,u  d theta_hat[b,u] / dw

For a direction d (step -lr d) the predicted change of theta_hat is -lr J d.  We report per
parameter u:
  prog_u(d)  = mean_b -sign(theta_hat_bu - theta_bu) * (-(J_bu . d))  per unit lr: the rate at
              which the probe's L1 error of u falls (> 0: the step helps u)
  feat_u(d)  = the same after removing the batch mean of -J_bu.d (what is left once a common
              shift of theta_hat_u is removed: the example-dependent, feature part)
  cosJ_u(d)  = cos between -J_u d and -J_u g over the batch (theta_hat_u motion vs full gradient)
for: g (raw full gradient), sign(g) (Adam's first step on g), E_pi[D_p] (the mean applied step),
and per draw (mean and std over p ~ pi of prog_u(D_p)).  Also cos(D_p, g) in weight space.

Usage (the run's make_config overrides as ``key=value``; FINDINGS.md, "(b) How much of the
full gradient survives in the applied step"; checkpoints from :mod:`ckpt_run`; ``PROBE_B``
sets the probe batch, default 32)::

    python -m experiments.lab.theta_am_diagnosis.probe_applied SEED CKPT key=value ...
    python -m experiments.lab.theta_am_diagnosis.probe_applied 0 \\
        data/results/lab/theta_am_diagnosis/out/scrapl_s0/ckpt_200.pt
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

from experiments.lab.theta_am_diagnosis.common import (
    encoder_jacobian,
    predict,
    setup,
    theta_grads,
)
from experiments.lab.theta_am_diagnosis.run_one import parse_overrides
from scrapl_edu import lab
from scrapl_edu.diagnostics import flat_grad, optimizer_directions
from scrapl_edu.losses import path_distance
from scrapl_edu.optim import SCRAPLOptimizer


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    seed, ckpt = int(argv[0]), argv[1]
    over = parse_overrides(argv[2:])
    cfg = lab.make_config("classroom", seed=seed, **over)
    ns = setup(cfg)
    ck = torch.load(ckpt, weights_only=False)
    ns.enc.load_state_dict(ck["encoder"])
    ns.enc.eval()
    P = ns.jtfs.n_paths
    opt = SCRAPLOptimizer(
        ns.enc.parameters(),
        n_paths=P,
        lr=cfg.lr,
        betas=cfg.betas,
        eps=cfg.eps,
        weight_decay=0.0,
        p_adam=cfg.p_adam,
        p_saga=cfg.p_saga,
    )
    if cfg.loss_kind.samples_paths:
        opt.load_state_dict(ck["optimizer"])
    for g in opt.param_groups:
        g["weight_decay"] = 0.0
    probs = torch.tensor(ck["state"]["theta_is_probs"] or [1.0 / P] * P, dtype=torch.float64)
    print(
        "val per param (am, fm) at validations:",
        [[round(v) for v in pp] for pp in ck["state"]["val_pp"]],
    )
    B = int(os.environ.get("PROBE_B", 32))
    x = ns.data["x_train"][:B]
    th = ns.data["theta_train"][:B]
    sh = ns.synth.sample_shifts(B, generator=torch.Generator().manual_seed(12345))
    th_hat = predict(ns.enc, x)
    err_sign = torch.sign(th_hat - th).double()
    t0 = time.time()
    J = encoder_jacobian(ns.enc, x)  # B,U,W

    S = theta_grads(ns, x, th_hat, sh, scale=cfg.loss_scale)  # P,B,U
    G = torch.einsum("pbu,buw->pw", S, J)  # raw per-path gradients (chain rule, eval mode)
    g = G.mean(0)
    # the parts of the full gradient that come from theta_AM and from theta_FM (chain rule split)
    g_am = torch.einsum("b,bw->w", S[:, :, 0].mean(0), J[:, 0])
    g_fm = torch.einsum("b,bw->w", S[:, :, 1].mean(0), J[:, 1])
    # check the chain rule against autograd through encoder + synth + JTFS on one path
    _p = int(G.norm(dim=1).argmax())
    _ref = flat_grad(
        path_distance(ns.jtfs, ns.synth(ns.enc(x), shifts=sh), x, _p) * cfg.loss_scale,
        [w for w in ns.enc.parameters()],
    )
    assert float((_ref - G[_p]).norm() / _ref.norm()) < 1e-4, float(
        (_ref - G[_p]).norm() / _ref.norm()
    )

    def path_loss(model, p):
        # a linear surrogate whose gradient is exactly G_p: the optimizer sees the same .grad as if
        # L_p had been back-propagated, without re-running the JTFS for every candidate path
        flat = torch.cat([w.reshape(-1) for w in model.parameters()]).double()
        return (flat * G[p]).sum()

    res = {
        "seed": seed,
        "ckpt": ckpt,
        "over": over,
        "l1": ((th_hat - th).abs().mean(0) * 1000).tolist(),
    }

    thc = (th - th.mean(0)).double()
    ahc = (th_hat - th_hat.mean(0)).double()
    corr0 = [
        float((ahc[:, u] * thc[:, u]).sum() / (ahc[:, u].norm() * thc[:, u].norm() + 1e-30))
        for u in range(2)
    ]
    res["corr"] = corr0

    def dcorr(mot, u):
        """first-order change of corr(theta_hat_u, theta_u) along the motion mot (per unit lr)"""
        m = mot[:, u] - mot[:, u].mean()
        a = ahc[:, u]
        y = thc[:, u]
        na, ny = a.norm() + 1e-30, y.norm()
        return float((m @ y) / (na * ny) - (a @ y) * (a @ m) / (na**3 * ny))

    def metrics(d):
        mot = -(J @ d)  # B,U : theta_hat motion per unit lr
        prog = (-err_sign * mot).mean(0)
        motc = mot - mot.mean(0, keepdim=True)
        feat = (-err_sign * motc).mean(0)
        mg = -(J @ g)
        cos = [
            float(torch.nn.functional.cosine_similarity(mot[:, u], mg[:, u], dim=0))
            for u in range(2)
        ]
        dc = [dcorr(mot, u) for u in range(2)]
        dn = d / d.norm()
        dcn = [dcorr(-(J @ dn), u) for u in range(2)]
        return {
            "prog": prog.tolist(),
            "feat": feat.tolist(),
            "cosJ": cos,
            "dcorr": dc,
            "dcorr_unit": dcn,
            "cos_w": float(torch.nn.functional.cosine_similarity(d, g, dim=0)),
            "norm": float(d.norm()),
            "cos_am": float(torch.nn.functional.cosine_similarity(d, g_am, dim=0)),
            "cos_fm": float(torch.nn.functional.cosine_similarity(d, g_fm, dim=0)),
        }

    res["full_grad"] = metrics(g)
    res["g_am_over_g"] = float(g_am.norm() / g.norm())
    res["cos_gam_gfm"] = float(torch.nn.functional.cosine_similarity(g_am, g_fm, dim=0))
    print(f"|g_am|/|g| {res['g_am_over_g']:.3f}  cos(g_am, g_fm) {res['cos_gam_gfm']:+.3f}")
    res["sign_full_grad"] = metrics(torch.sign(g))
    # normalise the raw gradient like a per-coordinate Adam step with v from the raw per-path table
    res["raw_paths_mean_prog"] = {"mean_pi": metrics((probs[:, None] * G).sum(0))}
    # stationary models of what each update rule applies in expectation over the path draw, from
    # the raw per-path table G alone (no history): shared Adam ~ E[G] / sqrt(E[G^2]) (the moments
    # average over draws), P-Adam ~ E_pi[G_p / |G_p|] (each path normalised by its own moments,
    # per coordinate, then averaged: one vote per path), full-JTFS Adam ~ g / |g| = sign(g).
    uni = torch.full((P,), 1.0 / P, dtype=torch.float64)
    for nm, pi_ in (("uniform", uni), ("pi", probs)):
        mu = (pi_[:, None] * G).sum(0)
        m2 = (pi_[:, None] * G * G).sum(0)
        res[f"model_shared_adam_{nm}"] = metrics(mu / m2.sqrt().clamp_min(1e-30))
        res[f"model_p_adam_{nm}"] = metrics((pi_[:, None] * torch.sign(G)).sum(0))
    variants = {"own": {}} if cfg.loss_kind.samples_paths else {}
    if cfg.p_saga:
        variants["no_saga_term"] = {"p_saga": False}
    for name, ovr in variants.items():
        D = optimizer_directions(ns.enc, opt, path_loss, list(range(P)), overrides=ovr)
        Dm = (probs[:, None] * D).sum(0)
        per = [metrics(D[p]) for p in range(P)]
        ca = np.array([m["cos_am"] for m in per])
        cf = np.array([m["cos_fm"] for m in per])
        pa = np.array([m["prog"] for m in per])  # P,U
        pc = np.array([m["dcorr"] for m in per])
        cm = (probs.numpy()[:, None] * pc).sum(0)
        cs = np.sqrt((probs.numpy()[:, None] * (pc - cm) ** 2).sum(0))
        pi = probs.numpy()
        mean = (pi[:, None] * pa).sum(0)
        std = np.sqrt((pi[:, None] * (pa - mean) ** 2).sum(0))
        res[name] = {
            "mean_dir": metrics(Dm),
            "per_draw_prog_mean": mean.tolist(),
            "per_draw_prog_std": std.tolist(),
            "per_draw_cos_w_mean": float(sum(pi[p] * per[p]["cos_w"] for p in range(P))),
            "per_draw_cos_am_mean": float((pi * ca).sum()),
            "per_draw_cos_fm_mean": float((pi * cf).sum()),
            "per_draw_prog": pa.tolist(),
            "per_draw_dcorr_mean": cm.tolist(),
            "per_draw_dcorr_std": cs.tolist(),
            "per_draw_dcorr": pc.tolist(),
        }
    res["s"] = round(time.time() - t0, 1)
    out = ckpt.replace(".pt", "_applied.json")
    json.dump(res, open(out, "w"))

    def show(tag, m):
        print(
            f"  {tag:28s} prog am {m['prog'][0]:+.3g} fm {m['prog'][1]:+.3g} | feat am {m['feat'][0]:+.3g} fm {m['feat'][1]:+.3g}"
            f" | dcorr am {m['dcorr'][0]:+.3g} fm {m['dcorr'][1]:+.3g} | unit-d dcorr am {m['dcorr_unit'][0]:+.3g} fm {m['dcorr_unit'][1]:+.3g} | cos_w {m['cos_w']:+.3f} |d| {m['norm']:.3g}"
        )

    print(
        f"{ckpt} {over} probe L1 am {res['l1'][0]:.0f} fm {res['l1'][1]:.0f} corr am {corr0[0]:+.2f} fm {corr0[1]:+.2f} ({res['s']} s)"
    )
    show("full gradient g", res["full_grad"])
    show("sign(g)", res["sign_full_grad"])
    show("E_pi[G_p] (raw)", res["raw_paths_mean_prog"]["mean_pi"])
    for k in [k for k in res if k.startswith("model_")]:
        show(k, res[k])
    for name in variants:
        r = res[name]
        show(f"E_pi[D_p] ({name})", r["mean_dir"])
        print(
            f"    per draw: prog am {r['per_draw_prog_mean'][0]:+.3g} ± {r['per_draw_prog_std'][0]:.3g}  fm {r['per_draw_prog_mean'][1]:+.3g} ± {r['per_draw_prog_std'][1]:.3g}  mean cos_w {r['per_draw_cos_w_mean']:+.3f} cos_am {r['per_draw_cos_am_mean']:+.3f} cos_fm {r['per_draw_cos_fm_mean']:+.3f}; dcorr am {r['per_draw_dcorr_mean'][0]:+.3g} ± {r['per_draw_dcorr_std'][0]:.3g} fm {r['per_draw_dcorr_mean'][1]:+.3g} ± {r['per_draw_dcorr_std'][1]:.3g}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
