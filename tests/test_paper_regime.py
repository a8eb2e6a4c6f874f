"""The paper-regime switches: presets, the path-loss definition, the first order, π from a file.

Numbers are checked against the definitions written out here from the coefficients (Eq. 3
and the authors' unsquared per-path norm), not against the library's own loss values.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from scrapl_edu import JTFS
from scrapl_edu.lab import make_config
from scrapl_edu.lab.cli import main as cli_main
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, path_distance
from scrapl_edu.presets import PRESETS
from scrapl_edu.theta_is import load_probs

PAPER_PRESETS = ("classroom_paper", "classroom_am1-2_fm0.5-1_paper", "classroom_granular_paper")


@pytest.fixture(scope="module")
def jtfs_small() -> JTFS:
    return JTFS(shape=1024, J=4, Q1=4, Q2=1, J_fr=2, Q_fr=1)


@pytest.fixture(scope="module")
def signals() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    t = torch.arange(1024) / 1024
    x = torch.sin(2 * torch.pi * 60 * t) * (1 + torch.sin(2 * torch.pi * 4 * t))
    x = torch.stack([x, 0.5 * torch.randn(1024, generator=gen)])[:, None, :]
    x_hat = x + 0.3 * torch.randn(x.shape, generator=gen)
    return x_hat, x


# ------------------------------------------------------------------------ the presets
@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_paper_presets_are_the_classroom_task_with_the_papers_optimisation(name: str) -> None:
    paper = make_config(name)
    classroom = make_config(name.removesuffix("_paper"))
    # Table 11: lr 1e-4, 50 epochs of 96 steps; theta-IS on 32 signals x 20 iterations
    assert (paper.lr, paper.steps, paper.weight_decay) == (1e-4, 4800, 0.01)
    assert (paper.theta_is_examples, paper.theta_is_iters) == (32, 20)
    assert paper.batch_size == classroom.batch_size == 8
    # the task is the classroom's: same synth, JTFS (P = 63), front end and data set
    renamed = dataclasses.replace(classroom.synth_config(), name=name)
    assert paper.synth_config() == renamed
    assert (paper.jtfs, paper.frontend, paper.n_examples) == (
        classroom.jtfs,
        classroom.frontend,
        classroom.n_examples,
    )
    assert paper.n_paths() == 63
    assert paper.probe_size() == paper.batch_size


@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_paper_presets_take_a_step_in_fast_mode(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    out = tmp_path / "run"
    argv = ["run", "--preset", name, "--max-steps", "1", "--no-progress", "--threads", "1"]
    assert cli_main([*argv, "--theta-is-iters", "1", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["preset"] == name and res["config"]["fast"]
    assert math.isfinite(res["test_theta_l1_permille"])


# ------------------------------------------------------------------- the path loss
def test_norm_path_loss_is_the_unsquared_norm(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    with torch.no_grad():
        S, S_hat = jtfs_small(x), jtfs_small(x_hat)
        for p in (0, 3, P - 1):
            per_example = ((S[:, p] - S_hat[:, p]) ** 2).sum(dim=(1, 2)).sqrt()
            got = path_distance(jtfs_small, x_hat, x, p, path_loss="norm")
            torch.testing.assert_close(got, per_example.mean())
            loss = SCRAPLLoss(jtfs_small, path_loss="norm")
            torch.testing.assert_close(loss(x_hat, x, path=p), per_example.mean())


def test_expected_path_loss_against_the_full_loss_for_both_definitions(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    with torch.no_grad():
        mean_sq = torch.stack([SCRAPLLoss(jtfs_small)(x_hat, x, path=p) for p in range(P)]).mean()
        full_sq = JTFSLoss(jtfs_small)(x_hat, x)
        mean_norm = torch.stack(
            [SCRAPLLoss(jtfs_small, path_loss="norm")(x_hat, x, path=p) for p in range(P)]
        ).mean()
        full_norm = JTFSLoss(jtfs_small, path_loss="norm")(x_hat, x)
        S, S_hat = jtfs_small(x), jtfs_small(x_hat)
    # Eq. 3 (Prop. 3.1): E_uniform[L_p] is the full loss
    torch.testing.assert_close(mean_sq, full_sq, rtol=1e-5, atol=0)
    # the authors' full loss is the norm of all coefficients at once
    whole = ((S - S_hat) ** 2).sum(dim=(1, 2, 3)).sqrt().mean()
    torch.testing.assert_close(full_norm, whole)
    # ... and E_uniform[L_p] is only bounded by it: ||D||/P <= mean_p ||D_p|| <= ||D||/sqrt(P)
    # (per example; both bounds are means of per-example bounds)
    assert full_norm / P <= mean_norm <= full_norm / math.sqrt(P) * (1 + 1e-6)
    assert not torch.isclose(mean_norm, full_norm, rtol=1e-2)


def test_first_order_adds_the_averaged_scalogram(jtfs_small, signals) -> None:
    x_hat, x = signals
    with torch.no_grad():
        S1, S1_hat = jtfs_small.scalogram(x), jtfs_small.scalogram(x_hat)
        extra = ((S1 - S1_hat) ** 2).sum(dim=(1, 2))
        S, S_hat = jtfs_small(x), jtfs_small(x_hat)
        second = ((S - S_hat) ** 2).sum(dim=(1, 2, 3))
        got_sq = JTFSLoss(jtfs_small, first_order=True)(x_hat, x)
        got_norm = JTFSLoss(jtfs_small, path_loss="norm", first_order=True)(x_hat, x)
    torch.testing.assert_close(got_sq, (second + extra).mean())
    torch.testing.assert_close(got_norm, (second + extra).sqrt().mean())
    assert float(extra.min()) > 0


def test_path_loss_and_first_order_are_checked_by_name() -> None:
    with pytest.raises(ValueError, match="path_loss must be one of squared, norm"):
        make_config("classroom", path_loss="l1").validate()
    with pytest.raises(ValueError, match="jtfs_first_order .* needs loss='jtfs'"):
        make_config("classroom", loss="scrapl", jtfs_first_order=True).validate()
    with pytest.raises(ValueError, match="path_loss must be one of"):
        JTFSLoss(JTFS(shape=1024, J=4, Q1=4, Q2=1, J_fr=2, Q_fr=1), path_loss="abs")


# ------------------------------------------------------------------------ pi files
def _save(path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


def test_load_probs_refuses_bad_files_by_name(tmp_path) -> None:
    good = np.full(5, 0.2)
    assert torch.equal(load_probs(_save(tmp_path / "ok.npz", probs=good), 5), torch.tensor(good))
    cases = {
        "missing.npz": (None, "does not exist"),
        "wrong_p.npz": ({"probs": np.full(4, 0.25)}, "P=5"),
        "no_key.npz": ({"pi": good}, "no array 'probs'"),
        "sum.npz": ({"probs": good * 1.4}, "sum to 1.4"),
        "neg.npz": ({"probs": np.array([0.6, 0.6, -0.2, 0.0, 0.0])}, ">= 0"),
        "nan.npz": ({"probs": np.array([np.nan, 0.25, 0.25, 0.25, 0.25])}, "finite"),
    }
    for name, (arrays, message) in cases.items():
        path = tmp_path / name
        if arrays is not None:
            _save(path, **arrays)
        with pytest.raises(ValueError, match=message) as err:
            load_probs(path, 5)
        assert name in str(err.value)  # the file is named
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_probs(garbage, 5)


def test_a_pi_file_holding_a_pickle_is_refused_without_running_it(tmp_path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    np.savez(path, probs=np.array([Evil()], dtype=object))
    with pytest.raises(ValueError, match="evil.npz"):
        load_probs(path, 1)
    assert not marker.exists()


def test_pi_file_needs_scrapl_with_theta_is(tmp_path) -> None:
    path = _save(tmp_path / "pi.npz", probs=np.full(63, 1 / 63))
    make_config("classroom_paper", pi_file=path).validate()  # fine: P = 63
    with pytest.raises(ValueError, match="pi_file replaces theta-IS"):
        make_config("classroom_paper", theta_is=False, pi_file=path).validate()
    with pytest.raises(ValueError, match="pi_file replaces theta-IS"):
        make_config("classroom_paper", loss="mss", pi_file=path).validate()
    with pytest.raises(ValueError, match="P=35"):  # fast mode's JTFS has 35 paths
        make_config("classroom_paper", fast=True, pi_file=path).validate()


def test_a_pi_file_gives_the_run_that_computing_it_gives(tmp_path, monkeypatch) -> None:
    """theta-IS computed in a run, saved, then read back: the same π and the same results."""
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    base = ["run", "--preset", "classroom_granular_paper", "--path-loss", "norm"]
    base += ["--max-steps", "3", "--no-progress", "--threads", "1", "--theta-is-iters", "1"]
    assert cli_main([*base, "--out", str(tmp_path / "a")]) == 0
    probs = np.load(tmp_path / "a" / "theta_is.npz")["probs"]
    pi = _save(tmp_path / "pi.npz", probs=probs)
    assert cli_main([*base, "--pi", pi, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "results.json").read_text())
    b = json.loads((tmp_path / "b" / "results.json").read_text())
    assert a["theta_is_probs"] == b["theta_is_probs"]
    assert a["test_theta_l1_permille"] == b["test_theta_l1_permille"]
    assert b["config"]["pi_file"] == pi and b["config"]["path_loss"] == "norm"


def test_the_stored_reference_pis_fit_the_paper_presets() -> None:
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data/results/lab/paper_regime/pi"
    for preset, name in (
        ("classroom_paper", "classroom_squared_16x20_seed0.npz"),
        ("classroom_granular_paper", "classroom_granular_squared_16x20_seed0.npz"),
    ):
        P = make_config(preset).n_paths()
        probs = load_probs(folder / name, P)
        assert probs.shape == (P,) and preset in PRESETS
