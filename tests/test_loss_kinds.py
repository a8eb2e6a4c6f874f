"""One object per loss kind (issue 17 item 6): :mod:`scrapl_edu.lab.loss_kinds`.

* each kind describes itself as the paper's Table 1 has it (P-loss the supervised upper
  bound, MSS the spectral baseline, the full JTFS with all P paths, SCRAPL with one path per
  step and its three switches), and its parts are the ones its description says;
* an unknown name is refused by name, listing the valid ones;
* a new kind is one new object: registered, it trains without an edit elsewhere;
* no loss-name branch is left in ``scrapl_edu`` outside the registry (a count test, with a
  check that the pattern catches what it should).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.lab.config import ROW_LABELS, ROWS, TABLES
from scrapl_edu.lab.loss_kinds import (
    JTFS_LOSSES,
    LOSS_KINDS,
    LOSSES,
    LossKind,
    PLossKind,
    StepLoss,
    loss_kind,
    loss_names_where,
)
from scrapl_edu.lab.train import build_parts, train_step
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss
from scrapl_edu.optim import SCRAPLOptimizer

PACKAGE = Path(__file__).resolve().parents[1] / "scrapl_edu"
REGISTRY = PACKAGE / "lab" / "loss_kinds.py"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


# ----------------------------------------------------------------------- descriptions
#: Table 1's methods: label, supervised, built on the JTFS, one path per step (switches)
TABLE_1 = {
    "p_loss": ("P-loss", True, False, False),
    "mss": ("MSS", False, False, False),
    "jtfs": ("JTFS", False, True, False),
    "scrapl": ("SCRAPL", False, True, True),
}


def test_the_registry_is_table_1_in_order():
    assert LOSSES == tuple(LOSS_KINDS) == tuple(TABLE_1)
    assert lab.LOSSES == LOSSES and lab.LOSS_KINDS is LOSS_KINDS
    assert JTFS_LOSSES == ("jtfs", "scrapl")
    assert set(TABLES["losses"]) == set(LOSSES)  # Table 1 in small has a row per kind


@pytest.mark.parametrize("name", list(TABLE_1))
def test_each_kind_describes_its_table_1_role(name):
    label, supervised, uses_jtfs, one_path = TABLE_1[name]
    kind = LOSS_KINDS[name]
    assert isinstance(kind, LossKind) and kind.name == name and kind.role
    assert kind.label == label == ROW_LABELS[name]  # the table's row name
    assert kind.supervised is supervised
    assert kind.uses_jtfs is uses_jtfs
    assert kind.samples_paths is one_path
    # SCRAPL's switches (Eq. 6-9), theta-IS (Eq. 10-12), adaptive pi and the applied-step
    # diagnostic need a path distribution: they apply exactly where paths are sampled
    for applies in ("switches_apply", "theta_is_applies", "adaptive_pi_applies"):
        assert getattr(kind, applies) is one_path, applies
    assert kind.applied_diag_applies is one_path
    assert kind.first_order is (name == "jtfs")  # the full JTFS loss's S1 term only
    needs = kind.validation_needs
    assert needs[0].startswith("theta L1")
    assert any("path counts" in n for n in needs) is one_path
    assert any("applied-step" in n for n in needs) is one_path


def test_rows_switches_only_on_kinds_that_have_them():
    for row, spec in ROWS.items():
        if not LOSS_KINDS[spec["loss"]].switches_apply:
            assert not any(spec.get(k) for k in ("p_adam", "p_saga", "theta_is")), row


@pytest.mark.parametrize("name", list(TABLE_1))
def test_each_kind_builds_the_parts_it_describes(name):
    _, _, uses_jtfs, one_path = TABLE_1[name]
    cfg = lab.make_config("classroom", fast=True, loss=name, steps=2, theta_is=False)
    assert cfg.loss_kind is LOSS_KINDS[name]
    parts, state = build_parts(cfg)
    assert parts.kind is LOSS_KINDS[name]
    assert (parts.jtfs is not None) is uses_jtfs
    assert (state.loss_fn is None) is (name == "p_loss")
    assert isinstance(state.loss_fn, SCRAPLLoss) is one_path
    assert isinstance(state.loss_fn, JTFSLoss) is (name == "jtfs")
    assert isinstance(state.optimizer, SCRAPLOptimizer) is one_path
    if not one_path:
        assert type(state.optimizer) is torch.optim.AdamW
    train_step(parts, state)
    path = state.history["path"][-1]
    assert (0 <= path < parts.n_paths) if one_path else path == -1
    counts, probs = parts.kind.path_counts(state), parts.kind.final_probs(state)
    assert (counts is not None) is one_path and (probs is not None) is one_path
    if one_path:
        assert sum(counts) == 1 and counts[path] == 1 and len(probs) == parts.n_paths


def test_the_jtfs_losses_are_differentiated_times_loss_scale():
    for name in ("p_loss", "mss", "jtfs", "scrapl"):
        cfg = lab.make_config("classroom", fast=True, loss=name, theta_is=False, loss_scale=4.0)
        parts, state = build_parts(cfg)
        x = parts.data["x_train"][:2]
        step = parts.kind.step_loss(
            parts, state, x, parts.data["theta_train"][:2], state.encoder(x)
        )
        assert isinstance(step, StepLoss)
        want = step.loss * 4.0 if parts.kind.uses_jtfs else step.loss
        assert torch.equal(step.scaled, want), name


def test_progress_tag_names_the_switches_that_are_on():
    cfg = lab.make_config("classroom", fast=True)
    assert cfg.loss_kind.run_tag(cfg) == "[P-Adam+P-SAGA+θ-IS]"
    cfg.p_adam = cfg.p_saga = cfg.theta_is = False
    assert cfg.loss_kind.run_tag(cfg) == "[sampling]"
    assert LOSS_KINDS["jtfs"].run_tag(cfg) == ""


# -------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("bad", ["l2", "SCRAPL", "", None, ["scrapl"]])
def test_an_unknown_kind_is_refused_by_name_listing_the_valid_ones(bad):
    with pytest.raises(ValueError, match=re.escape(f"unknown loss {bad!r}")) as err:
        loss_kind(bad)
    assert "choose one of p_loss, mss, jtfs, scrapl" in str(err.value)
    cfg = lab.make_config("classroom", fast=True)
    cfg.loss = bad
    with pytest.raises(ValueError, match="choose one of p_loss, mss, jtfs, scrapl"):
        cfg.validate()


def test_the_refusals_name_the_kinds_a_setting_needs():
    assert loss_names_where(lambda k: k.switches_apply) == "loss='scrapl'"
    assert loss_names_where(lambda k: k.uses_jtfs) == "loss='jtfs' or loss='scrapl'"
    cfg = lab.make_config("classroom", fast=True, loss="mss", adaptive_pi=True)
    with pytest.raises(ValueError, match="adaptive_pi needs loss='scrapl' with p_adam=True"):
        cfg.validate()
    cfg = lab.make_config("classroom", fast=True, loss="scrapl", jtfs_first_order=True)
    with pytest.raises(ValueError, match="needs loss='jtfs', got loss='scrapl'"):
        cfg.validate()


# ------------------------------------------------------------------ one new object
@dataclass(frozen=True)
class _HalfPLoss(PLossKind):
    """A made-up kind: half the P-loss (only to show that a kind is one object)."""

    def step_loss(self, parts, state, x, theta, theta_hat) -> StepLoss:
        step = super().step_loss(parts, state, x, theta, theta_hat)
        return StepLoss(step.loss / 2, step.scaled / 2, -1)


def test_a_new_kind_is_one_object(monkeypatch):
    monkeypatch.setitem(LOSS_KINDS, "half_p_loss", _HalfPLoss("half_p_loss", "½P", "a test"))
    cfg = lab.make_config("classroom", fast=True, loss="half_p_loss", steps=2, theta_is=False)
    cfg.validate()
    parts, state = build_parts(cfg)
    train_step(parts, state)  # (build and step in turn: the encoder's dropout draws globally)
    ref_cfg = lab.make_config("classroom", fast=True, loss="p_loss", steps=2, theta_is=False)
    ref_parts, ref_state = build_parts(ref_cfg)
    train_step(ref_parts, ref_state)
    assert state.history["loss"][0] == pytest.approx(ref_state.history["loss"][0] / 2)


# ----------------------------------------------------------------------- the count
#: a branch on a loss's name: ``loss == "..."`` / ``!=`` (not ``path_loss``), a comparison
#: with a kind's name, ``.scrapl`` (the former ``RunParts.scrapl``) or ``in JTFS_LOSSES``
BRANCH = re.compile(
    r"(?<![\w.])(?:\w+\.)*loss\s*[!=]=|\[[\"']loss[\"']\]\s*[!=]="
    r"|[!=]=\s*[\"'](?:" + "|".join(LOSSES) + r")[\"']"
    r"|\.scrapl\b(?![-\w])|\bin\s+JTFS_LOSSES\b"
)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of ``path`` with its docstrings and comments blanked (code only)."""
    text = path.read_text()
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for i in range(value.lineno - 1, value.end_lineno):
                    lines[i] = ""
    return [(i + 1, line.split("#")[0]) for i, line in enumerate(lines)]


