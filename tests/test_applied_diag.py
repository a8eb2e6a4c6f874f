"""The applied-step diagnostic (issue 10 item 3): what P-Adam and P-SAGA change in a lab run.

* :func:`scrapl_edu.diagnostics.applied_directions` gives the numbers of the deep-copy
  reference :func:`scrapl_edu.diagnostics.optimizer_directions` and leaves the optimizer as
  it was;
* the per-path gradient table of the lab's probe equals back-propagating each path loss of
  the run's own loss function (:func:`scrapl_edu.diagnostics.per_path_gradients`);
* the diagnostic does not change a run (same results with it on and off), is recorded in
  ``results.json`` and in every :class:`~scrapl_edu.lab.Snapshot`;
* on a seeded run P-SAGA lowers the applied step's variance over the path draw after
  warm-up, while the raw one-path gradient's relative variance stays of the same order.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch import nn

from scrapl_edu import lab, viz
from scrapl_edu.diagnostics import (
    applied_directions,
    flat_grad,
    optimizer_directions,
    per_path_gradients,
)
from scrapl_edu.lab.applied import make_probe, path_gradient_table
from scrapl_edu.lab.train import applied_due, build_parts
from scrapl_edu.optim import SCRAPLOptimizer


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize("p_adam,p_saga", list(itertools.product([True, False], repeat=2)))
def test_applied_directions_equal_the_deep_copy_reference(p_adam, p_saga):
    torch.manual_seed(0)
    P = 6
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    X, Y = torch.randn(P, 8, 5), torch.randn(P, 8, 2)

    def path_loss(m, p):
        return (m(X[p]) - Y[p]).pow(2).mean()

    opt = SCRAPLOptimizer(
        model.parameters(), n_paths=P, lr=1e-2, weight_decay=0.1, p_adam=p_adam, p_saga=p_saga
    )
    for k in range(15):  # paths 4 and 5 never visited: first-visit directions too
        opt.zero_grad()
        path_loss(model, k % 4).backward()
        opt.step(path=k % 4)
    params = list(model.parameters())
    G = torch.stack([flat_grad(path_loss(model, p), params) for p in range(P)])
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = json.dumps(str(opt.state_dict()))
    want = optimizer_directions(model, opt, path_loss, range(P))
    got = applied_directions(opt, G, exclude_weight_decay=False)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-9)
    w = torch.cat([q.detach().reshape(-1).double() for q in params])
    torch.testing.assert_close(applied_directions(opt, G), got - 0.1 * w)
    off = applied_directions(opt, G, overrides={"p_saga": False}, exclude_weight_decay=False)
    ref_off = optimizer_directions(model, opt, path_loss, range(P), overrides={"p_saga": False})
    torch.testing.assert_close(off, ref_off, rtol=1e-6, atol=1e-9)
    # the optimizer and the weights are as they were
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert json.dumps(str(opt.state_dict())) == state and opt.global_step == 15
    with pytest.raises(ValueError, match="G must have shape"):
        applied_directions(opt, G[:, :-1])


def test_probe_gradient_table_equals_backprop_of_the_runs_path_loss():
    cfg = lab.make_config("classroom", fast=True, loss="scrapl")
    parts, state = build_parts(cfg)
    x = parts.data["x_train"][:2]
    probe = make_probe(parts.jtfs, x, shift_seed=11)
    G = path_gradient_table(state.encoder, parts.synth, parts.jtfs, probe, loss_scale=1e8)
    assert G.shape == (parts.n_paths, sum(w.numel() for w in state.encoder.parameters()))
    enc = state.encoder.eval()

    def path_loss(p):  # the run's own loss (losses.path_distance), the probe's shifts
        x_hat = parts.synth(enc(x), generator=torch.Generator().manual_seed(11))
        return 1e8 * state.loss_fn.path_loss(x_hat, x, p)

    paths = [0, parts.n_paths // 2, parts.n_paths - 1]
    want = per_path_gradients(enc, path_loss, parts.n_paths)[paths]
    rel = (G[paths] - want).norm(dim=1) / want.norm(dim=1)
    assert float(rel.max()) < 1e-3, rel  # float32 transforms, two orders of summation


def test_diagnostic_changes_nothing_and_is_recorded(tmp_path):
    snaps: list[lab.Snapshot] = []
    on = lab.make_config(
        "classroom", fast=True, loss="scrapl", steps=8, val_every=2, applied_every=4
    )
    res_on = lab.run(on, tmp_path / "on", progress=False, callback=snaps.append)
    off = lab.make_config(
        "classroom", fast=True, loss="scrapl", steps=8, val_every=2, applied_diag=False
    )
    res_off = lab.run(off, None, progress=False)
    assert res_on.test_theta_l1_permille == res_off.test_theta_l1_permille
    assert res_on.val_theta_l1_permille == res_off.val_theta_l1_permille
    assert res_on.history["loss"] == res_off.history["loss"]
    assert [a["step"] for a in res_on.applied_diag] == [0, 4, 8]
    assert res_off.applied_diag is None and res_off.applied_s == 0.0
    saved = json.loads((tmp_path / "on" / "results.json").read_text())
    assert [a["step"] for a in saved["applied_diag"]] == [0, 4, 8]
    assert saved["applied_s"] == pytest.approx(sum(a["seconds"] for a in saved["applied_diag"]))
    for a in saved["applied_diag"]:
        assert a["var"] > 0 and -1.0 <= a["cos"] <= 1.0 and -1.0 <= a["mean_cos"] <= 1.0
    # each snapshot holds the diagnostic measured so far; the dashboard panel reads it
    assert [len(s.applied) for s in snaps] == [1, 1, 2, 2, 3]  # validations 0, 2, ..., 8
    panel = viz.lab_progress_panels(snaps[-1])["variance"]
    assert list(panel[0]) == [0, 4, 8] and np.allclose(
        panel[1], [a["var"] for a in res_on.applied_diag]
    )
    # only SCRAPL runs are measured, at multiples of applied_every and the last step
    assert applied_due(on, 0) and applied_due(on, 8) and not applied_due(on, 6)
    assert not applied_due(lab.make_config("classroom", fast=True, loss="jtfs"), 0)
    with pytest.raises(ValueError, match="applied_every"):
        lab.make_config("classroom", fast=True, applied_every=0).validate()


#: a small JTFS for the P-SAGA test: P = 20 paths, so 120 steps visit each path ~6 times,
#: as the classroom's 400 steps do with its 63 paths
SMALL_JTFS = {"J": 6, "J_fr": 1, "F": 2}


def _applied(p_saga: bool, steps: int, every: int) -> list[dict]:
    cfg = lab.make_config(
        "classroom",
        fast=True,
        loss="scrapl",
        steps=steps,
        val_every=every,
        applied_every=every,
        p_saga=p_saga,
        theta_is=False,
        jtfs=SMALL_JTFS,
    )
    return lab.run(cfg, None, progress=False).applied_diag


def test_p_saga_lowers_the_applied_variance_after_warm_up():
    """Seeded small run (fast preset, P = 20, seed 0): P-SAGA on vs off, P-Adam on, uniform π.

    Both start from the same state (same variance at step 0). After every path has been
    visited a few times, the step P-SAGA applies varies less over the path draw than the
    step without the table (Eq. 9: g_current − ĝ_p + g_avg, where ĝ_p is path p's last
    g_current), while the raw one-path gradient, which neither switch touches, keeps a
    relative variance of the same order. The classroom measurement (the issue's 3x) is in
    the README; here the factor at the end of the run must exceed 1.5.
    """
    on, off = _applied(True, steps=120, every=30), _applied(False, steps=120, every=30)
    assert on[0]["var"] == pytest.approx(off[0]["var"])  # nothing applied yet: same state
    ratios = [b["var"] / a["var"] for a, b in zip(on, off)]
    raw = on[-1]["raw_rel_var"] / off[-1]["raw_rel_var"]
    print(
        f"\napplied variance ratio (off / on) per measurement: {np.round(ratios, 2)}; raw {raw:.2f}"
    )
    assert ratios[-1] > 1.5
    assert ratios[-1] > ratios[1]  # grows with the warm-up
    assert 0.2 < raw < 5.0


def test_variance_ratio_counts_only_the_measurements_after_warm_up():
    from scrapl_edu.lab.applied import variance_ratio

    base = [{"step": s, "var": v, "cos": 0.1} for s, v in ((0, 9.0), (50, 8.0), (100, 6.0))]
    treated = [{"step": s, "var": v, "cos": 0.3} for s, v in ((0, 9.0), (50, 2.0), (100, 3.0))]
    r = variance_ratio(base, treated, after_step=50)
    assert r["steps"] == [50, 100] and r["per_step"] == [4.0, 2.0]
    assert r["ratio"] == pytest.approx(7.0 / 2.5) and r["treated_cos"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="after_step=200"):
        variance_ratio(base, treated, after_step=200)