def loss_branches(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == REGISTRY:
            continue
        for n, line in _code_lines(path):
            if BRANCH.search(line):
                found.append(f"{path.relative_to(root.parent)}:{n}: {line.strip()}")
    return found


def test_no_loss_name_branch_outside_the_registry():
    found = loss_branches(PACKAGE)
    assert not found, "ask the loss kind (LabConfig.loss_kind) instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'if cfg.loss == "scrapl":',
        'if config.loss != "mss":',
        "    scrapl = self.loss.value == 'scrapl'",
        'if e["loss"] == "scrapl":',
        'if config.get("loss", "scrapl") != "scrapl":',
        "if parts.scrapl:",
        "jtfs = build_jtfs(config) if config.loss in JTFS_LOSSES else None",
        'if loss == "jtfs":',
    ],
)
def test_the_branch_pattern_catches_what_it_should(line):
    assert BRANCH.search(line)


@pytest.mark.parametrize(
    "line",
    [
        'loss = sq.sqrt().mean() if probe.path_loss == "norm" else P * sq.mean()',
        'cfg = make_config(preset, loss="scrapl", seed=seed)',
        '"<style>.scrapl-static{font-family:sans-serif}"',
        'for row in ("scrapl", "scrapl_adaptive"):',
        "if kind.switches_apply:",
    ],
)
def test_the_branch_pattern_leaves_what_it_should(line):
    assert not BRANCH.search(line)


def test_the_run_body_stays_under_100_lines():
    """``lab.train._train`` asks the kind (``set_sampling``) instead of branching on it."""
    tree = ast.parse((PACKAGE / "lab" / "train.py").read_text())
    sizes = {
        f.name: f.end_lineno - f.lineno + 1
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef) and f.name in ("_train", "train_step")
    }
    assert sizes["_train"] < 100 and sizes["train_step"] < 40, sizes
